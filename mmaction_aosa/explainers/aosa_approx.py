"""AOSA-approx: AOSA with the occluded scores from one gradient.

AOSA scores every integrated mask through the network (N forward passes).
AOSA-approx takes one forward and one backward pass at x, J = ∂f/∂x, and
the first-order expansion of the occluded score, with the occluded voxels
set to their fill μ (the conditional mean, the expectation of conditional
sampling, or a constant):

    f(Ω̂_m ⊙ x) ≈ f(x) + Σ_{v ∈ occ(m)} J_v (μ_v − x_v).

Sign convention. We call the *drop* of mask m

    S_m = Σ_{v ∈ occ(m)} c_v,   c_v = ReLU(−J_v (μ_v − x_v)),

so S_m ≥ 0 is the (first-order) decrease of the target probability when m
is occluded, and f̂_m = f(x) − S_m is the estimate of f(Ω̂_m ⊙ x) that goes
through the same map step as AOSA. The paper's Eq. 8 writes the importance
as ReLU(J (μ − x)) (the opposite sign), which with f̂ = f(x) − S would rank
voxels whose occlusion *raises* the score as important; the authors' code has
no ReLU at all. With ``relu=False`` S_m is the plain first-order drop and
f̂_m is exactly the first-order estimate (equal to AOSA's score when f is
linear in x; the authors' approximation with a constant fill of 0). v runs
over the elements of x (channels included); the ReLU acts per element, and
the channels are summed afterwards.

Cost. c_v is computed once; S_m is a sum over a union of K+1 boxes per
frame, read from a summed-area table by inclusion–exclusion
(:func:`~mmaction_aosa.tubes.maps.union_box_sums`), independent of the box
and clip size; for K+1 > 6 members it falls back to dense masks rendered
batch-wise. The map step is AOSA's.
"""
import time
from typing import Optional

import torch

from .. import progress
from ..registry import EXPLAINERS
from ..tubes.maps import (dense_mask_sums, evidence_first, tubes_region,
                          union_box_sums, use_box_algebra)
from ..tubes.masks import Tubes
from .aosa import AOSA
from .base import check_choice, denormalize
from .conditional import MARGIN, box_size_of, conditional_mean
from .gradients import SCORES, input_gradient

MASK_SUMS = ('auto', 'boxes', 'dense')


