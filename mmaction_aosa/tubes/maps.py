"""Sums over integrated masks, and the map step (docs/methods.md, step 8).

A mask is the union of its K+1 tube boxes in each frame. Two operations on
masks serve AOSA and AOSA-approx:

* :func:`union_box_sums`: Σ of a T×H×W map over each mask's occluded region
  (AOSA-approx's first-order drops). By inclusion–exclusion the union of the
  member boxes is Σ_{∅≠A⊆members} (−1)^{|A|+1} ∩A, and the intersection of
  boxes is a box, read from a summed-area table in O(1): 2^{K+1}−1 look-ups
  per mask and frame (15 for K=3), whatever the box and clip size.
* :func:`union_box_scatter`, its transpose: Σ_i w_i · 1[v ∈ mask i] as a map,
  each intersection box adding ±w_i at four corners of a 2D difference array
  that two cumulative sums per frame turn into the map.

The map step turns per-mask scores f_i (and f(x)) into a T×H×W map, in one
of :data:`MAP_FORMS`:

* ``'mean_drop'``: S(v) = Σ_{i covers v} (f(x) − f_i) / #{i covers v}, and 0
  where no mask covers v (the coverage-normalised drop).
* ``'sum_drop'``: the authors' code, S(v) = (1/N) Σ_i (f_i − f(x)) ·
  keep_i(v) / mean(keep_i), keep_i = 1 outside mask i. Up to a constant this
  is (1/N) Σ_{i covers v} (f(x) − f_i) / mean(keep_i): a sum of drops over
  the masks that cover v, each weighted by 1 / (kept fraction).
* ``'eq2'``: the paper's Eq. 2 read literally, S = (1/N) Σ_i f_i · keep_i
  (RISE-style). On tube masks it is dominated by coverage: voxels that no
  mask covers get the largest value.
* ``'tube_lsq'``: the drop of each mask shared out among the tubes it
  occludes by least squares. With A the N×N membership matrix (A_ij = 1 if
  mask i occludes tube j) and d_i = f(x) − f_i, the tube values are
  g = argmin ‖A g − d‖² + λ‖g‖² = (AᵀA + λI)⁻¹ Aᵀ d (λ = ``ridge``), and
  S(v) = Σ_{j: box_j ∋ v} g_j. A mask joins a tube with K partners chosen
  by co-occurrence, so its drop is a mix of several regions; the least
  squares undo that mix where the masks overlap in different ways. See
  docs/methods.md ("AOSA: the steps and the options at each", step 8)
  for why and docs/metrics.md for the measurements behind it.

:func:`saliency_map` computes any form from the boxes (difference arrays)
while a mask has at most :data:`MAX_BOX_MEMBERS` tubes, and from sparse
voxel lists otherwise; both give the same values to float64 rounding.
"""
import itertools

import torch

from .masks import Tubes

MAP_FORMS = ('mean_drop', 'sum_drop', 'eq2', 'tube_lsq')
#: Old names of the map forms, still accepted: ``'drop'`` is the mean drop;
#: ``'paper'`` was Eq. 2 read literally, which is *not* what the authors'
#: code computes (that is ``'sum_drop'``).
MAP_FORM_ALIASES = {'drop': 'mean_drop', 'paper': 'eq2'}
#: Largest K+1 for which the box algebra (inclusion–exclusion) is used.
MAX_BOX_MEMBERS = 6


def check_map_form(map_form: str) -> str:
    """The canonical name of ``map_form`` (old names accepted)."""
    form = MAP_FORM_ALIASES.get(map_form, map_form)
    if form not in MAP_FORMS:
        raise ValueError(f'map_form must be one of {MAP_FORMS}, '
                         f'got {map_form!r}')
    return form


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


def union_box_sums(values: torch.Tensor, tubes: Tubes) -> torch.Tensor:
    """Σ of a T×H×W map over the occluded region of every integrated mask.

    Exact, by inclusion–exclusion over the K+1 member boxes per frame (see
    the module docstring), each box sum read from a summed-area table.

    Returns:
        Tensor: (N,) float64 sums.
    """
    table = summed_area_table(values.to(torch.float64))
    sign, x0, y0, x1, y1 = _intersections(tubes)
    t = torch.arange(tubes.num_frames, device=x0.device)[None, :, None]
    s = (table[t, y1, x1] - table[t, y0, x1] - table[t, y1, x0] +
         table[t, y0, x0])  # N×T×S
    return (s.sum(1) * sign).sum(1)


