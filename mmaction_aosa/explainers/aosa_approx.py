"""AOSA-approx: AOSA with the occluded scores from one gradient (DESIGN.md §1).

AOSA scores every integrated mask through the network (N forward passes).
AOSA-approx takes one forward and one backward pass at x, J = ∂f/∂x, and
the first-order expansion of the occluded score, with the occluded voxels
set to the conditional mean μ (the expectation of conditional sampling):

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
linear in x). v runs over the elements of x (channels included); the ReLU
acts per element, and the channels are summed afterwards.

Cost. c_v is computed once; a mask is the union of its K+1 tube boxes in
each frame, so S_m is a sum over a union of rectangles: by
inclusion–exclusion it is Σ_{∅≠A⊆members} (−1)^{|A|+1} sum(∩A), and the
intersection of boxes is a box, read from a summed-area table in O(1). That
is 2^{K+1}−1 look-ups per mask and frame (15 for K=3), independent of the
box size and clip size; for K+1 > 6 members it falls back to dense masks
rendered batch-wise (one T·H·W dot product per mask). The map step is the
same formula as AOSA's (:func:`saliency_map`), computed as the transpose
of the box sums: each intersection box scatters ±f̂_m into a 2D
difference array whose cumulative sums give the map (:func:`box_saliency_map`; it agrees
with the dense map step to float64 rounding, tested), instead of N dense
T×H×W masks, which took ~1 s of the ~3 s per map at N=196 on CPU.
"""
import itertools
import time
from typing import Optional, Sequence, Union

import torch

from ..registry import EXPLAINERS
from .aosa import AOSA, MAP_FORMS, Tubes
from .conditional import MARGIN, box_size_of, conditional_mean
from .smoothgrad import check_score, input_gradient

MASK_SUMS = ('auto', 'boxes', 'dense')
#: Largest K+1 for which inclusion–exclusion ('auto') is used.
MAX_BOX_MEMBERS = 6


def summed_area_table(values: torch.Tensor) -> torch.Tensor:
    """T×H×W → T×(H+1)×(W+1) integral image with a zero first row/column."""
    table = torch.zeros(values.shape[0], values.shape[1] + 1,
                        values.shape[2] + 1, dtype=values.dtype,
                        device=values.device)
    table[:, 1:, 1:] = values.cumsum(1).cumsum(2)
    return table


def _subsets(num_members: int, device) -> tuple:
    """All non-empty subsets of the members: S×M bool and S signs."""
    rows = [[m in sub for m in range(num_members)]
            for size in range(1, num_members + 1)
            for sub in itertools.combinations(range(num_members), size)]
    member = torch.tensor(rows, dtype=torch.bool, device=device)
    sign = 1.0 - 2.0 * ((member.sum(1) + 1) % 2).to(torch.float64)
    return member, sign


def _intersections(tubes: Tubes) -> tuple:
    """Boxes of every non-empty member subset, for inclusion–exclusion.

    1[v ∈ ∪_m B_m] = Σ_{∅≠A} (−1)^{|A|+1} 1[v ∈ ∩_{m∈A} B_m], and the
    intersection of boxes is a box; empty ones come out with x1 = x0 and
    y1 = y0 (zero area). All subsets at once, a few large tensor ops.

    Returns:
        tuple: sign (S,) float64, and x0, y0, x1, y1, each N×T×S int64.
    """
    # members last (contiguous): reductions over them are fast
    members = tubes.boxes[tubes.groups].long().permute(0, 2, 3, 1)  # N×T×4×M
    member, sign = _subsets(members.shape[-1], members.device)
    big = torch.iinfo(torch.int64).max
    lo = members[:, :, :2, None, :].masked_fill(~member, -big).amax(-1)
    # min as −max(−·): int64 amin is ~20× slower than amax on CPU here
    hi = -(-members[:, :, 2:, None, :]).masked_fill(~member, -big).amax(-1)
    x0, y0 = lo.unbind(2)  # N×T×S
    x1, y1 = hi.unbind(2)
    empty = (x1 <= x0) | (y1 <= y0)
    return sign, x0, y0, torch.where(empty, x0, x1), torch.where(
        empty, y0, y1)


