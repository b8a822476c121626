"""The authors' AOSA (preset ``aosa_authors``) against a literal reference.

The reference below is written from the facts of the authors' code listed in
docs/methods.md ("The authors' implementation"), with loops over points and
frames and dense masks, as slow and plain as possible. The vectorised
explainer must give the same map to 1e-6.
"""
import cv2
import numpy as np
import pytest
import torch
from conftest import RedDetector, moving_square_clip, normalise, preset

from mmaction_aosa import EXPLAINERS
from mmaction_aosa.scoring import Scorer


class SmallConv(torch.nn.Module):
    """A nonlinear 3D CNN with the recognizer API the explainers use."""

    def __init__(self, num_classes=3, seed=0):
        super().__init__()
        from mmaction.models import ActionDataPreprocessor
        self.data_preprocessor = ActionDataPreprocessor(
            mean=[127.5] * 3, std=[127.5] * 3, format_shape='NCTHW')
        g = torch.Generator().manual_seed(seed)
        self.w1 = torch.nn.Parameter(torch.randn(6, 3, 3, 3, 3, generator=g))
        self.w2 = torch.nn.Parameter(torch.randn(num_classes, 6,
                                                 generator=g))

    def extract_feat(self, inputs, stage='head', **kwargs):
        x = inputs.reshape((-1, ) + inputs.shape[2:])
        h = torch.relu(torch.nn.functional.conv3d(x, self.w1, padding=1))
        return h.mean((2, 3, 4)) @ self.w2.t(), {}


def literal_masks(frames, stride, box, K):
    """keep masks (N×T×H×W, 1 = kept) of the authors' AOSA, by loops."""
    T, H, W = frames.shape[:3]
    gray = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]
    flows = [
        cv2.calcOpticalFlowFarneback(gray[t], gray[t + 1], None, 0.5, 3, 15,
                                     3, 5, 1.2, 0) for t in range(T - 1)
    ]
    ys = [int(stride / 2 + k * stride) for k in range(H)
          if stride / 2 + k * stride < H]
    xs = [int(stride / 2 + k * stride) for k in range(W)
          if stride / 2 + k * stride < W]
    points = [[y, x] for y in ys for x in xs]
    N = len(points)
    keep = np.ones((N, T, H, W), np.float64)
    alive = [True] * N
    vectors = [[] for _ in range(N)]
    for t in range(T):
        for n, (y, x) in enumerate(points):
            if alive[n]:
                top, bottom = max(0, y - box // 2), min(H, y + box // 2 +
                                                        box % 2)
                left, right = max(0, x - box // 2), min(W, x + box // 2 +
                                                        box % 2)
                keep[n, t, top:bottom, left:right] = 0
        if t == T - 1:
            break
        for n, (y, x) in enumerate(points):
            fx, fy = flows[t][y, x]
            vectors[n] += [fx, fy]
            ny, nx = y + float(fy), x + float(fx)
            if ny < 0 or ny > H - 1 or nx < 0 or nx > W - 1:
                alive[n] = False  # stops for good; keeps moving for its flow
            points[n] = [int(min(max(np.round(ny), 0), H - 1)),
                         int(min(max(np.round(nx), 0), W - 1))]
    vec = np.array(vectors, np.float32)
    norm = np.linalg.norm(vec, axis=1)
    merged = np.empty_like(keep)
    for i in range(N):
        sims = (vec @ vec[i]) / (norm + 1e-10) / (norm[i] + 1e-10)
        sims[i] = 0
        partners = np.argsort(sims)[-K:]
        merged[i] = keep[i]
        for j in partners:
            merged[i] = merged[i] * keep[j]
    return merged, alive


def literal_map(keep, f, f0):
    """S = (1/N) Σ_i (f_i − f(x)) keep_i / mean(keep_i)."""
    N = len(keep)
    out = np.zeros(keep.shape[1:], np.float64)
    for i in range(N):
        out += (f[i] - f0) * keep[i] / keep[i].mean()
    return out / N


def clips():
    # a red square moving right among a green distractor moving up-left
    a, _ = moving_square_clip(T=10, H=48, W=56, start=(6, 8),
                              velocity=(3, 1), size=12,
                              distractor=((36, 34), (-1, -2)))
    # the whole textured scene pans 3 px/frame to the right (and the square
    # runs off the right edge): anchors near the edge leave the frame
    big, _ = moving_square_clip(T=1, H=40, W=100, start=(70, 12), size=10,
                                seed=3)
    b = np.stack([big[0, :, 36 - 3 * t:84 - 3 * t] for t in range(10)])
    assert b.shape == (10, 40, 48, 3)
    # a small fast square that leaves through the bottom
    c, _ = moving_square_clip(T=8, H=40, W=40, start=(14, 10),
                              velocity=(1, 5), size=8, seed=5)
    return [a, b, c]


@pytest.mark.parametrize('which', [0, 1, 2])
@pytest.mark.parametrize('model_cls', [RedDetector, SmallConv])
def test_authors_aosa_equals_literal_reference(which, model_cls):
    frames = clips()[which]
    model = model_cls()
    x = normalise(frames)
    cfg = dict(preset('aosa_authors'), anchor_stride=8, box_size=12,
               batch_size=7)
    exp = EXPLAINERS.build(cfg).explain_full(model, x)
    keep, alive = literal_masks(frames, 8, 12, 3)
    if which == 1:
        assert not all(alive)  # some tracks did leave the frame
    scorer = Scorer(model)
    with torch.no_grad():
        clips_ = x[None] * torch.from_numpy(keep).float()[:, None]
        f = np.array([float(scorer.probs(c[None])[0, exp.target])
                      for c in clips_])
    ref = literal_map(keep, f, exp.score)
    assert np.abs(ref).max() > 1e-4  # the maps say something
    assert np.abs(exp.saliency.numpy() - ref).max() < 1e-6


@pytest.mark.parametrize('which', [0, 1])
def test_authors_approx_equals_literal_reference(which):
    frames = clips()[which]
    model = SmallConv()
    x = normalise(frames)
    cfg = dict(preset('aosa_approx_authors'), anchor_stride=8, box_size=12)
    exp = EXPLAINERS.build(cfg).explain_full(model, x)
    keep, _ = literal_masks(frames, 8, 12, 3)
    xg = x.clone().requires_grad_(True)
    f0 = Scorer(model).probs(xg[None])[0, exp.target]
    (grad, ) = torch.autograd.grad(f0, xg)
    contrib = (grad * (0 - x)).double().numpy()  # J_v (fill − x_v)
    f = np.array([float(f0) + (contrib * (1 - k)[None]).sum() for k in keep])
    ref = literal_map(keep, f, float(f0))
    assert np.abs(ref).max() > 1e-4
    assert np.abs(exp.saliency.numpy() - ref).max() < 1e-6