def union_box_scatter(weights: torch.Tensor, tubes: Tubes) -> torch.Tensor:
    """Σ_i w_i · 1[v ∈ occluded region of mask i], a T×H×W float64 map.

    The transpose of :func:`union_box_sums`. O(N·2^{K+1}·T + T·H·W).
    """
    T, H, W = tubes.num_frames, tubes.height, tubes.width
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


def dense_mask_sums(values: torch.Tensor, tubes: Tubes,
                    batch_size: int = 32) -> torch.Tensor:
    """Same as :func:`union_box_sums` with masks made dense batch-wise."""
    flat = values.to(torch.float64).reshape(-1)
    out = torch.zeros(tubes.num_masks, dtype=torch.float64,
                      device=values.device)
    for idx, occ in tubes.batches(batch_size):
        out[idx.to(out.device)] = occ.reshape(len(idx), -1).to(
            torch.float64) @ flat
    return out


def sparse_scatter(weights: torch.Tensor, tubes: Tubes,
                   step: int = 64) -> torch.Tensor:
    """:func:`union_box_scatter` from sparse voxel lists (any K)."""
    dev = tubes.boxes.device
    weights = weights.to(dev, torch.float64)
    out = torch.zeros(tubes.num_voxels, dtype=torch.float64, device=dev)
    for i in range(0, tubes.num_masks, step):
        idx = torch.arange(i, min(i + step, tubes.num_masks), device=dev)
        which, voxel = tubes.occluded_voxels(idx)
        out.index_add_(0, voxel, weights[idx][which])
    return out.view(tubes.num_frames, tubes.height, tubes.width)


def use_box_algebra(tubes: Tubes) -> bool:
    """Whether the masks are small enough unions for the box algebra."""
    return tubes.groups.shape[1] <= MAX_BOX_MEMBERS


def membership(tubes: Tubes) -> torch.Tensor:
    """N×N float64 A: A_ij = 1 if mask i occludes tube j."""
    n = tubes.num_masks
    groups = tubes.groups.long()
    A = torch.zeros(n, n, dtype=torch.float64, device=groups.device)
    rows = torch.arange(n, device=groups.device)[:, None].expand_as(groups)
    A[rows, groups] = 1.0  # a tube listed twice still counts once
    return A


def tube_values(tubes: Tubes, drops: torch.Tensor,
                ridge: float = 1.0) -> torch.Tensor:
    """g = (AᵀA + λI)⁻¹ Aᵀ d: each mask's drop shared out among its tubes.

    Args:
        tubes (Tubes): The integrated masks (N masks over N tubes).
        drops (Tensor): (N,) d_i = f(x) − f_i.
        ridge (float): λ > 0; keeps the system well posed where tubes are
            always occluded together.

    Returns:
        Tensor: (N,) float64 value of each tube.
    """
    A = membership(tubes)
    eye = torch.eye(len(A), dtype=A.dtype, device=A.device)
    return torch.linalg.solve(A.T @ A + float(ridge) * eye,
                              A.T @ drops.to(A.device, A.dtype))


def single_tubes(tubes: Tubes) -> Tubes:
    """The tubes on their own (each mask occludes its anchor's tube)."""
    return Tubes(tubes.boxes, tubes.groups[:, :1], tubes.height,
                 tubes.width)


def evidence_tubes(tubes: Tubes, drops: torch.Tensor, fraction: float,
                   ridge: float = 1.0) -> torch.Tensor:
    """The tubes that hold the evidence: value ≥ ``fraction`` × the largest.

    A tube's value is its share of the drops (:func:`tube_values`); with
    K = 0 each mask is one tube and the value is the drop itself (scaled).

    Args:
        tubes (Tubes): The integrated masks.
        drops (Tensor): (N,) d_i = f(x) − f_i of the first round.
        fraction (float): In (0, 1].
        ridge (float): λ of :func:`tube_values`.

    Returns:
        Tensor: int64 indices of the evidence tubes; empty when no tube has
        a positive value (nothing to remove: the clip has no evidence the
        masks can find).
    """
    g = tube_values(tubes, drops, ridge)
    top = g.max()
    if not bool(top > 0):
        return torch.zeros(0, dtype=torch.long, device=g.device)
    return torch.nonzero(g >= fraction * top).flatten()


