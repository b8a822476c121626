"""Anchor grid and flow tracking of AOSA (DESIGN.md §1, steps 2-3)."""
from typing import Tuple

import numpy as np


def anchor_grid(height: int, width: int, stride: int) -> np.ndarray:
    """Anchors every ``stride`` px at ``stride/2 + k*stride`` (paper's s).

    Every such point inside the frame is an anchor, so N = (H/s)·(W/s) when
    s divides the size (112 px, s=8: N=196) and the grid reaches the far
    edge otherwise (256 px, s=10: 26×26 = 676).

    Returns:
        np.ndarray: N×2 float32 (x, y), row-major.
    """
    if stride <= 0:
        raise ValueError(f'anchor_stride must be positive, got {stride}')
    ys = np.arange(stride / 2, height, stride)
    xs = np.arange(stride / 2, width, stride)
    if len(xs) == 0 or len(ys) == 0:
        raise ValueError(f'anchor_stride {stride} is larger than the clip '
                         f'({height}×{width})')
    gy, gx = np.meshgrid(ys, xs, indexing='ij')
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)


def _bilinear(field: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Sample an H×W×2 field at N float (x, y) points (clamped to edges)."""
    H, W = field.shape[:2]
    x = np.clip(pts[:, 0] - 0.5, 0, W - 1)  # pixel centres at k + 0.5
    y = np.clip(pts[:, 1] - 0.5, 0, H - 1)
    x0 = np.floor(x).astype(np.int64)
    y0 = np.floor(y).astype(np.int64)
    x1 = np.minimum(x0 + 1, W - 1)
    y1 = np.minimum(y0 + 1, H - 1)
    wx = (x - x0)[:, None]
    wy = (y - y0)[:, None]
    top = field[y0, x0] * (1 - wx) + field[y0, x1] * wx
    bot = field[y1, x0] * (1 - wx) + field[y1, x1] * wx
    return top * (1 - wy) + bot * wy


def track_points(flow: np.ndarray,
                 anchors: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Follow each anchor through the clip: p(t+1) = p(t) + flow_t(p(t)).

    Vectorised over anchors; the loop runs over the T-1 frame pairs only.
    A point that leaves the frame stops: it is invalid from that frame on
    and its tube occludes nothing there (DESIGN.md §1, step 3).

    Args:
        flow (np.ndarray): (T-1)×H×W×2 flow (dx, dy) in pixels.
        anchors (np.ndarray): N×2 (x, y) positions on frame 0, pixel units
            where pixel k covers [k, k+1).

    Returns:
        tuple: positions T×N×2 float32 (frozen at the last valid position
        after a point leaves) and valid T×N bool.
    """
    Tm1, H, W = flow.shape[:3]
    N = len(anchors)
    pos = np.empty((Tm1 + 1, N, 2), np.float32)
    valid = np.zeros((Tm1 + 1, N), bool)
    pos[0] = anchors
    valid[0] = True
    for t in range(Tm1):
        alive = valid[t]
        step = _bilinear(flow[t], pos[t])
        nxt = pos[t] + step * alive[:, None]
        inside = ((nxt[:, 0] >= 0) & (nxt[:, 0] < W) & (nxt[:, 1] >= 0) &
                  (nxt[:, 1] < H))
        valid[t + 1] = alive & inside
        pos[t + 1] = np.where(valid[t + 1][:, None], nxt, pos[t])
    return pos, valid
