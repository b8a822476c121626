"""Tube masks as boxes (docs/methods.md, steps 4 and 6).

Masks are kept as boxes (N×T×4, ``x0, y0, x1, y1`` half-open, clipped to the
frame, empty where the track is not valid) and made dense only for one
scoring batch at a time: dense masks of every anchor of a SlowFast clip
(676 × 32×256×256) would need gigabytes.
"""
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Tubes:
    """Integrated occlusion masks of one clip, as boxes.

    Attributes:
        boxes (Tensor): N×T×4 int32 ``(x0, y0, x1, y1)`` per tube and frame.
        groups (Tensor): N×(K+1) int64: mask i occludes the tubes
            ``groups[i]`` (itself and its K most co-occurring tubes).
        height, width (int): frame size.
    """
    boxes: torch.Tensor
    groups: torch.Tensor
    height: int
    width: int

    @property
    def num_masks(self) -> int:
        return len(self.groups)

    @property
    def num_frames(self) -> int:
        return self.boxes.shape[1]

    @property
    def num_voxels(self) -> int:
        """T·H·W of the clip."""
        return self.num_frames * self.height * self.width

    def render(self, indices: torch.Tensor) -> torch.Tensor:
        """B×T×H×W bool occlusion (True = occluded) of masks ``indices``."""
        return render_occlusion(self.boxes, self.groups, indices, self.height,
                                self.width)

    def occluded_voxels(self, indices: torch.Tensor):
        """(mask position in ``indices``, flat voxel of T×H×W) pairs."""
        flat = occlusion_indices(self.boxes, self.groups, indices,
                                 self.height, self.width)
        return flat // self.num_voxels, flat % self.num_voxels

    def batches(self, batch_size: int):
        """Yield (indices, dense occlusion) one batch at a time."""
        for i in range(0, self.num_masks, batch_size):
            idx = torch.arange(i, min(i + batch_size, self.num_masks))
            yield idx, self.render(idx.to(self.boxes.device))


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


def occlusion_indices(boxes: torch.Tensor, groups: torch.Tensor,
                      indices: torch.Tensor, height: int, width: int,
                      unique: bool = True) -> torch.Tensor:
    """Flat voxel indices occluded by a batch of integrated masks.

    Work and memory scale with the boxes' area (B·(K+1)·T·h·w), not with
    the clip size: a SlowFast clip (32×256×256) costs the same per mask as
    a 16×112×112 one.

    Args:
        boxes (Tensor): N×T×4 int boxes.
        groups (Tensor): N×(K+1) member indices (:mod:`.grouping`).
        indices (Tensor): B mask indices.
        height, width (int): frame size.
        unique (bool): Remove duplicates where members of a mask overlap
            (the union counts each voxel once).

    Returns:
        Tensor: int64 indices into a flattened B×T×H×W volume.
    """
    dev = boxes.device
    members = boxes[groups[indices]].long()  # B×(K+1)×T×4
    B, K1, T = members.shape[:3]
    bh = int((members[..., 3] - members[..., 1]).max().clamp(min=0))
    bw = int((members[..., 2] - members[..., 0]).max().clamp(min=0))
    if bh == 0 or bw == 0:
        return torch.zeros(0, dtype=torch.long, device=dev)
    ys = members[..., 1:2] + torch.arange(bh, device=dev)  # B×K1×T×bh
    xs = members[..., 0:1] + torch.arange(bw, device=dev)  # B×K1×T×bw
    valid = ((ys < members[..., 3:4])[..., :, None] &
             (xs < members[..., 2:3])[..., None, :])  # B×K1×T×bh×bw
    if unique and K1 > 1:
        # a point of member j that lies in the box of an earlier member m < j
        # is already counted: the union keeps each voxel once, with no sort
        # and no scratch volume (cost ∝ (K+1)² × box area)
        mb = members.permute(0, 2, 1, 3)[:, None]  # B×1×T×K1(m)×4
        in_y = ((ys[..., None, :] >= mb[..., 1:2]) &
                (ys[..., None, :] < mb[..., 3:4]))  # B×K1(j)×T×K1(m)×bh
        in_x = ((xs[..., None, :] >= mb[..., 0:1]) &
                (xs[..., None, :] < mb[..., 2:3]))  # B×K1(j)×T×K1(m)×bw
        earlier = torch.ones(K1, K1, dtype=torch.bool, device=dev).tril(-1)
        in_y = in_y & earlier[None, :, None, :, None]
        dup = (in_y.unsqueeze(-1) & in_x.unsqueeze(-2)).any(dim=3)
        valid &= ~dup
    bt = (torch.arange(B, device=dev)[:, None, None] * T +
          torch.arange(T, device=dev)[None, None, :])  # B×1×T
    flat = ((bt[..., None, None] * height + ys[..., :, None]) * width +
            xs[..., None, :])
    return flat[valid]


def render_occlusion(boxes: torch.Tensor, groups: torch.Tensor,
                     indices: torch.Tensor, height: int,
                     width: int) -> torch.Tensor:
    """Dense occlusion masks for a batch of integrated masks.

    Args:
        boxes (Tensor): N×T×4 int boxes.
        groups (Tensor): N×(K+1) member indices (:mod:`.grouping`).
        indices (Tensor): B mask indices to render.
        height, width (int): frame size.

    Returns:
        Tensor: B×T×H×W bool, True where occluded.
    """
    B, T = len(indices), boxes.shape[1]
    occ = torch.zeros(B * T * height * width, dtype=torch.bool,
                      device=boxes.device)
    occ[occlusion_indices(boxes, groups, indices, height, width,
                          unique=False)] = True
    return occ.view(B, T, height, width)