def union_box_sums(contrib: torch.Tensor, tubes: Tubes) -> torch.Tensor:
    """Σ of a T×H×W map over the occluded region of every integrated mask.

    Exact, by inclusion–exclusion over the K+1 member boxes per frame (see
    the module docstring), each box sum read from a summed-area table.
    Boxes are half-open ``(x0, y0, x1, y1)``.

    Returns:
        Tensor: (N,) float64 sums.
    """
    table = summed_area_table(contrib.to(torch.float64))
    T = contrib.shape[0]
    sign, x0, y0, x1, y1 = _intersections(tubes)
    t = torch.arange(T, device=x0.device)[None, :, None]
    s = (table[t, y1, x1] - table[t, y0, x1] - table[t, y1, x0] +
         table[t, y0, x0])  # N×T×S
    return (s.sum(1) * sign).sum(1)


def union_box_scatter(weights: torch.Tensor, tubes: Tubes) -> torch.Tensor:
    """Σ_i w_i · 1[v ∈ occluded region of mask i], a T×H×W float64 map.

    The transpose of :func:`union_box_sums`: every intersection box adds
    ±w_i at its four corners of a 2D difference array, which two cumulative
    sums per frame turn into the map. O(N·2^{K+1}·T + T·H·W).
    """
    T = tubes.boxes.shape[1]
    H, W = tubes.height, tubes.width
    dev = tubes.boxes.device
    sign, x0, y0, x1, y1 = _intersections(tubes)
    val = (weights.to(dev, torch.float64)[:, None, None] * sign *
           (x1 > x0))  # N×T×S, 0 for empty boxes
    t_off = (torch.arange(T, device=dev) * (H + 1) * (W + 1))[None, :, None]
    idx = torch.stack([
        t_off + y0 * (W + 1) + x0, t_off + y0 * (W + 1) + x1,
        t_off + y1 * (W + 1) + x0, t_off + y1 * (W + 1) + x1
    ])
    corner = torch.tensor([1.0, -1.0, -1.0, 1.0], dtype=torch.float64,
                          device=dev).view(4, 1, 1, 1)
    diff = torch.zeros(T * (H + 1) * (W + 1), dtype=torch.float64,
                       device=dev)
    diff.index_add_(0, idx.reshape(-1), (corner * val).reshape(-1))
    diff = diff.view(T, H + 1, W + 1)
    return diff.cumsum(1).cumsum(2)[:, :H, :W]


def box_saliency_map(tubes: Tubes, scores: torch.Tensor, base_score: float,
                     map_form: str = 'drop') -> torch.Tensor:
    """:func:`saliency_map` computed from the boxes, without dense masks.

    Same formula and result (to float64 rounding) as AOSA's map step:
    ``'paper'`` is (Σ_i f_i − Σ_i f_i·occ_i) / N, ``'drop'`` is
    Σ_i (f(x) − f_i)·occ_i / #{i: occ_i} (0 where no mask covers a voxel).
    """
    if map_form not in MAP_FORMS:
        raise ValueError(f'map_form must be one of {MAP_FORMS}, '
                         f'got {map_form!r}')
    scores = scores.to(tubes.boxes.device, torch.float64)
    if map_form == 'paper':
        weighted = union_box_scatter(scores, tubes)
        return ((scores.sum() - weighted) / tubes.num_masks).float()
    weighted = union_box_scatter(base_score - scores, tubes)
    count = union_box_scatter(torch.ones_like(scores), tubes).round()
    out = torch.where(count > 0, weighted / count.clamp(min=1),
                      torch.zeros_like(weighted))
    return out.float()


def dense_mask_sums(contrib: torch.Tensor, tubes: Tubes,
                    batch_size: int = 32) -> torch.Tensor:
    """Same as :func:`union_box_sums` with masks made dense batch-wise."""
    flat = contrib.to(torch.float64).reshape(-1)
    out = torch.zeros(tubes.num_masks, dtype=torch.float64,
                      device=contrib.device)
    for idx, occ in tubes.batches(batch_size):
        out[idx.to(out.device)] = occ.reshape(len(idx), -1).to(
            torch.float64) @ flat
    return out


