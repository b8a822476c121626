"""3D occlusion sensitivity (3D OSA): a fixed cuboid slid over the clip.

Zeiler & Fergus' occlusion extended to time, the paper's "OSA" baseline:
the cuboid spans half the frames and 2% of the frame area; each voxel gets
the mean drop f(x) − f(x with the window occluded) over the windows that
cover it.
"""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch

from .. import progress
from ..registry import EXPLAINERS
from .base import BaseExplainer, ExplainError, check_positive_int


def window_starts(length: int, window: int, stride: int) -> List[int]:
    """Start offsets of a window slid with ``stride``, the last one flush
    with the end so that every position is covered."""
    if window > length:
        raise ExplainError(f'occlusion window {window} is longer than the '
                           f'clip axis {length}')
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] != length - window:
        starts.append(length - window)
    return starts


@EXPLAINERS.register_module()
class Occlusion3D(BaseExplainer):
    """3D occlusion sensitivity with a sliding cuboid.

    Window: ``round(T · temporal_fraction)`` frames by ``round(H · √a)`` ×
    ``round(W · √a)`` pixels, a = ``area_fraction`` (16×16 at 112 px for
    the paper's 2%). Strides default to half the window on each axis; the
    last window on each axis is flush with the clip's end so every voxel is
    covered. S(v) = mean over windows w ∋ v of f(x) − f(x_w), with x_w the
    clip with w set to ``fill_value``.

    Args:
        temporal_fraction (float): Window length / T (paper: 0.5).
        area_fraction (float): Window area / frame area (paper: 0.02).
        window (tuple, optional): Explicit (t, h, w) window, overriding the
            fractions.
        strides (int | tuple, optional): (t, h, w) strides; default half
            the window (at least 1).
        fill_value (float): Occluding value in normalised space (0: the
            dataset mean colour).
        batch_size (int): Occluded clips per forward pass.
        amp (bool | str): Mixed precision (:mod:`mmaction_aosa.scoring`).
    """

    def __init__(self,
                 temporal_fraction: float = 0.5,
                 area_fraction: float = 0.02,
                 window: Optional[Sequence[int]] = None,
                 strides: Optional[Union[int, Sequence[int]]] = None,
                 fill_value: float = 0.0,
                 batch_size: int = 32,
                 amp=False):
        super().__init__(amp=amp)
        self.batch_size = check_positive_int('batch_size', batch_size)
        if not 0 < temporal_fraction <= 1:
            raise ValueError('temporal_fraction must be in (0, 1], got '
                             f'{temporal_fraction}')
        if not 0 < area_fraction <= 1:
            raise ValueError(
                f'area_fraction must be in (0, 1], got {area_fraction}')
        if window is not None and len(window) != 3:
            raise ValueError(f'window must be (t, h, w), got {window}')
        self.temporal_fraction = float(temporal_fraction)
        self.area_fraction = float(area_fraction)
        self.window = None if window is None else tuple(int(w)
                                                        for w in window)
        if isinstance(strides, int):
            strides = (strides, ) * 3
        if strides is not None and (len(strides) != 3 or min(strides) < 1):
            raise ValueError(f'strides must be 3 positive ints, got {strides}')
        self.strides = None if strides is None else tuple(strides)
        self.fill_value = float(fill_value)

    def geometry(self, T: int, H: int,
                 W: int) -> Tuple[Tuple[int, int, int], Tuple[int, int, int]]:
        """(window, strides) for a T×H×W clip."""
        if self.window is not None:
            win = self.window
        else:
            side = math.sqrt(self.area_fraction)
            win = (max(1, round(T * self.temporal_fraction)),
                   max(1, round(H * side)), max(1, round(W * side)))
        strides = self.strides or tuple(max(1, w // 2) for w in win)
        return win, strides

    def windows(self, T: int, H: int, W: int) -> torch.Tensor:
        """M×3 start offsets (t, y, x) of every window."""
        win, st = self.geometry(T, H, W)
        ts = window_starts(T, win[0], st[0])
        ys = window_starts(H, win[1], st[1])
        xs = window_starts(W, win[2], st[2])
        grid = torch.cartesian_prod(
            torch.tensor(ts), torch.tensor(ys), torch.tensor(xs))
        return grid.reshape(-1, 3)

    def _saliency(self, scorer, x, target, base_score, timings):
        C, T, H, W = x.shape
        (wt, wh, ww), _ = self.geometry(T, H, W)
        starts = self.windows(T, H, W).to(x.device)
        progress.expect(len(starts))
        tt = torch.arange(T, device=x.device)
        yy = torch.arange(H, device=x.device)
        xx = torch.arange(W, device=x.device)
        total = torch.zeros(T, H, W, dtype=torch.float64, device=x.device)
        count = torch.zeros(T, H, W, dtype=torch.float64, device=x.device)
        with torch.no_grad():
            for i in range(0, len(starts), self.batch_size):
                s = starts[i:i + self.batch_size]
                in_t = (tt >= s[:, :1]) & (tt < s[:, :1] + wt)  # B×T
                in_y = (yy >= s[:, 1:2]) & (yy < s[:, 1:2] + wh)  # B×H
                in_x = (xx >= s[:, 2:]) & (xx < s[:, 2:] + ww)  # B×W
                occ = (in_t[:, :, None, None] & in_y[:, None, :, None] &
                       in_x[:, None, None, :])  # B×T×H×W
                clips = x[None].masked_fill(occ[:, None], self.fill_value)
                f = scorer.probs(clips)[:, target].double()
                drop = base_score - f
                occ = occ.to(torch.float64)
                total += torch.einsum('b,bthw->thw', drop, occ)
                count += occ.sum(0)
        timings['num_windows'] = len(starts)
        return (total / count.clamp(min=1)).float()
