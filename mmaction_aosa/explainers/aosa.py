"""Adaptive Occlusion Sensitivity Analysis (Uchiyama et al.).

Occlusion tubes follow optical flow from an anchor grid; tubes whose motion
co-occurs are merged; each merged mask is scored through the network and the
scores make the map (DESIGN.md §1).
"""
import time
from dataclasses import dataclass
from typing import Optional, Sequence, Union

import numpy as np
import torch

from ..registry import EXPLAINERS
from ..scoring import Scorer
from ..tubes.flow import FLOW_METHODS, compute_flow, to_gray_uint8
from ..tubes.masks import (cooccurrence, integrate, occlusion_indices,
                           render_occlusion, tube_boxes)
from ..tubes.tracking import anchor_grid, track_points
from .base import BaseExplainer

MAP_FORMS = ('drop', 'paper')


@dataclass
class Tubes:
    """Integrated occlusion masks of one clip, as boxes.

    Attributes:
        boxes (Tensor): N×T×4 int32 ``(x0, y0, x1, y1)`` per tube and frame.
        groups (Tensor): N×(K+1) int64: mask i occludes the tubes
            ``groups[i]`` (itself and its K most co-occurring tubes).
        positions (np.ndarray): T×N×2 tracked (x, y).
        valid (np.ndarray): T×N bool.
        height, width (int): frame size.
    """
    boxes: torch.Tensor
    groups: torch.Tensor
    positions: np.ndarray
    valid: np.ndarray
    height: int
    width: int

    @property
    def num_masks(self) -> int:
        return len(self.groups)

    def render(self, indices: torch.Tensor) -> torch.Tensor:
        """B×T×H×W bool occlusion (True = occluded) of masks ``indices``."""
        return render_occlusion(self.boxes, self.groups, indices, self.height,
                                self.width)

    def occluded_voxels(self, indices: torch.Tensor):
        """(mask position in ``indices``, flat voxel of T×H×W) pairs."""
        T = self.boxes.shape[1]
        flat = occlusion_indices(self.boxes, self.groups, indices,
                                 self.height, self.width)
        size = T * self.height * self.width
        return flat // size, flat % size

    def batches(self, batch_size: int):
        """Yield (indices, dense occlusion) one batch at a time."""
        for i in range(0, self.num_masks, batch_size):
            idx = torch.arange(i, min(i + batch_size, self.num_masks))
            yield idx, self.render(idx.to(self.boxes.device))


def saliency_map(tubes: Tubes, scores: torch.Tensor, base_score: float,
                 map_form: str = 'drop',
                 batch_size: int = 32) -> torch.Tensor:
    """Turn per-mask scores f_i into a T×H×W map (DESIGN.md §1, step 8).

    ``'paper'``: Eq. 2, S = (1/N) Σ_i f_i · Ω̂_i with Ω̂_i = 1 where kept.
    Voxels that no mask covers get the highest value, Σ f_i / N.

    ``'drop'``: coverage-normalised drop, S(v) = Σ_{i covers v} (f(x) − f_i) /
    #{i covers v}, and 0 where no mask covers v.

    Args:
        tubes (Tubes): The integrated masks.
        scores (Tensor): (N,) f_i of each occluded clip (or an estimate).
        base_score (float): f(x) of the clean clip.
        map_form (str): ``'drop'`` or ``'paper'``.
        batch_size (int): Masks made dense at once.
    """
    if map_form not in MAP_FORMS:
        raise ValueError(f'map_form must be one of {MAP_FORMS}, '
                         f'got {map_form!r}')
    T = tubes.boxes.shape[1]
    shape = (T, tubes.height, tubes.width)
    dev = tubes.boxes.device
    size = T * tubes.height * tubes.width
    scores = scores.to(dev, torch.float64)
    weighted = torch.zeros(size, dtype=torch.float64, device=dev)
    count = torch.zeros(size, dtype=torch.float64, device=dev)
    weights = scores if map_form == 'paper' else base_score - scores
    # sparse accumulation: only the voxels each mask occludes are touched
    step = 64
    for i in range(0, tubes.num_masks, step):
        idx = torch.arange(i, min(i + step, tubes.num_masks), device=dev)
        which, voxel = tubes.occluded_voxels(idx)
        weighted.index_add_(0, voxel, weights[idx][which])
        if map_form == 'drop':
            count.index_add_(0, voxel, torch.ones_like(voxel,
                                                       dtype=torch.float64))
    weighted = weighted.view(shape)
    count = count.view(shape)
    if map_form == 'paper':
        # Σ f_i (1 − occ_i) / N
        out = (scores.sum() - weighted) / tubes.num_masks
    else:
        out = torch.where(count > 0, weighted / count.clamp(min=1),
                          torch.zeros_like(weighted))
    return out.float()