@EXPLAINERS.register_module()
class AOSAApprox(AOSA):
    """AOSA-approx: AOSA's tubes and map, scores from one gradient.

    Shares :meth:`AOSA.build_tubes` and the map step with AOSA; only the
    per-mask scores differ (f̂_m = f(x) − S_m, module docstring). Every
    argument of :class:`AOSA` that shapes the tubes and the map applies
    (``anchor_stride``, ``box_size``, ``num_cooccurring``, ``map_form``,
    ``tracking``, ``cooccurrence``, ``gray``, ``flow_method``,
    ``flow_params``, ``fill_value``, ``min_motion``, ``position_weight``,
    ``amp``); ``num_samples`` and ``seed`` do not (the expectation needs no
    draws).

    Args:
        fill (str): ``'conditional'`` (default: μ, the mean of the
            surrounding patches, :func:`conditional_mean`) or ``'constant'``
            (``fill_value``).
        relu (bool): Keep only elementwise decreases (default True; the
            authors' code has none).
        score (str, optional): What f is, differentiated and estimated:
            ``'prob'`` (the softmax probability), ``'logit'`` (the target
            logit) or ``'log_odds'``; default the units of ``drop``.
        mask_sum (str): How mask sums S_m run over the masks: ``'auto'``
            (from the boxes by inclusion–exclusion up to 6 members per mask,
            dense otherwise), ``'boxes'`` or ``'dense'`` (masks rendered
            batch-wise).
        batch_size (int): Masks made dense at once (``'dense'`` sums).
        **kwargs: The :class:`AOSA` arguments above.
    """

    def __init__(self, fill: str = 'conditional', relu: bool = True,
                 score: Optional[str] = None, mask_sum: str = 'auto',
                 batch_size: int = 32, **kwargs):
        for unused in ('num_samples', 'seed'):
            if unused in kwargs:
                raise ValueError(f'AOSAApprox takes no {unused!r}: it uses '
                                 "the fill's expectation, no draws")
        super().__init__(fill=fill, batch_size=batch_size, **kwargs)
        self.relu = bool(relu)
        self.score = check_choice('score', score or self.drop, SCORES)
        self.mask_sum = check_choice('mask_sum', mask_sum, MASK_SUMS)

    def params(self) -> dict:
        out = super().params()
        for unused in ('num_samples', 'seed'):
            out.pop(unused, None)
        return out

    def fill_values(self, x: torch.Tensor, tubes: Tubes) -> torch.Tensor:
        """μ: the value each occluded voxel takes in expectation."""
        if self.fill == 'conditional':
            return conditional_mean(x, box_size_of(tubes.boxes), MARGIN)
        return torch.full_like(x, self.fill_value)

    def contributions(self, grad: torch.Tensor, x: torch.Tensor,
                      mu: torch.Tensor) -> torch.Tensor:
        """c_v = [ReLU](−J_v (μ_v − x_v)), summed over channels: T×H×W."""
        c = -grad.double() * (mu.double() - x.double())
        if self.relu:
            c = c.clamp(min=0)
        return c.sum(0)

    def mask_sums(self, contrib: torch.Tensor, tubes: Tubes) -> torch.Tensor:
        """S_m for every mask (N,), float64."""
        boxes = (use_box_algebra(tubes) if self.mask_sum == 'auto' else
                 self.mask_sum == 'boxes')
        if boxes:
            return union_box_sums(contrib, tubes)
        return dense_mask_sums(contrib, tubes, self.batch_size)

    def _saliency(self, scorer, x, target, base_score, timings):
        tubes = self.build_tubes(denormalize(scorer.model, x), x.device,
                                 timings)
        progress.expect(self.rounds)  # one gradient per round
        t0 = time.perf_counter()
        f, grad = input_gradient(scorer, x[None], target, self.score)
        t1 = time.perf_counter()
        mu = self.fill_values(x, tubes)
        contrib = self.contributions(grad[0], x, mu)
        drops = self.mask_sums(contrib, tubes)
        t2 = time.perf_counter()
        scores = float(f[0]) - drops
        sal = self.make_map(tubes, scores, float(f[0]))
        timings['gradient'] = t1 - t0
        timings['mask_sums'] = t2 - t1
        timings['map'] = time.perf_counter() - t2
        timings['num_masks'] = tubes.num_masks
        if self.rounds == 2:
            sal = self._second_round(scorer, x, target, tubes, mu, scores,
                                     float(f[0]), sal, timings)
        return sal

    def _second_round(self, scorer, x, target, tubes, mu, scores, base, sal,
                      timings):
        """Round 2 to first order: a second gradient at x with the evidence
        set to its fill, the drops of every mask from it (the evidence's own
        voxels add nothing: there x already equals μ)."""
        t0 = time.perf_counter()
        evidence = self.evidence(tubes, scores, base)
        timings['evidence_tubes'] = evidence.groups.shape[1]
        if evidence.groups.shape[1] == 0:
            return sal
        region = tubes_region(tubes, evidence.groups[0])
        x2 = torch.where(region[None], mu.to(x.dtype), x)
        f2, grad2 = input_gradient(scorer, x2[None], target, self.score)
        t1 = time.perf_counter()
        drops2 = self.mask_sums(self.contributions(grad2[0], x2, mu), tubes)
        second = self.make_map(tubes, float(f2[0]) - drops2, float(f2[0]))
        timings['gradient'] += t1 - t0
        timings['map'] += time.perf_counter() - t1
        return evidence_first(sal, second, region)
