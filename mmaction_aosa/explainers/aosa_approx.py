"""AOSA-approx: AOSA's tubes and map, the mask scores from input gradients.

AOSA scores every integrated mask through the network (N forward passes per
round). AOSA-approx estimates the scores from a few forward+backward passes,
whatever N. For a clip z (x, or in round 2 x with the evidence at its fill)
and the fill φ, the drop of occluding a region M is, exactly,

    f(z) − f(z with M at φ) = Σ_{v ∈ M} (z_v − φ_v) · ∫₀¹ ∂f/∂z_v dα

with the gradient taken along the way from z to z-with-M-filled. Each mask
has its own way, so the estimate replaces the integral by a per-voxel mean
gradient Ĵ_v shared by all masks:

    c_v = (z_v − φ_v) Ĵ_v  (summed over channels),   S_m = Σ_{v ∈ occ(m)} c_v,

and f̂_m = f(z) − S_m goes through AOSA's map step. ``path`` says where Ĵ
is read (docs/methods.md, "AOSA-approx"):

* ``'point'``: Ĵ = ∂f/∂z at z itself, the paper's first order (one
  gradient). A saturated model has a flat f around z, so masks that carry
  the evidence can get estimates near 0.
* ``'straight'``: the mean gradient at ``path_points`` points of the
  straight path from z to φ (all voxels faded together), α_j = j/k: the
  integrated gradient of the whole clip. It sees saturation, but every
  voxel fades with the rest of the clip, context included, and a blank
  clip can still hold the class.
* ``'cells'``: each frame is cut into ``grid``×``grid`` cells coloured
  like a checkerboard; at one point the cells of one colour are faded 2/3
  of the way to φ, at the other point those of the other colour: every
  voxel's gradient is read once at z and once with its own cell (and every
  cell of its colour) two-thirds gone, while the other half of the frame
  keeps its context. The two-point Gauss–Radau rule on [0, 1] with the
  left end fixed (nodes 0 and 2/3, weights 1/4 and 3/4) then gives
  Ĵ = ¼ ∂f/∂z + ¾ ∂f/∂z^(colour of v).

* ``'midpoint'``: Ĵ = ∂f/∂z at z + ½(φ − z), the whole clip half faded:
  the one-point midpoint rule of the straight path, exact where each
  voxel's effect is quadratic along it: the cheapest path that still sees
  saturation. f(z) is not needed for S_m; round 1 takes it from the clean
  pass, round 2 takes f at the path point in its place, since every map
  form but ``'eq2'`` uses only f(z) − f̂_m = S_m (``'eq2'`` pays a forward
  pass of z).

``round2_path`` lets round 2 take another path than round 1 (by default the
same). ``sign_check=K`` spends two forward passes on a check of round 1:
the clip with the union of the K masks estimated to lower f the most at
its fill, and the clip with the union of the K estimated to lower it the
least (or to raise it). Where the second lowers f more than the first, the
first-order estimates point the wrong way around (a saturated model can
give a gradient that does), and round 1 takes −S_m.

Sign. S_m ≥ 0 is the estimated *decrease* of f when m is occluded. With
``relu=True`` c_v = ReLU(−Ĵ_v(φ_v − z_v)) per element (the paper's ReLU,
with the sign that keeps decreases; its Eq. 8 writes the opposite sign):
it makes the map follow the contrast between clip and fill, whatever the
model (docs/metrics.md, sanity check), so it is off by default. v runs over
the elements of z (channels included); channels are summed after the ReLU.

Cost: the gradient at x reuses the graph of the clean forward pass that
:meth:`~.base.BaseExplainer.explain_full` makes (one backward pass); each
further point is one forward+backward, batched. The preset
``aosa_approx``: round 1 one backward (the clean pass's) and two
forward+backward clips, the sign check two forward passes, round 2 one
forward+backward ('midpoint'). c_v is computed once per
round and S_m read for every mask from a summed-area table by
inclusion–exclusion (:func:`~mmaction_aosa.tubes.maps.union_box_sums`), for
K+1 > 6 members from dense masks rendered batch-wise.
"""
from typing import List, Optional, Tuple

import torch

from .. import progress
from ..registry import EXPLAINERS
from ..scoring import score_of
from ..tubes.maps import dense_mask_sums, union_box_sums, use_box_algebra
from ..tubes.masks import Tubes
from .base import check_choice, check_positive_int
from .conditional import MARGIN, box_size_of, conditional_mean
from .gradients import SCORES, clean_gradient, input_gradient
from .tube_explainer import TubeExplainer

