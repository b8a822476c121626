"""What AOSA and AOSA-approx share: tubes, the map step and the rounds.

Both explain a clip with the same steps (docs/methods.md, "AOSA: the steps
and the options at each"): occlusion tubes that follow optical flow, merged
by co-occurrence into N masks; a score f_i for each mask (the clip with the
mask at its fill); the map from f(x) and the f_i; and, with ``rounds=2``, a
second pass with the first round's evidence occluded (docs/methods.md, "Two
rounds"). :class:`TubeExplainer` owns all of that once. A subclass says only
how it gets the scores of the masks, :meth:`TubeExplainer.mask_scores`:
AOSA runs every occluded clip through the network, AOSA-approx estimates
them from input gradients.
"""
import math
import time
import warnings
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..blur import blur_clip
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

__all__ = ['TubeExplainer', 'TUBE_OPTIONS', 'DROPS', 'FILLS',
           'check_box_size', 'check_nonnegative', 'check_tube_options',
           'merge_legacy_tube_options']

#: How a mask's drop is measured: f(x) − f_i in probability, or in the
#: log-odds of the probability (docs/methods.md, "AOSA: the steps and the
#: options at each", step 8).
DROPS = ('prob', 'log_odds')

#: What occluded voxels take: a constant (``fill_value``, normalised space)
#: or the conditional distribution of the surrounding patches.
FILLS = ('constant', 'conditional')

#: How the tubes are built (steps 1, 3 and 5), with the authors' choices as
#: defaults. Research ablations, kept out of the constructor's top level:
#: pass the ones to change as ``tubes=dict(...)``.
TUBE_OPTIONS = dict(
    tracking='integer',  # or 'subpixel' (tubes/tracking.py)
    cooccurrence='flow_cosine',  # or 'motion_cosine' (tubes/grouping.py)
    flow_input='swapped_luma',  # or 'luma', 'color' (tubes/flow.py)
    flow_method='farneback',  # or 'dis', 'tvl1'
    flow_params=None,  # overrides of the Farneback parameters
    min_motion=0.5,  # 'motion_cosine': static below this many px
    position_weight=0.01,  # 'motion_cosine': position tie-breaker
)


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


def check_tube_options(tubes: Optional[dict]) -> dict:
    """The full tube options: :data:`TUBE_OPTIONS` updated by ``tubes``."""
    if tubes is None:
        tubes = {}
    if not isinstance(tubes, dict):
        raise ValueError(f'tubes must be a dict of tube options, got '
                         f'{tubes!r}')
    unknown = sorted(set(tubes) - set(TUBE_OPTIONS))
    if unknown:
        raise ValueError(f'unknown tube option(s) {unknown}; tubes=dict(...) '
                         f'takes {sorted(TUBE_OPTIONS)}')
    opts = dict(TUBE_OPTIONS, **tubes)
    check_choice('tubes.tracking', opts['tracking'], TRACKINGS)
    check_choice('tubes.cooccurrence', opts['cooccurrence'], COOCCURRENCES)
    check_choice('tubes.flow_input', opts['flow_input'], FLOW_INPUTS)
    check_choice('tubes.flow_method', opts['flow_method'], FLOW_METHODS)
    if opts['flow_params'] is not None and not isinstance(
            opts['flow_params'], dict):
        raise ValueError('tubes.flow_params must be a dict or None, got '
                         f"{opts['flow_params']!r}")
    for key in ('min_motion', 'position_weight'):
        opts[key] = check_nonnegative(f'tubes.{key}', opts[key])
    return opts


def merge_legacy_tube_options(owner: str, tubes: Optional[dict],
                              legacy: dict) -> Optional[dict]:
    """``tubes`` with the tube options given at the top level (the flat
    keys of earlier versions: ``tracking=...``, ``flow_input=...``) moved
    into it, with a DeprecationWarning; any other key is a TypeError."""
    if not legacy:
        return tubes
    unknown = sorted(set(legacy) - set(TUBE_OPTIONS))
    if unknown:
        raise TypeError(f'{owner} got unexpected argument(s) {unknown}')
    tubes = dict(tubes or {})
    both = sorted(set(legacy) & set(tubes))
    if both:
        raise ValueError(f'{both} given both at the top level and in '
                         'tubes=dict(...); give them in tubes only')
    example = ', '.join(f'{k}={v!r}' for k, v in legacy.items())
    warnings.warn(
        f'{owner}: tube options at the top level ({sorted(legacy)}) are '
        f'deprecated; pass them as tubes=dict(...) (e.g. '
        f'tubes=dict({example}))', DeprecationWarning, stacklevel=4)
    tubes.update(legacy)
    return tubes


