"""Adaptive Occlusion Sensitivity Analysis (Uchiyama et al.).

Occlusion tubes follow optical flow from an anchor grid; tubes whose motion
co-occurs are merged; each merged mask is scored through the network and the
scores make the map (docs/methods.md, "AOSA"). The tubes, the map step and
the rounds live in :class:`~.tube_explainer.TubeExplainer` (shared with
AOSA-approx); this class scores the masks.
"""
from typing import Optional

import torch

from .. import progress
from ..registry import EXPLAINERS
from ..scoring import Scorer, score_of
from ..tubes.masks import Tubes
from .base import check_positive_int
from .conditional import conditional_fill
from .tube_explainer import (DROPS, TUBE_OPTIONS, TubeExplainer,  # noqa: F401
                             check_box_size, check_nonnegative)


@EXPLAINERS.register_module()
class AOSA(TubeExplainer):
    """Adaptive Occlusion Sensitivity Analysis.

    Every integrated mask is scored through the network: N forward passes
    per round (times ``num_samples`` with conditional sampling). The
    authors' implementation (uchiyama33/AOSA, ``OcclusionSensitivityMap3D``
    with ``gen_mask='flow_one'``, ``stack_method='flow_vec_corr'``) is
    ``map_form='sum_drop', drop='prob', rounds=1`` with the default tubes
    and a constant fill of 0 (the preset ``aosa_authors``).

    The defaults (the preset ``aosa``) keep the authors' tubes and change
    the map step: log-odds drops shared out among the tubes by least
    squares (``map_form='tube_lsq', drop='log_odds', ridge=10``) and a
    second round with the evidence occluded (``rounds=2``), at twice the
    forward passes. docs/methods.md ("The default") says why and
    docs/metrics.md gives the measurements.

    Args:
        fill (str): ``'constant'`` (``fill_value`` in normalised space; 0 is
            the dataset mean colour) or ``'conditional'`` (samples from the
            Gaussian of the patches around each box, averaged over
            ``num_samples`` draws).
        num_samples (int): Draws per mask for conditional sampling.
        seed (int): Seed of conditional sampling.
        batch_size (int): Occluded clips per forward pass.
        **kwargs: The tube, map and round arguments of
            :class:`~.tube_explainer.TubeExplainer` (``anchor_stride``,
            ``box_size``, ``num_cooccurring``, ``map_form``, ``drop``,
            ``ridge``, ``rounds``, ``evidence_fraction``, ``fill_value``,
            ``smoothing``, ``tubes``, ``amp``).
    """

    def __init__(self, fill: str = 'constant', num_samples: int = 1,
                 seed: int = 0, batch_size: int = 32, **kwargs):
        super().__init__(fill=fill, batch_size=batch_size, **kwargs)
        self.num_samples = check_positive_int('num_samples', num_samples)
        self.seed = int(seed)

    def occlude(self, x: torch.Tensor, occ: torch.Tensor,
                tubes: Tubes, indices: torch.Tensor,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """B occluded copies of x (C×T×H×W) for B×T×H×W occlusion."""
        if self.fill == 'conditional':
            values = conditional_fill(x, tubes, indices, occ, generator)
            return torch.where(occ[:, None], values, x[None])
        return x[None].masked_fill(occ[:, None], self.fill_value)

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
        progress.expect(tubes.num_masks * draws)
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

    def mask_scores(self, scorer, x, target, tubes, evidence=None,
                    region=None):
        if evidence is None:
            base = self.clean_score(scorer, x, target)
            return base, self.score_masks(scorer, x, tubes, target)
        base = float(self.score_masks(scorer, x, evidence, target)[0])
        return base, self.score_masks(scorer, x, tubes, target, region)
