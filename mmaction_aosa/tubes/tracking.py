"""Anchor grid and flow tracking of AOSA (docs/methods.md, steps 2-3).

Two trackers, chosen by :class:`~mmaction_aosa.explainers.AOSA`'s
``tracking`` argument:

* :func:`track_points` (``'subpixel'``): positions are continuous (pixel k
  covers [k, k+1)), the flow is sampled bilinearly, nothing is rounded.
* :func:`track_points_integer` (``'integer'``): the authors' tracker.
  Positions are pixel indices; the flow is read at the integer pixel, the
  next position is ``round(p + flow)`` clipped to the frame.

In both, a point whose (unrounded) next position leaves the frame stops for
good: its tube occludes nothing from that frame on.
"""
from typing import NamedTuple

import numpy as np

TRACKINGS = ('subpixel', 'integer')


class Tracks(NamedTuple):
    """Tracked anchors of one clip.

    Attributes:
        positions (np.ndarray): T×N×2 float32 (x, y).
        valid (np.ndarray): T×N bool, False from the frame a point left on.
        flows (np.ndarray): (T-1)×N×2 float32, the flow read at each track's
            position in frame t (what the authors' co-occurrence compares).
    """
    positions: np.ndarray
    valid: np.ndarray
    flows: np.ndarray


def anchor_grid(height: int, width: int, stride: int,
                integer: bool = False) -> np.ndarray:
    """Anchors every ``stride`` px at ``stride/2 + k*stride`` (paper's s).

    Every such point inside the frame is an anchor, so N = (H/s)·(W/s) when
    s divides the size (112 px, s=8: N=196) and the grid reaches the far
    edge otherwise (256 px, s=10: 26×26 = 676).

    Args:
        integer (bool): Truncate to pixel indices, ``int(s/2 + k·s)`` (the
            authors' grid, for :func:`track_points_integer`).

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
    if integer:
        ys, xs = np.trunc(ys), np.trunc(xs)
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


def track_points(flow: np.ndarray, anchors: np.ndarray) -> Tracks:
    """Follow each anchor through the clip: p(t+1) = p(t) + flow_t(p(t)).

    Sub-pixel: the flow is sampled bilinearly at continuous positions.
    Vectorised over anchors; the loop runs over the T-1 frame pairs only.
    A point that leaves the frame stops: it is invalid from that frame on,
    its tube occludes nothing there, and its position stays frozen at the
    last valid one.

    Args:
        flow (np.ndarray): (T-1)×H×W×2 flow (dx, dy) in pixels.
        anchors (np.ndarray): N×2 (x, y) positions on frame 0, pixel units
            where pixel k covers [k, k+1).

    Returns:
        Tracks: positions, valid and the flow read along each track.
    """
    Tm1, H, W = flow.shape[:3]
    N = len(anchors)
    pos = np.empty((Tm1 + 1, N, 2), np.float32)
    valid = np.zeros((Tm1 + 1, N), bool)
    flows = np.zeros((Tm1, N, 2), np.float32)
    pos[0] = anchors
    valid[0] = True
    for t in range(Tm1):
        alive = valid[t]
        flows[t] = _bilinear(flow[t], pos[t])
        nxt = pos[t] + flows[t] * alive[:, None]
        inside = ((nxt[:, 0] >= 0) & (nxt[:, 0] < W) & (nxt[:, 1] >= 0) &
                  (nxt[:, 1] < H))
        valid[t + 1] = alive & inside
        pos[t + 1] = np.where(valid[t + 1][:, None], nxt, pos[t])
    return Tracks(pos, valid, flows)


def track_points_integer(flow: np.ndarray, anchors: np.ndarray) -> Tracks:
    """The authors' tracker: integer positions, rounded steps.

    For t = 0..T-2: f = flow_t[y, x] at the integer pixel of each point;
    the point stops for good if the unrounded p + f leaves [0, W−1] ×
    [0, H−1]; the next position is round(p + f) (half to even, as NumPy)
    clipped to the frame. Stopped points keep moving this way, so the flow
    read along them stays defined (the authors' co-occurrence uses it); only
    their tubes end.

    Args:
        flow (np.ndarray): (T-1)×H×W×2 flow (dx, dy) in pixels.
        anchors (np.ndarray): N×2 integer (x, y) pixel indices
            (:func:`anchor_grid` with ``integer=True``).

    Returns:
        Tracks: positions (integer-valued), valid and the flow read.
    """
    Tm1, H, W = flow.shape[:3]
    N = len(anchors)
    pos = np.empty((Tm1 + 1, N, 2), np.float32)
    valid = np.zeros((Tm1 + 1, N), bool)
    flows = np.zeros((Tm1, N, 2), np.float32)
    p = np.asarray(anchors).astype(np.int64)
    if (p[:, 0] < 0).any() or (p[:, 0] >= W).any() or (p[:, 1] < 0).any() \
            or (p[:, 1] >= H).any():
        raise ValueError('integer tracking needs anchors inside the frame')
    pos[0] = p
    valid[0] = True
    for t in range(Tm1):
        f = flow[t][p[:, 1], p[:, 0]]  # N×2 (fx, fy), float32
        flows[t] = f
        nxt = p + f.astype(np.float64)
        out = ((nxt[:, 0] < 0) | (nxt[:, 0] > W - 1) | (nxt[:, 1] < 0) |
               (nxt[:, 1] > H - 1))
        valid[t + 1] = valid[t] & ~out
        p = np.rint(nxt).astype(np.int64)
        p[:, 0] = p[:, 0].clip(0, W - 1)
        p[:, 1] = p[:, 1].clip(0, H - 1)
        pos[t + 1] = p
    return Tracks(pos, valid, flows)