class TubeExplainer(BaseExplainer):
    """The base of :class:`~.AOSA` and :class:`~.AOSAApprox`.

    The paper's symbols: anchor stride s, box h×w, K co-occurring tubes per
    mask. Subclasses implement :meth:`mask_scores`.

    Args:
        anchor_stride (int): Grid step s of the anchors, in pixels
            (paper: 8 at 112 px, 10 for SlowFast at 256 px).
        box_size (int | tuple): h×w of the occluding box (paper: 2s).
        num_cooccurring (int): K, tubes merged into each mask (paper: 3).
        map_form (str): ``'tube_lsq'`` (each mask's drop shared out among
            its tubes by least squares), ``'sum_drop'`` (the authors' code),
            ``'mean_drop'`` or ``'eq2'`` (the paper's Eq. 2 read literally);
            see :mod:`mmaction_aosa.tubes.maps`. ``'drop'`` and ``'paper'``
            are accepted as the old names of ``'mean_drop'`` and ``'eq2'``.
        drop (str): ``'log_odds'`` (log f − log(1 − f), computed from the
            logits) or ``'prob'`` (the paper's f, the softmax probability):
            what the map step and round 2 take differences of.
        ridge (float): λ of ``'tube_lsq'`` (and of the evidence's tube
            values in round 2).
        rounds (int): 1 (the paper's single round) or 2: the masks scored
            again with the first round's evidence occluded, and the rest of
            the clip ranked by those second-round drops (docs/methods.md,
            "Two rounds").
        evidence_fraction (float): Round 2's evidence: the tubes whose value
            (:func:`~mmaction_aosa.tubes.maps.tube_values`) is at least this
            fraction of the largest.
        fill (str): ``'constant'`` (``fill_value``) or ``'conditional'``
            (the Gaussian of the patches around each box: AOSA draws from
            it, AOSA-approx takes its mean).
        fill_value (float): Constant fill, in normalised space (0: the
            dataset mean colour).
        smoothing (float): Gaussian smoothing of each frame of the map, σ
            as a fraction of the mean box side; 0 leaves the map as the
            form gives it.
        tubes (dict, optional): How the tubes are built, the research
            ablations of :data:`TUBE_OPTIONS` (tracking, co-occurrence,
            flow input and method); default the authors' choices. The
            same keys given at the top level (earlier versions) are moved
            here with a DeprecationWarning.
        batch_size (int): Clips per forward (or forward+backward) pass.
        amp (bool | str): Mixed precision (:mod:`mmaction_aosa.scoring`).
    """

    def __init__(self,
                 anchor_stride: int = 8,
                 box_size: Union[int, Sequence[int]] = 16,
                 num_cooccurring: int = 3,
                 map_form: str = 'tube_lsq',
                 drop: str = 'log_odds',
                 ridge: float = 10.0,
                 rounds: int = 2,
                 evidence_fraction: float = 0.5,
                 fill: str = 'constant',
                 fill_value: float = 0.0,
                 smoothing: float = 0.0,
                 tubes: Optional[dict] = None,
                 batch_size: int = 32,
                 amp=False,
                 **legacy):
        super().__init__(amp=amp)
        tubes = merge_legacy_tube_options(type(self).__name__, tubes, legacy)
        self.anchor_stride = check_positive_int('anchor_stride', anchor_stride)
        check_box_size(box_size)
        self.box_size = box_size
        self.num_cooccurring = check_positive_int('num_cooccurring',
                                                  num_cooccurring, 0)
        self.map_form = check_map_form(map_form)
        self.drop = check_choice('drop', drop, DROPS)
        self.ridge = check_nonnegative('ridge', ridge, strict=True)
        self.rounds = check_positive_int('rounds', rounds)
        if self.rounds > 2:
            raise ValueError(f'rounds must be 1 or 2, got {rounds!r}')
        self.evidence_fraction = check_nonnegative(
            'evidence_fraction', evidence_fraction, strict=True)
        if self.evidence_fraction > 1:
            raise ValueError('evidence_fraction must be in (0, 1], got '
                             f'{evidence_fraction!r}')
        self.fill = check_choice('fill', fill, FILLS)
        try:
            self.fill_value = float(fill_value)
        except (TypeError, ValueError):
            raise ValueError(
                f'fill_value must be a number, got {fill_value!r}') from None
        self.smoothing = check_nonnegative('smoothing', smoothing)
        self.tubes = check_tube_options(tubes)
        self.batch_size = check_positive_int('batch_size', batch_size)

    # -- tubes ------------------------------------------------------------
    def build_tubes(self, frames: np.ndarray, device=None,
                    timings: Optional[dict] = None) -> Tubes:
        """Flow, tracking, boxes, co-occurrence and integration (steps 1-6).

        Args:
            frames (np.ndarray): T×H×W×C frames in 0..255 (un-normalised).
            device: Where the boxes live (that of the model).
            timings (dict, optional): Receives 'flow' and 'tubes' seconds.
        """
        timings = {} if timings is None else timings
        opts = self.tubes
        T, H, W = frames.shape[:3]
        bh, bw = check_box_size(self.box_size)
        if self.anchor_stride > max(H, W):
            raise ExplainError(f'anchor_stride {self.anchor_stride} is larger'
                               f' than the clip ({H}×{W})')
        t0 = time.perf_counter()
        flow = clip_flow(frames, opts['flow_input'], opts['flow_method'],
                         opts['flow_params'])
        t1 = time.perf_counter()
        integer = opts['tracking'] == 'integer'
        anchors = anchor_grid(H, W, self.anchor_stride, integer=integer)
        tracks = (track_points_integer if integer else track_points)(
            flow, anchors)
        boxes = tube_boxes(tracks.positions, tracks.valid, (bh, bw), H, W)
        if (boxes[tracks.valid.T] == (0, 0, W, H)).all():
            raise ExplainError(
                f'box_size {self.box_size} covers the whole {H}×{W} frame '
                'from every anchor: the masks cannot tell regions apart; use '
                'a smaller box')
        if opts['cooccurrence'] == 'flow_cosine':
            groups = flow_cosine_groups(tracks.flows, self.num_cooccurring)
        else:
            groups = top_k_partners(
                motion_cosine(tracks.positions, tracks.valid,
                              opts['min_motion'], opts['position_weight']),
                self.num_cooccurring)
        tubes = Tubes(
            torch.from_numpy(boxes).to(device),
            torch.from_numpy(groups).to(device), H, W)
        timings['flow'] = t1 - t0
        timings['tubes'] = time.perf_counter() - t1
        return tubes

    # -- scores -------------------------------------------------------------
    def mask_scores(self, scorer: Scorer, x: torch.Tensor, target: int,
                    tubes: Tubes, evidence: Optional[Tubes] = None,
                    region: Optional[torch.Tensor] = None
                    ) -> Tuple[float, torch.Tensor]:
        """f of the clip and of every integrated mask, in ``drop`` units.

        Args:
            scorer (Scorer): The model (``scorer.clean`` holds the clean
                pass of :meth:`explain_full`).
            x (Tensor): The clip, C×T×H×W.
            target (int): Class explained.
            tubes (Tubes): The integrated masks.
            evidence (Tubes, optional): Round 2: the evidence as one mask,
                at its fill in every clip, the base included.
            region (Tensor, optional): Its T×H×W bool region.

        Returns:
            tuple: f of the clip (with the evidence at its fill) and the
            (N,) float64 f_i of the clip with mask i at its fill too.
        """
        raise NotImplementedError

    def clean_score(self, scorer: Scorer, x: torch.Tensor, target: int,
                    kind: Optional[str] = None) -> float:
        """f(x) in ``kind`` units (default ``drop``), from the clean pass
        when there is one, else from a forward pass."""
        clean = scorer.clean
        if clean is not None and clean.clip is x:
            logits = clean.logits.detach()
        else:
            with torch.no_grad():
                logits = scorer.logits(x[None])
        return float(score_of(logits, target, kind or self.drop)[0])

    # -- map ----------------------------------------------------------------
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

    # -- the rounds ---------------------------------------------------------
    def _saliency(self, scorer, x, target, base_score, timings):
        tubes = self.build_tubes(denormalize(scorer.model, x), x.device,
                                 timings)
        timings['num_masks'] = tubes.num_masks
        t0 = time.perf_counter()
        base, scores = self.mask_scores(scorer, x, target, tubes)
        t1 = time.perf_counter()
        sal = self.make_map(tubes, scores, base)
        timings['scoring'] = t1 - t0
        timings['map'] = time.perf_counter() - t1
        if self.rounds == 1:
            return sal
        t0 = time.perf_counter()
        evidence = self.evidence(tubes, scores, base)
        timings['evidence_tubes'] = evidence.groups.shape[1]
        if evidence.groups.shape[1] == 0:
            return sal  # no mask lowered f: nothing to take away
        region = tubes_region(tubes, evidence.groups[0])
        base2, scores2 = self.mask_scores(scorer, x, target, tubes, evidence,
                                          region)
        t1 = time.perf_counter()
        sal = evidence_first(sal, self.make_map(tubes, scores2, base2),
                             region)
        timings['scoring'] += t1 - t0
        timings['map'] += time.perf_counter() - t1
        return sal
