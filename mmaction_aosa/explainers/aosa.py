"""Adaptive Occlusion Sensitivity Analysis (Uchiyama et al.).

Occlusion tubes follow optical flow from an anchor grid; tubes whose motion
co-occurs are merged; each merged mask is scored through the network and the
scores make the map (docs/methods.md, "AOSA"). The tubes, the integration
and the map step live in :mod:`mmaction_aosa.tubes`; this class chooses
among their options and scores the masks.
"""
import math
import time
from typing import Optional, Sequence, Union

import numpy as np
import torch

from .. import progress
from ..blur import blur_clip
from ..registry import EXPLAINERS
from ..scoring import Scorer, score_of
from ..tubes.flow import FLOW_INPUTS, FLOW_METHODS, clip_flow
from ..tubes.grouping import (COOCCURRENCES, flow_cosine_groups,
                              motion_cosine, top_k_partners)
from ..tubes.maps import (check_map_form, evidence_first, evidence_tubes,
                          saliency_map, tubes_region)
from ..tubes.masks import Tubes, tube_boxes
from ..tubes.tracking import (TRACKINGS, anchor_grid, track_points,
                              track_points_integer)
from .base import (BaseExplainer, ExplainError, check_choice,
                   check_positive_int, denormalize)
from .conditional import conditional_fill


