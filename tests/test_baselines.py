"""The paper's baselines under the one verb ``explain``."""
import copy
import glob
import os

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn

import mmaction_aosa  # noqa: F401  registers everything
from mmaction_aosa.explainers import (AttentionRollout, ExplainError, GradCAM,
                                      Occlusion3D, SmoothGrad, STEP)
from mmaction_aosa.explainers.rollout import capture_attention
from mmaction_aosa.blur import blur_clip
from mmaction_aosa.registry import EXPLAINERS
from mmaction_aosa.scoring import Scorer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: clip sizes (C, T, H, W) at which the tiny models run fast
SIZES = dict(
    r3d=(3, 8, 32, 32),
    r2plus1d=(3, 8, 32, 32),
    slowfast=(3, 16, 32, 32),
    timesformer=(3, 8, 112, 112))


def build_tiny(family):
    from mmaction.registry import MODELS
    init_default_scope('mmaction')
    torch.manual_seed(0)
    cfg = Config.fromfile(
        os.path.join(ROOT, f'configs/_base_/models/tiny_{family}.py'))
    return MODELS.build(cfg.model).eval()


def clip_of(shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


class TinyConv(nn.Module):
    """A small 3D CNN recognizer with a ``backbone`` and a linear head."""

    def __init__(self, num_classes=3):
        super().__init__()
        torch.manual_seed(0)
        self.backbone = nn.Sequential(
            nn.Conv3d(3, 4, 3, padding=1), nn.ReLU(),
            nn.Conv3d(4, 6, 3, stride=(1, 2, 2), padding=1), nn.ReLU())
        self.cls_head = nn.Linear(6, num_classes)

    def extract_feat(self, x, stage='head'):
        feat = self.backbone(x.flatten(0, 1))
        return self.cls_head(feat.mean((2, 3, 4))), {}


class NoConv(nn.Module):
    """A recognizer with no convolutional stage at all."""

    def __init__(self, shape, num_classes=3):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(int(torch.tensor(shape).prod()), num_classes)

    def extract_feat(self, x, stage='head'):
        return self.fc(x.flatten(0, 1).flatten(1)), {}


# -- Occlusion3D ----------------------------------------------------------
def brute_force_occlusion(model, x, target, window, strides, fill=0.0):
    """Independent loop: each voxel gets the mean drop of its windows."""
    C, T, H, W = x.shape
    scorer = Scorer(model)
    with torch.no_grad():
        base = float(scorer.probs(x[None])[0, target])

    def starts(n, w, s):
        out = list(range(0, n - w + 1, s))
        return out if out[-1] == n - w else out + [n - w]

    total = torch.zeros(T, H, W, dtype=torch.float64)
    count = torch.zeros(T, H, W, dtype=torch.float64)
    for t in starts(T, window[0], strides[0]):
        for y in starts(H, window[1], strides[1]):
            for x0 in starts(W, window[2], strides[2]):
                occluded = x.clone()
                occluded[:, t:t + window[0], y:y + window[1],
                         x0:x0 + window[2]] = fill
                with torch.no_grad():
                    f = float(scorer.probs(occluded[None])[0, target])
                total[t:t + window[0], y:y + window[1],
                      x0:x0 + window[2]] += base - f
                count[t:t + window[0], y:y + window[1],
                      x0:x0 + window[2]] += 1
    assert (count > 0).all()
    return (total / count).float()


@pytest.mark.parametrize('window,strides', [((4, 5, 6), (2, 3, 4)),
                                            ((3, 4, 4), (3, 4, 4)),
                                            ((8, 7, 7), (1, 5, 5))])
def test_occlusion3d_matches_brute_force(window, strides):
    model = TinyConv()
    x = clip_of((3, 8, 16, 18))
    ex = Occlusion3D(window=window, strides=strides, fill_value=0.5,
                     batch_size=5)
    sal = ex.explain(model, x, target=2)
    ref = brute_force_occlusion(model, x, 2, window, strides, fill=0.5)
    assert torch.allclose(sal, ref, atol=1e-6)


def test_occlusion3d_default_geometry():
    ex = Occlusion3D()
    win, st = ex.geometry(16, 112, 112)
    assert win == (8, 16, 16)  # half the clip, 2% of 112×112 ≈ 16×16
    assert st == (4, 8, 8)
    # derived window and strides through the brute force (10% keeps it fast)
    ex = Occlusion3D(area_fraction=0.1)
    model = TinyConv()
    x = clip_of((3, 8, 32, 32))
    win, st = ex.geometry(8, 32, 32)
    assert win == (4, 10, 10) and st == (2, 5, 5)
    sal = ex.explain(model, x, 0)
    ref = brute_force_occlusion(model, x, 0, win, st)
    assert torch.allclose(sal, ref, atol=1e-6)
    with pytest.raises(ValueError):
        Occlusion3D(area_fraction=0)


# -- Grad-CAM -------------------------------------------------------------
@pytest.mark.parametrize('family', list(SIZES))
def test_gradcam_runs_on_every_family(family):
    model = build_tiny(family)
    x = clip_of(SIZES[family])
    sal = GradCAM().explain(model, x)
    assert sal.shape == x.shape[1:]
    assert torch.isfinite(sal).all() and (sal >= 0).all()
    assert sal.max() > 0
    # no parameter gradients are left behind
    assert all(p.grad is None for p in model.parameters())


def test_gradcam_slowfast_combines_both_pathways():
    model = build_tiny('slowfast')
    x = clip_of(SIZES['slowfast'])
    scorer = Scorer(model)
    target = int(scorer.probs(x[None]).argmax())
    feats = []
    h = model.backbone.register_forward_hook(
        lambda m, a, out: feats.extend(out))
    with torch.enable_grad():
        f = scorer.logits(x[None].clone().requires_grad_(True))[0, target]
        grads = torch.autograd.grad(f, feats)
    h.remove()
    assert len(feats) == 2 and feats[0].shape[2] != feats[1].shape[2]
    total = 0
    for a, g in zip(feats, grads):
        cam = (g.mean((2, 3, 4), keepdim=True) * a).sum(1, keepdim=True)
        total = total + F.interpolate(
            cam, size=x.shape[1:], mode='trilinear', align_corners=False)
    ref = F.relu(total)[0, 0]
    sal = GradCAM().explain(model, x, target)
    assert torch.allclose(sal, ref, atol=1e-6 * float(ref.abs().max()) +
                          1e-12)


def test_gradcam_matches_manual_computation():
    model = TinyConv()
    x = clip_of((3, 8, 16, 16))
    a = model.backbone(x[None]).detach().requires_grad_(True)
    y = model.cls_head(a.mean((2, 3, 4)))[0, 1]
    (g, ) = torch.autograd.grad(y, a)
    cam = (g.mean((2, 3, 4), keepdim=True) * a).sum(1, keepdim=True)
    # upsampled, then ReLU (see GradCAM's docstring)
    ref = F.relu(F.interpolate(cam, size=(8, 16, 16), mode='trilinear',
                               align_corners=False))[0, 0].detach()
    assert torch.allclose(GradCAM().explain(model, x, 1), ref, atol=1e-7)
    # a named layer: the first conv's output
    sal = GradCAM(target_layer='backbone.0').explain(model, x, 1)
    assert sal.shape == (8, 16, 16) and torch.isfinite(sal).all()


def test_gradcam_refuses_models_without_conv_stage():
    x = clip_of((3, 4, 8, 8))
    with pytest.raises(ExplainError, match='backbone'):
        GradCAM().explain(NoConv(x.shape), x)
    with pytest.raises(ExplainError, match='convolutional'):
        GradCAM(target_layer='fc').explain(NoConv(x.shape), x)
    with pytest.raises(ExplainError):
        GradCAM(target_layer='nope').explain(TinyConv(), clip_of((3, 4, 8, 8)))
    assert issubclass(ExplainError, ValueError)


# -- SmoothGrad -----------------------------------------------------------
def test_smoothgrad_without_noise_is_the_gradient():
    model = TinyConv()
    x = clip_of((3, 8, 16, 16))
    xx = x[None].clone().requires_grad_(True)
    p = torch.softmax(model.extract_feat(xx[None])[0], -1)[0, 2]
    (g, ) = torch.autograd.grad(p, xx)
    ref = g[0].abs().sum(0)
    sal = SmoothGrad(num_samples=3, noise_level=0.0).explain(model, x, 2)
    assert torch.allclose(sal, ref, atol=1e-6 * float(ref.max()))


def test_smoothgrad_seeded_and_batched():
    model = TinyConv()
    x = clip_of((3, 8, 16, 16))
    a = SmoothGrad(num_samples=5, batch_size=2, seed=1).explain(model, x, 0)
    b = SmoothGrad(num_samples=5, batch_size=5, seed=1).explain(model, x, 0)
    c = SmoothGrad(num_samples=5, batch_size=2, seed=2).explain(model, x, 0)
    assert torch.allclose(a, b, rtol=1e-4, atol=1e-9)
    assert not torch.allclose(a, c)
    assert (a >= 0).all()


# -- STEP -----------------------------------------------------------------
def test_step_mask_is_smooth_and_preserves_the_score():
    model = TinyConv()
    x = clip_of((3, 8, 32, 32))
    ex = STEP(num_iterations=30, mask_stride=4, volume_fraction=0.2)
    sal = ex.explain(model, x, 0)
    assert sal.shape == (8, 32, 32)
    assert torch.isfinite(sal).all()
    assert (sal >= 0).all() and (sal <= 1).all()
    # optimisation moved the mask away from its start (0.5 everywhere)
    assert (sal - 0.5).abs().max() > 0.05
    # kept fraction roughly the target
    assert abs(float((sal > 0.5).float().mean()) - 0.2) < 0.15


def test_gaussian_blur_keeps_constants():
    x = torch.full((3, 2, 9, 9), 0.25)
    assert torch.allclose(blur_clip(x, 11, 5.0), x)


# -- Attention rollout ----------------------------------------------------
def full_matrix_rollout(records, P, T, residual=0.5):
    """Brute force: (1+P·T)² matrices per attention, multiplied out."""
    n = 1 + P * T

    def idx(p, t):
        return 1 + p * T + t

    rollout = torch.eye(n, dtype=torch.float64)
    for kind, w in records:
        w = w.double().mean(1)
        w = w / w.sum(-1, keepdim=True)
        A = torch.zeros(n, n, dtype=torch.float64)
        if kind == 'temporal':
            A[0, 0] = 1
            for p in range(P):
                for t in range(T):
                    for s in range(T):
                        A[idx(p, t), idx(p, s)] = w[p, t, s]
        else:
            for t in range(T):
                A[0, 0] += w[t, 0, 0] / T
                for q in range(P):
                    A[0, idx(q, t)] += w[t, 0, 1 + q] / T
                for p in range(P):
                    A[idx(p, t), 0] = w[t, 1 + p, 0]
                    for q in range(P):
                        A[idx(p, t), idx(q, t)] = w[t, 1 + p, 1 + q]
        A = (1 - residual) * A + residual * torch.eye(n, dtype=A.dtype)
        rollout = A @ rollout
    return rollout[0, 1:].reshape(P, T)


def test_rollout_matches_full_matrix_rollout():
    model = build_tiny('timesformer')
    x = clip_of(SIZES['timesformer'])
    scorer = Scorer(model)
    records = capture_attention(scorer, model.backbone, x[None])
    kinds = [k for k, _ in records]
    assert kinds == ['temporal', 'spatial'] * 2
    ref = full_matrix_rollout(records, 49, 8)  # P×T
    sal = AttentionRollout().explain(model, x)
    ref_map = F.interpolate(
        ref.t().reshape(1, 1, 8, 7, 7).float(), size=(8, 112, 112),
        mode='trilinear', align_corners=False)[0, 0]
    assert torch.allclose(sal, ref_map, atol=1e-6)
    assert torch.isfinite(sal).all() and (sal > 0).all()


@pytest.mark.parametrize('attention_type',
                         ['joint_space_time', 'space_only'])
def test_rollout_other_attention_types(attention_type):
    from mmaction.registry import MODELS
    init_default_scope('mmaction')
    cfg = Config.fromfile(
        os.path.join(ROOT, 'configs/_base_/models/tiny_timesformer.py'))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.attention_type = attention_type
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    sal = AttentionRollout(head_fusion='max').explain(
        model, clip_of(SIZES['timesformer']))
    assert sal.shape == (8, 112, 112) and torch.isfinite(sal).all()


def test_rollout_refuses_cnns():
    x = clip_of(SIZES['r3d'])
    with pytest.raises(ExplainError, match='TimeSformer'):
        AttentionRollout().explain(build_tiny('r3d'), x)
    with pytest.raises(ValueError):
        AttentionRollout().explain(TinyConv(), x)
    with pytest.raises(ValueError):
        AttentionRollout(head_fusion='median')


# -- every explainer, from its config -------------------------------------
FAST = dict(
    AOSA=dict(anchor_stride=16, box_size=32, num_samples=1),
    AOSAApprox=dict(anchor_stride=16, box_size=32),
    Occlusion3D=dict(),
    GradCAM=dict(),
    SmoothGrad=dict(num_samples=2),
    STEP=dict(num_iterations=2),
    AttentionRollout=dict())


def explainer_configs():
    paths = sorted(
        glob.glob(os.path.join(ROOT, 'configs/_base_/explainers/*.py')))
    return [pytest.param(p, id=os.path.basename(p)[:-3]) for p in paths]


@pytest.mark.parametrize('path', explainer_configs())
def test_every_explainer_returns_a_finite_map(path):
    cfg = Config.fromfile(path).explainer.to_dict()
    assert cfg['type'] in EXPLAINERS.module_dict
    cfg.update(FAST.get(cfg['type'], {}))
    ex = EXPLAINERS.build(cfg)
    family = 'timesformer' if cfg['type'] == 'AttentionRollout' else 'r3d'
    model = build_tiny(family)
    x = clip_of(SIZES[family])
    if family == 'r3d':  # flow wants a little structure, 0..255 after denorm
        x = x * 0.3
    exp = ex.explain_full(model, x)
    assert exp.saliency.shape == x.shape[1:]
    assert exp.saliency.dtype == torch.float32
    assert torch.isfinite(exp.saliency).all()


def test_all_methods_are_registered():
    for name in ('AOSA', 'AOSAApprox', 'Occlusion3D', 'GradCAM', 'SmoothGrad',
                 'STEP', 'AttentionRollout'):
        assert name in EXPLAINERS.module_dict