__all__ = ['AOSAApprox', 'PATHS', 'checkerboard']

#: Where the mean gradient of each voxel is read (module docstring).
PATHS = ('point', 'straight', 'cells', 'midpoint')
#: 'cells': two-point Gauss–Radau rule on [0, 1] with the left end fixed.
CELL_ALPHA, CELL_WEIGHT = 2.0 / 3.0, 0.75


def checkerboard(height: int, width: int, grid: int,
                 device=None) -> torch.Tensor:
    """H×W bool: the cells of one colour of a ``grid``×``grid``
    checkerboard (cell (0, 0) True); cell edges at round(k·H/grid)."""
    rows = torch.arange(height, device=device) * grid // height
    cols = torch.arange(width, device=device) * grid // width
    return (rows[:, None] + cols[None, :]) % 2 == 0


@EXPLAINERS.register_module()
class AOSAApprox(TubeExplainer):
    """AOSA-approx: AOSA's tubes, map and rounds; scores from gradients.

    Shares tubes, map step and rounds with :class:`~.AOSA`
    (:class:`~.tube_explainer.TubeExplainer`); only the per-mask scores
    differ: f̂_m = f(z) − S_m (module docstring). With a constant fill, a
    model whose f is linear in x gets AOSA's map exactly, whatever the path.

    Args:
        path (str): ``'cells'`` (default), ``'straight'``, ``'midpoint'``
            or ``'point'`` (the paper's one gradient): where the mean
            gradient is read, module docstring.
        round2_path (str, optional): Round 2's path; default ``path``.
        path_points (int): ``'straight'``: points on the path, the clip
            itself included (forward+backward passes per round).
        grid (int): ``'cells'``: cells per side of the checkerboard.
        fill (str): ``'constant'`` (default, AOSA's ``fill_value``) or
            ``'conditional'`` (μ, the mean of the surrounding patches, the
            expectation of AOSA's conditional sampling).
        relu (bool): Keep only elementwise decreases (the paper's ReLU).
        sign_check (int): K > 0: check round 1's estimates against two
            forward passes, the K masks estimated highest and the K lowest
            each occluded together (module docstring); 0: no check.
        score (str, optional): What f is, differentiated and estimated:
            ``'prob'``, ``'logit'`` or ``'log_odds'``; default the units of
            ``drop``.
        batch_size (int): Path points per forward+backward pass (and masks
            made dense at once when a mask has more than 6 tubes).
        **kwargs: The tube, map and round arguments of
            :class:`~.tube_explainer.TubeExplainer`.
    """

    clean_graph = True

    def __init__(self, path: str = 'cells', path_points: int = 3,
                 grid: int = 4, fill: str = 'constant', relu: bool = False,
                 score=None, batch_size: int = 32,
                 round2_path: Optional[str] = None, sign_check: int = 0,
                 **kwargs):
        super().__init__(fill=fill, batch_size=batch_size, **kwargs)
        self.path = check_choice('path', path, PATHS)
        self.round2_path = check_choice('round2_path', round2_path or path,
                                        PATHS)
        self.sign_check = check_positive_int('sign_check', sign_check, 0)
        self.path_points = check_positive_int('path_points', path_points)
        self.grid = check_positive_int('grid', grid, 2)
        self.relu = bool(relu)
        self.score = check_choice('score', score or self.drop, SCORES)

    # -- the estimate ---------------------------------------------------
    def fill_values(self, x: torch.Tensor, tubes: Tubes) -> torch.Tensor:
        """φ: the value each occluded voxel takes (in expectation)."""
        if self.fill == 'conditional':
            return conditional_mean(x, box_size_of(tubes.boxes), MARGIN)
        return torch.full_like(x, self.fill_value)

    def path_clips(self, z: torch.Tensor, phi: torch.Tensor,
                   path: Optional[str] = None
                   ) -> Tuple[List[torch.Tensor], list]:
        """The points after z itself, and each one's weight (a number or a
        T×H×W-broadcastable map); z's own weight is 1 − their sum."""
        path = path or self.path
        if path == 'point':
            return [], []
        if path == 'midpoint':
            return [z + 0.5 * (phi - z)], [1.0]
        if path == 'straight':
            k = self.path_points
            return ([z + (j / k) * (phi - z) for j in range(1, k)],
                    [1.0 / k] * (k - 1))
        cells = checkerboard(z.shape[-2], z.shape[-1], self.grid, z.device)
        faded = z + CELL_ALPHA * (phi - z)
        clips, weights = [], []
        for colour in (cells, ~cells):
            clips.append(torch.where(colour, faded, z))
            weights.append(CELL_WEIGHT * colour.to(z.dtype))
        return clips, weights

    def mean_gradient(self, scorer, z: torch.Tensor, phi: torch.Tensor,
                      target: int, path: Optional[str] = None
                      ) -> Tuple[float, torch.Tensor]:
        """f(z) and Ĵ, the weighted mean gradient (C×T×H×W), on ``path``
        (default :attr:`path`)."""
        path = path or self.path
        clips, weights = self.path_clips(z, phi, path)
        clean = scorer.clean is not None and scorer.clean.clip is z
        if path == 'midpoint':  # z's weight is 0: f(z) without a gradient
            progress.expect(1)
            f_mid, g = input_gradient(scorer, clips[0][None], target,
                                      self.score)
            if clean:  # the clean pass's graph is not needed: free it
                scorer.clean = scorer.clean._replace(
                    leaf=None, logits=scorer.clean.logits.detach())
            elif self.map_form != 'eq2':
                # the map step takes only f(z) − f̂_m = S_m: f(z) is an
                # offset it never sees, and f at the path point stands in
                # for it (no forward pass of z)
                return float(f_mid[0]), g[0]
            else:
                progress.expect(1)
            return self.clean_score(scorer, z, target, self.score), g[0]
        if clean:  # ∂f/∂x from the clean pass's graph: a backward only
            f0, g0 = clean_gradient(scorer, z, target, self.score)
            f0, g0 = float(f0[0]), g0[0]
        else:
            clips = [z] + clips
        progress.expect(len(clips))
        grads = []
        for i in range(0, len(clips), self.batch_size):
            f, g = input_gradient(scorer, torch.stack(
                clips[i:i + self.batch_size]), target, self.score)
            if not grads and not clean:
                f0 = float(f[0])
            grads.extend(g)
        if not clean:
            g0, grads = grads[0], grads[1:]
        mean = g0.clone()
        for g, w in zip(grads, weights):
            mean += (g - g0) * w  # z keeps the share the others leave
        return f0, mean

    def contributions(self, grad: torch.Tensor, z: torch.Tensor,
                      phi: torch.Tensor) -> torch.Tensor:
        """c_v = [ReLU](−Ĵ_v (φ_v − z_v)), summed over channels: T×H×W."""
        c = -grad.double() * (phi.double() - z.double())
        if self.relu:
            c = c.clamp(min=0)
        return c.sum(0)

    def mask_sums(self, contrib: torch.Tensor, tubes: Tubes) -> torch.Tensor:
        """S_m for every mask (N,), float64."""
        if use_box_algebra(tubes):
            return union_box_sums(contrib, tubes)
        return dense_mask_sums(contrib, tubes, self.batch_size)

    def mask_scores(self, scorer, x, target, tubes, evidence=None,
                    region=None):
        phi = self.fill_values(x, tubes)
        # round 2: the evidence at its fill (its own voxels then add
        # nothing: there z already equals φ)
        z = x if region is None else torch.where(region[None], phi, x)
        path = self.path if region is None else self.round2_path
        base, grad = self.mean_gradient(scorer, z, phi, target, path)
        drops = self.mask_sums(self.contributions(grad, z, phi), tubes)
        if region is None and self.sign_check:
            drops = self.checked_sign(scorer, x, phi, target, tubes, drops)
        return base, base - drops

    def checked_sign(self, scorer, x: torch.Tensor, phi: torch.Tensor,
                     target: int, tubes: Tubes,
                     drops: torch.Tensor) -> torch.Tensor:
        """S_m, or −S_m where the K masks estimated to lower f the least
        lower it more, occluded together, than the K estimated to lower
        it the most (two forward passes; module docstring)."""
        k = min(self.sign_check, tubes.num_masks // 2)
        if k == 0:
            return drops
        order = torch.argsort(drops, descending=True, stable=True)
        occ = torch.stack([
            tubes.render(order[:k].to(tubes.boxes.device)).any(0),
            tubes.render(order[-k:].to(tubes.boxes.device)).any(0)])
        clips = torch.where(occ[:, None], phi[None], x[None])
        progress.expect(2)
        with torch.no_grad():
            f_top, f_bottom = score_of(scorer.logits(clips), target,
                                       self.score).double().tolist()
        return -drops if f_bottom < f_top else drops