@EXPLAINERS.register_module()
class AOSA(BaseExplainer):
    """Adaptive Occlusion Sensitivity Analysis.

    Args:
        anchor_stride (int): Grid step s of the anchors, in pixels
            (paper: 8 at 112 px, 10 for SlowFast at 256 px).
        box_size (int | tuple): h×w of the occluding box (paper: 2s).
        num_cooccurring (int): K, tubes merged into each mask (paper: 3).
        map_form (str): ``'drop'`` (coverage-normalised drop, default) or
            ``'paper'`` (Eq. 2). See :func:`saliency_map`.
        flow_method (str): ``'farneback'`` (default), ``'dis'`` or ``'tvl1'``.
        flow_params (dict, optional): Overrides of the Farneback parameters.
        fill (str): ``'constant'`` (``fill_value`` in normalised space; 0 is
            the dataset mean colour) or ``'conditional'`` (samples from the
            Gaussian of the patches around each box, averaged over
            ``num_samples`` draws).
        fill_value (float): Constant fill, in normalised space.
        num_samples (int): Draws per mask for conditional sampling.
        min_motion (float): Tracks that move less than this many pixels in
            all count as static for co-occurrence.
        position_weight (float): Weight of the position tie-breaker of
            co-occurrence.
        batch_size (int): Occluded clips per forward pass.
        seed (int): Seed of conditional sampling.
        amp (bool): Score under CUDA autocast when on a GPU.
    """

    def __init__(self,
                 anchor_stride: int = 8,
                 box_size: Union[int, Sequence[int]] = 16,
                 num_cooccurring: int = 3,
                 map_form: str = 'drop',
                 flow_method: str = 'farneback',
                 flow_params: Optional[dict] = None,
                 fill: str = 'constant',
                 fill_value: float = 0.0,
                 num_samples: int = 1,
                 min_motion: float = 0.5,
                 position_weight: float = 0.01,
                 batch_size: int = 32,
                 seed: int = 0,
                 amp: bool = False):
        super().__init__(batch_size=batch_size, seed=seed, amp=amp)
        if map_form not in MAP_FORMS:
            raise ValueError(f'map_form must be one of {MAP_FORMS}, '
                             f'got {map_form!r}')
        if flow_method not in FLOW_METHODS:
            raise ValueError(f'flow_method must be one of {FLOW_METHODS}, '
                             f'got {flow_method!r}')
        if fill not in ('constant', 'conditional'):
            raise ValueError("fill must be 'constant' or 'conditional', "
                             f'got {fill!r}')
        if num_cooccurring < 0:
            raise ValueError('num_cooccurring must be >= 0')
        self.anchor_stride = int(anchor_stride)
        self.box_size = box_size
        self.num_cooccurring = int(num_cooccurring)
        self.map_form = map_form
        self.flow_method = flow_method
        self.flow_params = flow_params
        self.fill = fill
        self.fill_value = float(fill_value)
        self.num_samples = int(num_samples)
        self.min_motion = float(min_motion)
        self.position_weight = float(position_weight)

    # -- tubes (shared with AOSA-approx) ---------------------------------
    def build_tubes(self, frames: np.ndarray, device=None,
                    timings: Optional[dict] = None) -> Tubes:
        """Flow, tracking, boxes, co-occurrence and integration.

        Args:
            frames (np.ndarray): T×H×W×C frames in 0..255 (un-normalised).
            device: Where the boxes live (that of the model).
            timings (dict, optional): Receives 'flow' and 'tubes' seconds.
        """
        timings = {} if timings is None else timings
        t0 = time.perf_counter()
        flow = compute_flow(
            to_gray_uint8(frames), self.flow_method, self.flow_params)
        t1 = time.perf_counter()
        T, H, W = frames.shape[:3]
        anchors = anchor_grid(H, W, self.anchor_stride)
        positions, valid = track_points(flow, anchors)
        boxes = tube_boxes(positions, valid, self.box_size, H, W)
        sim = cooccurrence(positions, valid, self.min_motion,
                           self.position_weight)
        groups = integrate(sim, self.num_cooccurring)
        tubes = Tubes(
            torch.from_numpy(boxes).to(device),
            torch.from_numpy(groups).to(device), positions, valid, H, W)
        timings['flow'] = t1 - t0
        timings['tubes'] = time.perf_counter() - t1
        return tubes

    def _frames(self, scorer: Scorer, x: torch.Tensor) -> np.ndarray:
        from .base import denormalize
        return denormalize(scorer.model, x)

    # -- fill -------------------------------------------------------------
    def occlude(self, x: torch.Tensor, occ: torch.Tensor,
                tubes: Tubes, indices: torch.Tensor,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """B occluded copies of x (C×T×H×W) for B×T×H×W occlusion."""
        if self.fill == 'conditional':
            from .conditional import conditional_fill
            values = conditional_fill(x, tubes, indices, occ, generator)
            return torch.where(occ[:, None], values, x[None])
        return x[None].masked_fill(occ[:, None], self.fill_value)

    # -- AOSA ---------------------------------------------------------------
    def score_masks(self, scorer: Scorer, x: torch.Tensor, tubes: Tubes,
                    target: int) -> torch.Tensor:
        """f(Ω̂_i ⊙ x) for every integrated mask i (step 7), in batches."""
        gen = torch.Generator(device='cpu').manual_seed(self.seed)
        draws = self.num_samples if self.fill == 'conditional' else 1
        scores = torch.zeros(tubes.num_masks, dtype=torch.float64)
        with torch.no_grad():
            for idx, occ in tubes.batches(self.batch_size):
                acc = torch.zeros(len(idx), dtype=torch.float64)
                for _ in range(draws):
                    clips = self.occlude(x, occ, tubes, idx, gen)
                    acc += scorer.probs(clips)[:, target].double().cpu()
                scores[idx] = acc / draws
        return scores

    def _use_boxes(self, tubes: Tubes) -> bool:
        from .aosa_approx import MAX_BOX_MEMBERS
        return tubes.groups.shape[1] <= MAX_BOX_MEMBERS

    def make_map(self, tubes: Tubes, scores: torch.Tensor,
                 base_score: float) -> torch.Tensor:
        """The map step (:func:`saliency_map`, step 8).

        Computed from the boxes (difference arrays, same result) while a
        mask has at most 6 tubes, else from sparse voxel lists.
        """
        if self._use_boxes(tubes):
            from .aosa_approx import box_saliency_map
            return box_saliency_map(tubes, scores, base_score, self.map_form)
        return saliency_map(tubes, scores, base_score, self.map_form,
                            self.batch_size)

    def _saliency(self, scorer, x, target, base_score, timings):
        tubes = self.build_tubes(self._frames(scorer, x), x.device, timings)
        t0 = time.perf_counter()
        scores = self.score_masks(scorer, x, tubes, target)
        t1 = time.perf_counter()
        sal = self.make_map(tubes, scores, base_score)
        timings['scoring'] = t1 - t0
        timings['map'] = time.perf_counter() - t1
        timings['num_masks'] = tubes.num_masks
        return sal
