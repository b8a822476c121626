"""Tube masks, co-occurrence and integration (DESIGN.md §1, steps 4-6).

Masks are kept as boxes (N×T×4, ``x0, y0, x1, y1`` half-open, clipped to the
frame, empty where the track is not valid) and made dense only for one
scoring batch at a time: dense masks of every anchor of a SlowFast clip
(676 × 32×256×256) would need gigabytes.
"""
from typing import Optional

import numpy as np
import torch


def tube_boxes(positions: np.ndarray, valid: np.ndarray, box_size,
               height: int, width: int) -> np.ndarray:
    """Boxes of size h×w centred on each tracked point (paper's Ω_i).

    Args:
        positions (np.ndarray): T×N×2 (x, y).
        valid (np.ndarray): T×N bool.
        box_size (int | tuple): h×w of the box (int: square).
        height, width (int): frame size.

    Returns:
        np.ndarray: N×T×4 int32 boxes ``(x0, y0, x1, y1)``; invalid frames
        get an empty box (0, 0, 0, 0).
    """
    bh, bw = (box_size, box_size) if np.isscalar(box_size) else box_size
    x0 = np.floor(positions[..., 0] - bw / 2 + 0.5).astype(np.int64)
    y0 = np.floor(positions[..., 1] - bh / 2 + 0.5).astype(np.int64)
    boxes = np.stack([
        np.clip(x0, 0, width), np.clip(y0, 0, height),
        np.clip(x0 + bw, 0, width), np.clip(y0 + bh, 0, height)
    ], axis=-1)
    boxes[~valid] = 0
    return boxes.transpose(1, 0, 2).astype(np.int32)  # N×T×4


def cooccurrence(positions: np.ndarray,
                 valid: np.ndarray,
                 min_motion: float = 0.5,
                 position_weight: float = 0.01) -> np.ndarray:
    """Co-occurrence Co(i, j) of tracks: cosine of their motion (step 5).

    ``u_i`` concatenates the displacements ``p_i(t+1) - p_i(t)`` (zero after
    the point leaves the frame), length 2(T-1). The paper's cosine is
    undefined for static tracks, so:

    * tracks with ``‖u‖ < min_motion`` px count as static; two static tracks
      have similarity 1, a static and a moving track 0;
    * every pair loses ``position_weight`` × (mean distance of the two tracks
      / frame diagonal), which breaks ties (static background, a global pan)
      in favour of nearby tracks: the paper groups masks "with similar
      positions and motions".

    Never NaN. The diagonal is -inf so a track is never its own partner.

    Returns:
        np.ndarray: N×N float64 similarity.
    """
    T, N = valid.shape
    disp = np.diff(positions, axis=0) * valid[1:, :, None]  # (T-1)×N×2
    u = disp.transpose(1, 0, 2).reshape(N, -1).astype(np.float64)
    norm = np.linalg.norm(u, axis=1)
    moving = norm >= min_motion
    unit = np.where(moving[:, None], u / np.maximum(norm, 1e-12)[:, None], 0)
    sim = unit @ unit.T
    static = ~moving
    sim[np.ix_(static, static)] = 1.0
    # mean position over valid frames
    w = valid.astype(np.float64)
    mean_pos = (positions * w[..., None]).sum(0) / np.maximum(
        w.sum(0), 1)[:, None]
    d = np.linalg.norm(mean_pos[:, None] - mean_pos[None], axis=-1)
    span = np.linalg.norm(positions.reshape(-1, 2).max(0) -
                          positions.reshape(-1, 2).min(0))
    sim = sim - position_weight * d / max(span, 1.0)
    np.fill_diagonal(sim, -np.inf)
    return sim


def integrate(similarity: np.ndarray, num_cooccurring: int = 3) -> np.ndarray:
    """Groups of tubes to occlude together (paper's Ω̂_i, step 6).

    Ω̂_i = Ω_i ⊙ Π_{j∈top-K(i)} Ω_j with Ω = 1 where kept, i.e. the union of
    the occluded regions of tube i and its K most co-occurring tubes.

    Returns:
        np.ndarray: N×(K+1) int64 indices, column 0 is i itself.
    """
    N = similarity.shape[0]
    k = int(min(max(num_cooccurring, 0), N - 1))
    own = np.arange(N)[:, None]
    if k == 0:
        return own
    # stable sort: equal similarities resolve to the lower index
    order = np.argsort(-similarity, axis=1, kind='stable')[:, :k]
    return np.concatenate([own, order], axis=1)


def render_occlusion(boxes: torch.Tensor, groups: torch.Tensor,
                     indices: torch.Tensor, height: int,
                     width: int) -> torch.Tensor:
    """Dense occlusion masks for a batch of integrated masks.

    Args:
        boxes (Tensor): N×T×4 int boxes.
        groups (Tensor): N×(K+1) member indices from :func:`integrate`.
        indices (Tensor): B mask indices to render.
        height, width (int): frame size.

    Returns:
        Tensor: B×T×H×W bool, True where occluded.
    """
    dev = boxes.device
    members = boxes[groups[indices]]  # B×(K+1)×T×4
    ys = torch.arange(height, device=dev)
    xs = torch.arange(width, device=dev)
    occ: Optional[torch.Tensor] = None
    for m in range(members.shape[1]):  # K+1 members, a handful
        b = members[:, m]  # B×T×4
        rows = (ys >= b[..., 1:2]) & (ys < b[..., 3:4])  # B×T×H
        cols = (xs >= b[..., 0:1]) & (xs < b[..., 2:3])  # B×T×W
        part = rows[..., :, None] & cols[..., None, :]
        occ = part if occ is None else occ | part
    return occ
