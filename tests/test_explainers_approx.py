"""Conditional sampling and AOSA-approx (docs/methods.md)."""
import numpy as np
import pytest
import torch
from torch import nn

import mmaction_aosa  # noqa: F401  registers everything
from mmaction_aosa.explainers import (AOSA, AOSAApprox, ExplainError,
                                      conditional_fill, conditional_mean,
                                      conditional_std, denormalize,
                                      input_gradient)
from mmaction_aosa.explainers.conditional import shift_radius
from mmaction_aosa.tubes import (Tubes, dense_mask_sums, saliency_map,
                                 union_box_scatter, union_box_sums)
from mmaction_aosa.registry import EXPLAINERS
from mmaction_aosa.scoring import Scorer


class LinearProbRecognizer(nn.Module):
    """f(x) = softmax prob of class 0 is *linear* in x.

    Logits [log l(x), log(c − l(x))] with l(x) = c/2 + w·x give
    softmax_0 = l(x) / c: first order is exact for the paper's f.
    """

    def __init__(self, shape, c=2.0, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        n = int(np.prod(shape))
        # |w·x| stays well below c/2 for inputs in 0..255
        self.w = nn.Parameter(torch.randn(shape, generator=g) / n / 40)
        self.c = c
        self.calls = 0

    def extract_feat(self, x, stage='head'):
        self.calls += 1
        x = x.flatten(0, 1)
        lin = self.c / 2 + (x * self.w).flatten(1).sum(1)
        return torch.stack([lin.log(), (self.c - lin).log()], 1), {}


class CountingConv(nn.Module):
    """A small nonlinear 3D CNN recognizer that counts its forward passes."""

    def __init__(self, num_classes=3):
        super().__init__()
        torch.manual_seed(0)
        self.backbone = nn.Sequential(
            nn.Conv3d(3, 4, 3, padding=1), nn.ReLU(),
            nn.Conv3d(4, 6, 3, stride=(1, 2, 2), padding=1), nn.ReLU())
        self.cls_head = nn.Linear(6, num_classes)
        self.calls = 0
        self.clips = 0

    def extract_feat(self, x, stage='head'):
        self.calls += 1
        self.clips += x.shape[0] * x.shape[1]
        feat = self.backbone(x.flatten(0, 1))
        return self.cls_head(feat.mean((2, 3, 4))), {}


def moving_clip(T=8, H=32, W=32, seed=0):
    """A textured background with a bright square moving right, 0..255."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(3, T, H, W, generator=g) * 60 + 60
    for t in range(T):
        x[:, t, 8:16, 4 + 2 * t:12 + 2 * t] = 220
    return x


def brute_force_stats(x, ry, rx):
    """μ and σ over shifts 0 < ‖d‖∞ ≤ r inside the frame, by loops."""
    H, W = x.shape[-2:]
    mu = torch.zeros_like(x, dtype=torch.float64)
    sd = torch.zeros_like(x, dtype=torch.float64)
    for i in range(H):
        for j in range(W):
            vals = [
                x[..., i + dy, j + dx].double()
                for dy in range(-ry, ry + 1) for dx in range(-rx, rx + 1)
                if (dy, dx) != (0, 0) and 0 <= i + dy < H and 0 <= j + dx < W
            ]
            v = torch.stack(vals, -1)
            mu[..., i, j] = v.mean(-1)
            sd[..., i, j] = v.var(-1, unbiased=False).sqrt()
    return mu, sd


def one_tube(boxes, H, W, groups=None):
    boxes = torch.tensor(boxes, dtype=torch.int32)
    if groups is None:
        groups = torch.arange(len(boxes))[:, None]
    return Tubes(boxes, torch.as_tensor(groups), H, W)


# -- conditional sampling ----------------------------------------------------
@pytest.mark.parametrize('box', [16, 8, (6, 10)])
def test_conditional_mean_matches_brute_force(box):
    x = torch.randn(3, 2, 11, 13, generator=torch.Generator().manual_seed(1))
    ry, rx = shift_radius(box)
    mu, sd = brute_force_stats(x, ry, rx)
    assert torch.allclose(conditional_mean(x, box).double(), mu, atol=1e-5)
    assert torch.allclose(conditional_std(x, box).double(), sd, atol=1e-5)


def test_shift_radius_keeps_anchor_inside():
    assert shift_radius(16) == (4, 4)  # the paper's 4 px
    assert shift_radius(8) == (3, 3)  # |d| < h/2
    with pytest.raises(ValueError):
        shift_radius(2)


def test_conditional_draws_have_the_patch_statistics():
    x = torch.randn(3, 1, 12, 14, generator=torch.Generator().manual_seed(0))
    tubes = one_tube([[[2, 2, 10, 10]]], 12, 14)
    idx = torch.tensor([0])
    occ = tubes.render(idx)
    gen = torch.Generator().manual_seed(0)
    draws = torch.stack([
        conditional_fill(x, tubes, idx.repeat(50), occ.repeat(50, 1, 1, 1),
                         gen) for _ in range(40)
    ]).flatten(0, 1)  # 2000 draws
    mu, sd = conditional_mean(x, 8), conditional_std(x, 8)
    inside = occ[0][None].expand_as(x)
    err_mu = (draws.mean(0) - mu)[inside].abs() / sd[inside]
    err_sd = (draws.std(0) / sd - 1)[inside].abs()
    assert err_mu.max() < 0.12  # ~5 standard errors at n = 2000
    assert err_sd.max() < 0.12
    # outside the occluded box the values are μ (never used by occlude)
    assert torch.equal(draws[0][~inside], mu[~inside])


def test_conditional_fill_is_seeded():
    x = moving_clip(4, 24, 24)
    tubes = one_tube([[[2, 2, 18, 18]] * 4, [[8, 4, 24, 20]] * 4], 24, 24,
                     [[0, 1], [1, 0]])
    idx = torch.tensor([0, 1])
    occ = tubes.render(idx)
    a = conditional_fill(x, tubes, idx, occ, torch.Generator().manual_seed(3))
    b = conditional_fill(x, tubes, idx, occ, torch.Generator().manual_seed(3))
    c = conditional_fill(x, tubes, idx, occ, torch.Generator().manual_seed(4))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert torch.isfinite(a).all()


def test_zero_variance_fill_equals_the_mean():
    # constant clip except one pixel: the pixel's surround has zero variance,
    # so its draw is exactly the surround's mean, the constant
    x = torch.full((3, 2, 20, 20), 0.3)
    x[:, :, 10, 10] = 5.0
    tubes = one_tube([[[4, 4, 20, 20]] * 2], 20, 20)
    idx = torch.tensor([0])
    occ = tubes.render(idx)
    vals = conditional_fill(x, tubes, idx, occ, torch.Generator())
    sd = conditional_std(x, 16)
    zero = (sd < 1e-6) & occ[0][None]
    assert zero[:, :, 10, 10].all()
    assert torch.allclose(vals[0][zero], conditional_mean(x, 16)[zero])
    assert torch.allclose(vals[0, :, :, 10, 10], torch.tensor(0.3))


def test_aosa_conditional_one_sample_equals_constant_mean_fill():
    model = CountingConv()
    c = 0.7
    x = torch.full((3, 8, 32, 32), c)
    common = dict(anchor_stride=8, box_size=16)
    cs = AOSA(fill='conditional', num_samples=1, **common)
    const = AOSA(fill='constant', fill_value=c, **common)
    # the fill itself: zero variance → the constant mean, exactly
    tubes = cs.build_tubes(x.permute(1, 2, 3, 0).numpy() * 0 + 128)
    idx = torch.arange(tubes.num_masks)
    occ = tubes.render(idx)
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(cs.occlude(x, occ, tubes, idx, gen),
                       const.occlude(x, occ, tubes, idx))
    a = cs.explain_full(model, x, target=1)
    b = const.explain_full(model, x, target=1)
    assert torch.allclose(a.saliency, b.saliency, atol=1e-7)


def test_aosa_conditional_is_reproducible():
    model = CountingConv()
    x = moving_clip(8, 32, 32) / 100
    kw = dict(anchor_stride=8, box_size=16, fill='conditional', num_samples=2)
    a = AOSA(seed=0, **kw).explain(model, x, 0)
    b = AOSA(seed=0, **kw).explain(model, x, 0)
    c = AOSA(seed=1, **kw).explain(model, x, 0)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert torch.isfinite(a).all()


# -- AOSA-approx -------------------------------------------------------------
@pytest.mark.parametrize('map_form,rounds', [
    ('mean_drop', 1), ('sum_drop', 1), ('eq2', 1), ('tube_lsq', 1),
    ('sum_drop', 2), ('tube_lsq', 2)])
@pytest.mark.parametrize('fill_value', [0.0, 100.0])
def test_approx_equals_aosa_when_f_is_linear(map_form, rounds, fill_value):
    # first order is exact for a linear f, also in round 2 (its gradient is
    # taken at the clip with the evidence filled)
    x = moving_clip()
    model = LinearProbRecognizer(tuple(x.shape))
    common = dict(anchor_stride=4, box_size=8, map_form=map_form,
                  fill='constant', fill_value=fill_value, drop='prob',
                  rounds=rounds)
    exact = AOSA(**common).explain(model, x, target=0)
    approx = AOSAApprox(relu=False, **common).explain(model, x, target=0)
    scale = exact.abs().max()
    assert scale > 0
    assert torch.allclose(approx, exact, atol=1e-4 * scale)


def test_approx_conditional_is_first_order_in_the_mean():
    """relu=False: f̂_i = f(x with occluded voxels set to μ), exactly, for a
    linear f."""
    x = moving_clip()
    model = LinearProbRecognizer(tuple(x.shape))
    ex = AOSAApprox(anchor_stride=8, box_size=16, relu=False,
                    fill='conditional', path='point')
    scorer = Scorer(model)
    frames = x.permute(1, 2, 3, 0).numpy()
    tubes = ex.build_tubes(frames)
    mu = ex.fill_values(x, tubes)
    assert torch.allclose(mu, conditional_mean(x, 16))
    f0, grad = input_gradient(scorer, x[None], 0)
    drops = ex.mask_sums(ex.contributions(grad[0], x, mu), tubes)
    idx = torch.arange(tubes.num_masks)
    occ = tubes.render(idx)
    clips = torch.where(occ[:, None], mu[None], x[None])
    direct = scorer.target_probs(clips, 0).double()
    assert torch.allclose(float(f0[0]) - drops, direct, atol=1e-5)


def test_relu_keeps_only_decreases():
    x = moving_clip()
    model = LinearProbRecognizer(tuple(x.shape))
    ex_relu = AOSAApprox(anchor_stride=8, box_size=16, relu=True)
    ex_lin = AOSAApprox(anchor_stride=8, box_size=16)
    grad = torch.randn_like(x)
    mu = conditional_mean(x, 16)
    c_relu = ex_relu.contributions(grad, x, mu)
    c_lin = ex_lin.contributions(grad, x, mu)
    assert (c_relu >= 0).all()
    assert (c_relu >= c_lin - 1e-12).all()
    # sign: occluding with μ lowers f by −J(μ − x) to first order
    manual = (-grad.double() * (mu - x).double()).sum(0)
    assert torch.allclose(c_lin, manual)
    sal = ex_relu.explain(model, x, 0)
    assert sal.shape == x.shape[1:] and torch.isfinite(sal).all()


def random_tubes(N=30, T=5, H=40, W=36, K=3, seed=0):
    rng = np.random.default_rng(seed)
    x0 = rng.integers(-6, W, (N, T))
    y0 = rng.integers(-6, H, (N, T))
    boxes = np.stack([
        np.clip(x0, 0, W), np.clip(y0, 0, H), np.clip(x0 + 12, 0, W),
        np.clip(y0 + 10, 0, H)
    ], -1)
    boxes[rng.random((N, T)) < 0.2] = 0  # invalid frames: empty boxes
    groups = np.concatenate(
        [np.arange(N)[:, None],
         rng.integers(0, N, (N, K))], 1)  # overlaps and repeats
    return Tubes(
        torch.from_numpy(boxes.astype(np.int32)), torch.from_numpy(groups),
        H, W)


@pytest.mark.parametrize('K', [0, 1, 3, 5])
def test_box_sums_equal_dense_sums(K):
    tubes = random_tubes(K=K)
    contrib = torch.rand(5, 40, 36, dtype=torch.float64)
    a = union_box_sums(contrib, tubes)
    b = dense_mask_sums(contrib, tubes, batch_size=7)
    assert torch.allclose(a, b)


@pytest.mark.parametrize('map_form', ['mean_drop', 'sum_drop', 'eq2'])
@pytest.mark.parametrize('K', [0, 3])
def test_box_map_step_equals_sparse_map_step(map_form, K):
    tubes = random_tubes(K=K, seed=K + 1)
    scores = torch.rand(tubes.num_masks, dtype=torch.float64)
    a = saliency_map(tubes, scores, 0.9, map_form, boxes=True)
    b = saliency_map(tubes, scores, 0.9, map_form, boxes=False)
    assert torch.allclose(a, b, atol=1e-6)
    if map_form == 'mean_drop':  # voxels covered by no mask stay exactly 0
        count = union_box_scatter(torch.ones_like(scores), tubes)
        assert (a[count.round() == 0] == 0).all()


@pytest.mark.parametrize('path,per_round', [('point', 1), ('cells', 3),
                                             ('straight', 3)])
@pytest.mark.parametrize('rounds', [1, 2])
def test_approx_cost_does_not_grow_with_masks(path, per_round, rounds):
    x = moving_clip(8, 32, 32) / 100
    clips = []
    for stride in (16, 8, 4):  # N = 4, 16, 64
        model = CountingConv()
        exp = AOSAApprox(anchor_stride=stride, box_size=2 * stride,
                         rounds=rounds, path=path).explain_full(model, x, 0)
        assert exp.timings['num_masks'] == (32 // stride)**2
        # round 2 runs when round 1 found evidence
        ran = 1 + (exp.timings.get('evidence_tubes', 0) > 0)
        clips.append(model.clips / ran)
    # round 1: the clean pass (its graph gives the gradient at x) and the
    # other points of the path; round 2: the clip with the evidence at its
    # fill and the other points of its path
    assert clips == [per_round] * 3


def test_approx_mask_sums_from_boxes_equal_dense_masks():
    model = CountingConv()
    x = moving_clip(8, 32, 32) / 100
    ex = AOSAApprox(anchor_stride=4, box_size=8)
    tubes = ex.build_tubes(x.permute(1, 2, 3, 0).numpy() * 100)
    phi = ex.fill_values(x, tubes)
    _, grad = ex.mean_gradient(Scorer(model), x, phi, 0)
    contrib = ex.contributions(grad, x, phi)
    assert torch.allclose(ex.mask_sums(contrib, tubes),
                          dense_mask_sums(contrib, tubes, batch_size=9))


def test_approx_registered_and_validates():
    ex = EXPLAINERS.build(dict(type='AOSAApprox', anchor_stride=8))
    assert isinstance(ex, AOSAApprox)
    assert (ex.path, ex.relu, ex.fill) == ('cells', False, 'constant')
    assert (ex.round2_path, ex.sign_check) == ('cells', 0)
    assert AOSAApprox(path='point').round2_path == 'point'
    for bad in (dict(path='nope'), dict(score='nope'), dict(grid=1),
                dict(round2_path='nope'), dict(sign_check=-1),
                dict(sign_check=1.5),
                dict(path_points=0), dict(tubes=dict(tracking='nope')),
                dict(tubes=dict(gray=True)), dict(tubes='integer')):
        with pytest.raises(ValueError):
            AOSAApprox(**bad)
    with pytest.raises(TypeError):  # AOSA's draws: not an approx argument
        AOSAApprox(num_samples=2)
    with pytest.raises(ExplainError):
        AOSAApprox().explain(CountingConv(), torch.zeros(3, 8, 32))


def test_approx_logit_score_runs():
    model = CountingConv()
    x = moving_clip(8, 32, 32) / 100
    sal = AOSAApprox(anchor_stride=8, score='logit').explain(model, x)
    assert sal.shape == (8, 32, 32) and torch.isfinite(sal).all()


class AdditiveQuadraticLogOdds(nn.Module):
    """Two classes whose log-odds is Σ_v a_v x_v² + b_v x_v + c.

    Each voxel adds its own term, so the drop of occluding a region is the
    sum of its voxels' changes, whatever else is occluded, and along any
    path the change of one voxel's term is a quadratic in the fade: a
    two-point Gauss–Radau rule integrates it exactly, one gradient does not.
    """

    def __init__(self, shape, seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        n = float(np.prod(shape))
        self.a = nn.Parameter(torch.randn(shape, generator=g) / n)
        self.b = nn.Parameter(torch.randn(shape, generator=g) / n)
        self.calls = 0

    def extract_feat(self, x, stage='head'):
        x = x.flatten(0, 1)
        s = (self.a * x * x + self.b * x).flatten(1).sum(1) + 2.0
        return torch.stack([s, torch.zeros_like(s)], 1), {}


@pytest.mark.parametrize('rounds', [1, 2])
def test_cells_path_is_exact_where_each_voxel_adds_a_quadratic(rounds):
    x = moving_clip() / 60
    model = AdditiveQuadraticLogOdds(tuple(x.shape))
    common = dict(anchor_stride=4, box_size=8, rounds=rounds)
    exact = AOSA(**common).explain(model, x, target=0)
    cells = AOSAApprox(path='cells', **common).explain(model, x, target=0)
    point = AOSAApprox(path='point', **common).explain(model, x, target=0)
    scale = exact.abs().max()
    assert torch.allclose(cells, exact, atol=1e-4 * scale)
    assert not torch.allclose(point, exact, atol=1e-2 * scale)


@pytest.mark.parametrize('map_form', ['tube_lsq', 'eq2'])
@pytest.mark.parametrize('rounds', [1, 2])
def test_preset_paths_are_exact_where_each_voxel_adds_a_quadratic(
        rounds, map_form):
    """The preset's paths (cells in round 1, the midpoint in round 2), with
    the sign check on, keep AOSA's map where the first order along the
    path is exact. 'eq2' takes f of round 2's clip itself, not only differences:
    the midpoint path then pays a forward pass of it."""
    x = moving_clip() / 60
    model = AdditiveQuadraticLogOdds(tuple(x.shape), seed=3)
    common = dict(anchor_stride=4, box_size=8, rounds=rounds,
                  map_form=map_form)
    exact = AOSA(**common).explain(model, x, target=0)
    preset = AOSAApprox(path='cells', round2_path='midpoint', sign_check=16,
                        **common).explain(model, x, target=0)
    mid = AOSAApprox(path='midpoint', **common).explain(model, x, target=0)
    scale = exact.abs().max()
    assert torch.allclose(preset, exact, atol=1e-4 * scale)
    assert torch.allclose(mid, exact, atol=1e-4 * scale)


def test_sign_check_turns_estimates_that_point_the_wrong_way():
    """On a model whose drops are additive the exact drops pass the check
    as they are; the same drops negated (a first order that points the
    wrong way around) come back turned; the check costs two clips."""
    x = moving_clip() / 60
    model = AdditiveQuadraticLogOdds(tuple(x.shape), seed=3)
    aosa = AOSA(anchor_stride=4, box_size=8, rounds=1)
    ex = AOSAApprox(anchor_stride=4, box_size=8, sign_check=4)
    tubes = ex.build_tubes(denormalize(model, x))
    scorer = Scorer(model)
    base = aosa.clean_score(scorer, x, 0)
    drops = base - aosa.score_masks(scorer, x, tubes, 0)
    assert drops.max() > 0 > drops.min()  # both ways: the check can tell
    phi = ex.fill_values(x, tubes)
    clips = []
    orig = model.extract_feat
    model.extract_feat = lambda inputs, **kw: (
        clips.append(inputs.shape[0] * inputs.shape[1]) or orig(inputs, **kw))
    kept = ex.checked_sign(scorer, x, phi, 0, tubes, drops)
    turned = ex.checked_sign(scorer, x, phi, 0, tubes, -drops)
    assert torch.equal(kept, drops) and torch.equal(turned, drops)
    assert clips == [2, 2]


@pytest.mark.parametrize('sign_check', [0, 16])
def test_preset_cost_does_not_grow_with_masks(sign_check):
    """The preset's passes: the clean pass (its graph gives ∂f/∂x) and two
    checkerboard clips in round 1 (and the sign check's two clips), one
    midpoint clip in round 2 — whatever N."""
    x = moving_clip(8, 32, 32) / 100
    for stride in (16, 8, 4):  # N = 4, 16, 64
        model = CountingConv()
        exp = AOSAApprox(anchor_stride=stride, box_size=2 * stride,
                         round2_path='midpoint', sign_check=sign_check
                         ).explain_full(model, x, 0)
        assert exp.timings['evidence_tubes'] > 0  # round 2 ran
        assert model.clips == 1 + 2 + 2 * bool(sign_check) + 1


def test_gradient_at_the_clip_reuses_the_clean_pass():
    model = CountingConv()
    x = moving_clip(8, 32, 32) / 100
    ex = AOSAApprox(anchor_stride=8, box_size=16, path='point', rounds=1)
    exp = ex.explain_full(model, x, 0)
    assert model.clips == 1  # the clean pass and its backward, nothing else
    # the same map as a gradient taken with a forward pass of its own
    scorer = Scorer(model)
    tubes = ex.build_tubes(denormalize(model, x))
    f, grad = input_gradient(scorer, x[None], 0, 'log_odds')
    phi = ex.fill_values(x, tubes)
    drops = ex.mask_sums(ex.contributions(grad[0], x, phi), tubes)
    sal = ex.make_map(tubes, float(f[0]) - drops, float(f[0]))
    assert torch.allclose(exp.saliency, sal.float(), atol=1e-6)