def tubes_region(tubes: Tubes, members: torch.Tensor) -> torch.Tensor:
    """T×H×W bool: the union of the boxes of the tubes ``members``."""
    if len(members) == 0:
        return torch.zeros(tubes.num_frames, tubes.height, tubes.width,
                           dtype=torch.bool, device=tubes.boxes.device)
    one = Tubes(tubes.boxes, members.to(tubes.boxes.device)[None],
                tubes.height, tubes.width)
    return one.render(torch.zeros(1, dtype=torch.long,
                                  device=tubes.boxes.device))[0]


def evidence_first(first: torch.Tensor, second: torch.Tensor,
                   region: torch.Tensor) -> torch.Tensor:
    """Join the maps of two rounds: the evidence region above the rest.

    Inside ``region`` the first round's values, lifted so that the least of
    them lies above the second round's largest value (their order kept);
    outside it the second round's values (drops measured with the region
    occluded).

    Returns:
        Tensor: T×H×W float32.
    """
    out = second.double().clone()
    if bool(region.any()):
        inside = first.double()[region]
        span = float(inside.max() - inside.min())
        scaled = (inside - inside.min()) / (span if span > 0 else 1.0)
        out[region] = float(out.max()) + 1.0 + scaled
    return out.float()


def saliency_map(tubes: Tubes, scores: torch.Tensor, base_score: float,
                 map_form: str = 'mean_drop',
                 boxes: bool = None, ridge: float = 1.0) -> torch.Tensor:
    """Turn per-mask scores f_i into a T×H×W map (the map step).

    Args:
        tubes (Tubes): The integrated masks.
        scores (Tensor): (N,) f_i of each occluded clip (or an estimate).
        base_score (float): f(x) of the clean clip.
        map_form (str): One of :data:`MAP_FORMS` (module docstring).
        boxes (bool, optional): Scatter through the box algebra (True) or
            sparse voxel lists (False); default :func:`use_box_algebra`.
        ridge (float): λ of ``'tube_lsq'`` (:func:`tube_values`).

    Returns:
        Tensor: T×H×W float32.
    """
    form = check_map_form(map_form)
    if boxes is None:
        boxes = use_box_algebra(tubes)

    def scatter(w):
        return (union_box_scatter(w, tubes) if boxes else
                sparse_scatter(w, tubes))

    scores = scores.to(tubes.boxes.device, torch.float64)
    n = tubes.num_masks
    if form == 'tube_lsq':
        g = tube_values(tubes, base_score - scores, ridge)
        return union_box_scatter(g, single_tubes(tubes)).float()
    if form == 'eq2':
        # (1/N) Σ f_i (1 − occ_i)
        return ((scores.sum() - scatter(scores)) / n).float()
    if form == 'sum_drop':
        # (1/N) Σ_i w_i (1 − occ_i), w_i = (f_i − f(x)) / kept fraction;
        # a mask that occludes everything keeps nothing and adds nothing
        ones = torch.ones_like(scores)
        covered = (union_box_sums(ones.new_ones(
            tubes.num_frames, tubes.height, tubes.width), tubes) if boxes
            else dense_mask_sums(ones.new_ones(
                tubes.num_frames, tubes.height, tubes.width), tubes))
        kept = 1.0 - covered.round() / tubes.num_voxels
        w = torch.where(kept > 0, (scores - base_score) / kept.clamp(
            min=1e-300), torch.zeros_like(scores))
        return ((w.sum() - scatter(w)) / n).float()
    weighted = scatter(base_score - scores)
    count = scatter(torch.ones_like(scores)).round()
    out = torch.where(count > 0, weighted / count.clamp(min=1),
                      torch.zeros_like(weighted))
    return out.float()