@EXPLAINERS.register_module()
class AOSAApprox(AOSA):
    """AOSA-approx: AOSA's tubes and map, scores from one gradient.

    Shares :meth:`AOSA.build_tubes` and :func:`saliency_map` with AOSA; only
    the per-mask scores differ (f̂_m = f(x) − S_m, module docstring).

    Args:
        anchor_stride (int): s, grid step of the anchors (paper: 8).
        box_size (int | tuple): h×w of the occluding box (paper: 2s).
        num_cooccurring (int): K, tubes merged into each mask (paper: 3).
        map_form (str): ``'drop'`` (default) or ``'paper'``, as AOSA.
        flow_method (str): ``'farneback'`` (default), ``'dis'``, ``'tvl1'``.
        flow_params (dict, optional): Overrides of the Farneback parameters.
        fill (str): ``'conditional'`` (default: μ, the mean of the
            surrounding patches, :func:`conditional_mean`) or ``'constant'``
            (``fill_value``).
        fill_value (float): Constant fill, in normalised space.
        relu (bool): Keep only elementwise decreases (default True; the
            authors' code has none).
        score (str): f is the softmax probability (``'prob'``, default) or
            the target logit (``'logit'``).
        mask_sum (str): How mask sums S_m and the map step run over the
            masks: ``'auto'`` (from the boxes by inclusion–exclusion up to
            6 members per mask, dense otherwise), ``'boxes'`` or
            ``'dense'`` (masks rendered batch-wise; the map step is then
            literally AOSA's :func:`saliency_map`).
        min_motion (float): As AOSA.
        position_weight (float): As AOSA.
        batch_size (int): Masks made dense at once in the map step.
        seed (int): Unused (deterministic), kept for the common interface.
        amp (bool): Score under CUDA autocast when on a GPU.
    """

    def __init__(self,
                 anchor_stride: int = 8,
                 box_size: Union[int, Sequence[int]] = 16,
                 num_cooccurring: int = 3,
                 map_form: str = 'drop',
                 flow_method: str = 'farneback',
                 flow_params: Optional[dict] = None,
                 fill: str = 'conditional',
                 fill_value: float = 0.0,
                 relu: bool = True,
                 score: str = 'prob',
                 mask_sum: str = 'auto',
                 min_motion: float = 0.5,
                 position_weight: float = 0.01,
                 batch_size: int = 32,
                 seed: int = 0,
                 amp: bool = False):
        super().__init__(
            anchor_stride=anchor_stride,
            box_size=box_size,
            num_cooccurring=num_cooccurring,
            map_form=map_form,
            flow_method=flow_method,
            flow_params=flow_params,
            fill=fill,
            fill_value=fill_value,
            num_samples=1,
            min_motion=min_motion,
            position_weight=position_weight,
            batch_size=batch_size,
            seed=seed,
            amp=amp)
        if mask_sum not in MASK_SUMS:
            raise ValueError(f'mask_sum must be one of {MASK_SUMS}, '
                             f'got {mask_sum!r}')
        self.relu = bool(relu)
        self.score = check_score(score)
        self.mask_sum = mask_sum

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

    def _use_boxes(self, tubes: Tubes) -> bool:
        if self.mask_sum == 'auto':
            return super()._use_boxes(tubes)
        return self.mask_sum == 'boxes'

    def mask_sums(self, contrib: torch.Tensor, tubes: Tubes) -> torch.Tensor:
        """S_m for every mask (N,), float64."""
        if self._use_boxes(tubes):
            return union_box_sums(contrib, tubes)
        return dense_mask_sums(contrib, tubes, self.batch_size)

    def _saliency(self, scorer, x, target, base_score, timings):
        tubes = self.build_tubes(self._frames(scorer, x), x.device, timings)
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
        return sal


__all__ = ['AOSAApprox', 'box_saliency_map', 'dense_mask_sums',
           'summed_area_table', 'union_box_scatter', 'union_box_sums']