def check_nonnegative(name: str, value, strict: bool = False) -> float:
    """``value`` as a float, refused if negative (or zero with ``strict``)
    or not finite."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be a number, got {value!r}') from None
    if not math.isfinite(v) or v < 0 or (strict and v == 0):
        kind = 'positive' if strict else 'non-negative'
        raise ValueError(f'{name} must be {kind}, got {value!r}')
    return v


#: How a mask's drop is measured: f(x) − f_i in probability, or in the
#: log-odds of the probability (docs/methods.md, "AOSA: the steps and the
#: options at each", step 8).
DROPS = ('prob', 'log_odds')


def check_box_size(box_size) -> tuple:
    """(h, w) of a box size given as an int or a pair of positive ints."""
    if isinstance(box_size, (int, np.integer)) and not isinstance(
            box_size, bool):
        size = (int(box_size), int(box_size))
    elif isinstance(box_size, (list, tuple)) and len(box_size) == 2 and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool)
            for v in box_size):
        size = (int(box_size[0]), int(box_size[1]))
    else:
        raise ValueError('box_size must be a positive int or a pair (h, w) '
                         f'of positive ints, got {box_size!r}')
    if min(size) < 1:
        raise ValueError(f'box_size must be positive, got {box_size!r}')
    return size


@EXPLAINERS.register_module()
class AOSA(BaseExplainer):
    """Adaptive Occlusion Sensitivity Analysis.

    The paper's symbols: anchor stride s, box h×w, K co-occurring tubes per
    mask. The authors' implementation (uchiyama33/AOSA,
    ``OcclusionSensitivityMap3D`` with ``gen_mask='flow_one'``,
    ``stack_method='flow_vec_corr'``) is ``tracking='integer',
    cooccurrence='flow_cosine', flow_input='swapped_luma',
    map_form='sum_drop', drop='prob', rounds=1`` with a constant fill of 0
    (the preset ``aosa_authors``).

    The defaults (the preset ``aosa``) keep the authors' tubes and change
    the map step: log-odds drops shared out among the tubes by least
    squares (``map_form='tube_lsq', drop='log_odds', ridge=10``) and a
    second round with the evidence occluded (``rounds=2``), at twice the
    forward passes. docs/methods.md ("The default") says why and
    docs/metrics.md gives the measurements.

    Args:
        anchor_stride (int): Grid step s of the anchors, in pixels
            (paper: 8 at 112 px, 10 for SlowFast at 256 px).
        box_size (int | tuple): h×w of the occluding box (paper: 2s).
        num_cooccurring (int): K, tubes merged into each mask (paper: 3).
        map_form (str): ``'mean_drop'``, ``'sum_drop'`` (the authors' code),
            ``'eq2'`` (the paper's Eq. 2 read literally) or ``'tube_lsq'``
            (each mask's drop shared out among its tubes by least squares);
            see :mod:`mmaction_aosa.tubes.maps`. ``'drop'`` and ``'paper'`` are
            accepted as the old names of ``'mean_drop'`` and ``'eq2'``.
        ridge (float): λ of ``'tube_lsq'`` (and of the evidence's tube
            values in round 2).
        drop (str): ``'prob'`` (the paper's f, the softmax probability) or
            ``'log_odds'`` (log f − log(1 − f), computed from the logits):
            what the map step and round 2 take differences of.
        rounds (int): 1 (the paper's single round) or 2: score every mask
            again with the first round's evidence tubes occluded, and rank
            the rest of the clip by those second-round drops (docs/methods.md,
            "Two rounds").
        evidence_fraction (float): Round 2's evidence: the tubes whose value
            (:func:`~mmaction_aosa.tubes.maps.tube_values`) is at least this
            fraction of the largest.
        smoothing (float): Gaussian smoothing of each frame of the map, σ
            as a fraction of the mean box side (0.1: σ = 1.6 px for 16-px
            boxes); 0 leaves the map as the form gives it.
        tracking (str): ``'subpixel'`` (bilinear flow, continuous positions)
            or ``'integer'`` (the authors': flow read at the pixel, rounded
            steps); see :mod:`mmaction_aosa.tubes.tracking`.
        cooccurrence (str): ``'flow_cosine'`` (the authors': cosine of the
            flow read along the tracks) or ``'motion_cosine'`` (cosine of
            the displacements, static tracks grouped together, position
            tie-breaker); see :mod:`mmaction_aosa.tubes.grouping`.
        flow_input (str): What the flow is computed on: ``'luma'`` (grey
            luma), ``'swapped_luma'`` (cv2's BGR2GRAY on the RGB frames, as
            the authors' code) or ``'color'`` (per pixel the YCrCb channel
            with the most structure); see :mod:`mmaction_aosa.tubes.flow`.
        flow_method (str): ``'farneback'`` (default), ``'dis'`` or ``'tvl1'``.
        flow_params (dict, optional): Overrides of the Farneback parameters.
        fill (str): ``'constant'`` (``fill_value`` in normalised space; 0 is
            the dataset mean colour) or ``'conditional'`` (samples from the
            Gaussian of the patches around each box, averaged over
            ``num_samples`` draws).
        fill_value (float): Constant fill, in normalised space.
        num_samples (int): Draws per mask for conditional sampling.
        min_motion (float): ``'motion_cosine'`` only: tracks that move less
            than this many pixels in all count as static.
        position_weight (float): ``'motion_cosine'`` only: weight of the
            position tie-breaker.
        batch_size (int): Occluded clips per forward pass.
        seed (int): Seed of conditional sampling.
        amp (bool): Score under CUDA autocast when on a GPU.
    """

    def __init__(self,
                 anchor_stride: int = 8,
                 box_size: Union[int, Sequence[int]] = 16,
                 num_cooccurring: int = 3,
                 map_form: str = 'tube_lsq',
                 ridge: float = 10.0,
                 drop: str = 'log_odds',
                 rounds: int = 2,
                 evidence_fraction: float = 0.5,
                 smoothing: float = 0.0,
                 tracking: str = 'integer',
                 cooccurrence: str = 'flow_cosine',
                 flow_input: str = 'swapped_luma',
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
        super().__init__(amp=amp)
        self.batch_size = check_positive_int('batch_size', batch_size)
        self.seed = int(seed)
        self.anchor_stride = check_positive_int('anchor_stride', anchor_stride)
        check_box_size(box_size)
        self.box_size = box_size
        self.num_cooccurring = check_positive_int('num_cooccurring',
                                                  num_cooccurring, 0)
        self.map_form = check_map_form(map_form)
        self.ridge = check_nonnegative('ridge', ridge, strict=True)
        self.smoothing = check_nonnegative('smoothing', smoothing)
        self.drop = check_choice('drop', drop, DROPS)
        self.rounds = check_positive_int('rounds', rounds)
        if self.rounds > 2:
            raise ValueError(f'rounds must be 1 or 2, got {rounds!r}')
        self.evidence_fraction = check_nonnegative(
            'evidence_fraction', evidence_fraction, strict=True)
        if self.evidence_fraction > 1:
            raise ValueError('evidence_fraction must be in (0, 1], got '
                             f'{evidence_fraction!r}')
        self.tracking = check_choice('tracking', tracking, TRACKINGS)
        self.cooccurrence = check_choice('cooccurrence', cooccurrence,
                                         COOCCURRENCES)
        self.flow_input = check_choice('flow_input', flow_input,
                                       FLOW_INPUTS)
        self.flow_method = check_choice('flow_method', flow_method,
                                        FLOW_METHODS)
        self.flow_params = flow_params
        self.fill = check_choice('fill', fill, ('constant', 'conditional'))
        self.fill_value = float(fill_value)
        self.num_samples = check_positive_int('num_samples', num_samples)
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
        T, H, W = frames.shape[:3]
        bh, bw = check_box_size(self.box_size)
        if self.anchor_stride > max(H, W):
            raise ExplainError(f'anchor_stride {self.anchor_stride} is larger'
                               f' than the clip ({H}×{W})')
        t0 = time.perf_counter()
        flow = clip_flow(frames, self.flow_input, self.flow_method,
                         self.flow_params)
        t1 = time.perf_counter()
        integer = self.tracking == 'integer'
        anchors = anchor_grid(H, W, self.anchor_stride, integer=integer)
        tracks = (track_points_integer if integer else track_points)(
            flow, anchors)
        boxes = tube_boxes(tracks.positions, tracks.valid, (bh, bw), H, W)
        if (boxes[tracks.valid.T] == (0, 0, W, H)).all():
            raise ExplainError(
                f'box_size {self.box_size} covers the whole {H}×{W} frame '
                'from every anchor: the masks cannot tell regions apart; use '
                'a smaller box')
        if self.cooccurrence == 'flow_cosine':
            groups = flow_cosine_groups(tracks.flows, self.num_cooccurring)
        else:
            groups = top_k_partners(
                motion_cosine(tracks.positions, tracks.valid,
                              self.min_motion, self.position_weight),
                self.num_cooccurring)
        tubes = Tubes(
            torch.from_numpy(boxes).to(device),
            torch.from_numpy(groups).to(device), H, W)
        timings['flow'] = t1 - t0
        timings['tubes'] = time.perf_counter() - t1
        return tubes

    # -- fill -------------------------------------------------------------
    def occlude(self, x: torch.Tensor, occ: torch.Tensor,
                tubes: Tubes, indices: torch.Tensor,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """B occluded copies of x (C×T×H×W) for B×T×H×W occlusion."""
        if self.fill == 'conditional':
            values = conditional_fill(x, tubes, indices, occ, generator)
            return torch.where(occ[:, None], values, x[None])
        return x[None].masked_fill(occ[:, None], self.fill_value)

    # -- AOSA ---------------------------------------------------------------
    def score_masks(self, scorer: Scorer, x: torch.Tensor, tubes: Tubes,
                    target: int,
                    occluded: Optional[torch.Tensor] = None) -> torch.Tensor:
        """f(Ω̂_i ⊙ x) for every integrated mask i (step 7), in batches;
        f in the units of ``drop`` (probability or log-odds).

        Args:
            occluded (Tensor, optional): T×H×W bool region occluded in every
                clip besides the mask (round 2's evidence).
        """
        gen = torch.Generator(device='cpu').manual_seed(self.seed)
        draws = self.num_samples if self.fill == 'conditional' else 1
        scores = torch.zeros(tubes.num_masks, dtype=torch.float64)
        with torch.no_grad():
            for idx, occ in tubes.batches(self.batch_size):
                if occluded is not None:
                    occ = occ | occluded
                acc = torch.zeros(len(idx), dtype=torch.float64)
                for _ in range(draws):
                    clips = self.occlude(x, occ, tubes, idx, gen)
                    acc += score_of(scorer.logits(clips), target,
                                    self.drop).double().cpu()
                scores[idx] = acc / draws
        return scores

    def make_map(self, tubes: Tubes, scores: torch.Tensor,
                 base_score: float) -> torch.Tensor:
        """The map step in this explainer's ``map_form`` (step 8), then the
        optional spatial smoothing."""
        sal = saliency_map(tubes, scores, base_score, self.map_form,
                           ridge=self.ridge)
        if self.smoothing > 0:
            bh, bw = check_box_size(self.box_size)
            sigma = self.smoothing * (bh + bw) / 2
            size = 2 * math.ceil(3 * sigma) + 1
            sal = blur_clip(sal[None], size, sigma)[0]
        return sal

    def evidence(self, tubes: Tubes, scores: torch.Tensor,
                 base_score: float) -> Tubes:
        """Round 1's evidence tubes as one mask (round 2 occludes it in
        every clip)."""
        members = evidence_tubes(tubes, base_score - scores.double(),
                                 self.evidence_fraction, self.ridge)
        return Tubes(tubes.boxes, members.to(tubes.boxes.device)[None],
                     tubes.height, tubes.width)

    def clean_score(self, scorer: Scorer, x: torch.Tensor, target: int,
                    base_score: float) -> float:
        """f(x) in the units of ``drop`` (``base_score`` is the
        probability)."""
        if self.drop == 'prob':
            return base_score
        with torch.no_grad():
            return float(score_of(scorer.logits(x[None]), target,
                                  self.drop)[0])

    def _saliency(self, scorer, x, target, base_score, timings):
        frames = denormalize(scorer.model, x)
        tubes = self.build_tubes(frames, x.device, timings)
        progress.expect(self.rounds * tubes.num_masks * (
            self.num_samples if self.fill == 'conditional' else 1))
        t0 = time.perf_counter()
        base_score = self.clean_score(scorer, x, target, base_score)
        scores = self.score_masks(scorer, x, tubes, target)
        t1 = time.perf_counter()
        sal = self.make_map(tubes, scores, base_score)
        timings['scoring'] = t1 - t0
        timings['map'] = time.perf_counter() - t1
        timings['num_masks'] = tubes.num_masks
        if self.rounds == 2:
            t0 = time.perf_counter()
            evidence = self.evidence(tubes, scores, base_score)
            timings['evidence_tubes'] = evidence.groups.shape[1]
            if evidence.groups.shape[1] == 0:
                return sal  # no mask lowered f: nothing to take away
            region = tubes_region(tubes, evidence.groups[0])
            base2 = float(self.score_masks(scorer, x, evidence, target)[0])
            scores2 = self.score_masks(scorer, x, tubes, target, region)
            t1 = time.perf_counter()
            sal = evidence_first(sal, self.make_map(tubes, scores2, base2),
                                 region)
            timings['scoring'] += t1 - t0
            timings['map'] += time.perf_counter() - t1
        return sal
