"""STEP: spatio-temporal extremal perturbation (Li et al., WACV 2021).

Extremal perturbation (Fong et al., ICCV 2019) extended to video: find the
smooth mask M of a fixed volume fraction a that best *preserves* the target
score when everything outside it is blurred, with a penalty on changes of
the mask between consecutive frames.
"""
import math

import torch
import torch.nn.functional as F

from ..blur import blur_clip
from .. import progress
from ..registry import EXPLAINERS
from .base import BaseExplainer
from .gradients import check_score, target_score


@EXPLAINERS.register_module()
class STEP(BaseExplainer):
    """Spatio-temporal extremal perturbation.

    The mask is a coarse grid of logits θ (T × H/s × W/s, s =
    ``mask_stride``), M = trilinear-upsample(sigmoid(θ)), smooth by
    construction. The preserved clip is x̃ = M ⊙ x + (1 − M) ⊙ blur(x).
    θ minimises, with Adam, for ``num_iterations`` steps:

        −y(x̃) + λ_a · mean((sort↓(M) − r)²) + λ_t · mean((M_{t+1} − M_t)²)

    where r is 1 on the first a·T·H·W entries and 0 after (the rank-based
    area constraint of extremal perturbation: exactly a fraction a of the
    voxels is kept) and the last term is STEP's temporal smoothness. The map
    is the final M (in [0, 1]).

    Args:
        volume_fraction (float): a, the kept fraction of the clip
            (default 0.1).
        num_iterations (int): Optimisation steps (default 100; each is one
            forward and one backward pass).
        learning_rate (float): Adam step on θ (default 0.1).
        area_weight (float): λ_a (default 100).
        smooth_weight (float): λ_t (default 10).
        mask_stride (int): s, pixels per mask parameter (default 8).
        blur_kernel (int): Gaussian kernel of the perturbation (default 11,
            sigma 5: the insertion metric's blur).
        blur_sigma (float): Gaussian sigma (default 5).
        score (str): y is the target logit (``'logit'``, as extremal
            perturbation, default) or probability (``'prob'``).
        amp (bool | str): Mixed precision (:mod:`mmaction_aosa.scoring`).
    """

    def __init__(self,
                 volume_fraction: float = 0.1,
                 num_iterations: int = 100,
                 learning_rate: float = 0.1,
                 area_weight: float = 100.0,
                 smooth_weight: float = 10.0,
                 mask_stride: int = 8,
                 blur_kernel: int = 11,
                 blur_sigma: float = 5.0,
                 score: str = 'logit',
                 amp=False):
        super().__init__(amp=amp)
        if not 0 < volume_fraction < 1:
            raise ValueError(
                f'volume_fraction must be in (0, 1), got {volume_fraction}')
        if num_iterations < 1:
            raise ValueError(
                f'num_iterations must be >= 1, got {num_iterations}')
        if mask_stride < 1:
            raise ValueError(f'mask_stride must be >= 1, got {mask_stride}')
        if blur_kernel < 1 or blur_kernel % 2 == 0 or blur_sigma <= 0:
            raise ValueError('blur_kernel must be odd and >= 1 and '
                             f'blur_sigma > 0, got {blur_kernel}, '
                             f'{blur_sigma}')
        self.volume_fraction = float(volume_fraction)
        self.num_iterations = int(num_iterations)
        self.learning_rate = float(learning_rate)
        self.area_weight = float(area_weight)
        self.smooth_weight = float(smooth_weight)
        self.mask_stride = int(mask_stride)
        self.blur_kernel = int(blur_kernel)
        self.blur_sigma = float(blur_sigma)
        self.score = check_score(score)

    def _saliency(self, scorer, x, target, base_score, timings):
        C, T, H, W = x.shape
        blurred = blur_clip(x, self.blur_kernel, self.blur_sigma)
        grid = (T, max(1, math.ceil(H / self.mask_stride)),
                max(1, math.ceil(W / self.mask_stride)))
        theta = torch.zeros((1, 1) + grid, device=x.device,
                            requires_grad=True)
        n = T * H * W
        keep = int(round(self.volume_fraction * n))
        ref = torch.zeros(n, device=x.device)
        ref[:keep] = 1
        opt = torch.optim.Adam([theta], lr=self.learning_rate)

        def mask_of(t):
            return F.interpolate(
                torch.sigmoid(t), size=(T, H, W), mode='trilinear',
                align_corners=False)[0, 0]

        progress.expect(self.num_iterations)
        with torch.enable_grad():
            for _ in range(self.num_iterations):
                m = mask_of(theta)
                clip = m * x + (1 - m) * blurred
                y = target_score(scorer, clip[None], target, self.score)[0]
                area = ((m.flatten().sort(descending=True).values -
                         ref)**2).mean()
                smooth = ((m[1:] - m[:-1])**2).mean() if T > 1 else 0.0
                loss = (-y + self.area_weight * area +
                        self.smooth_weight * smooth)
                # grad w.r.t. θ only: the model's parameters keep no .grad
                (theta.grad, ) = torch.autograd.grad(loss, theta)
                opt.step()
        timings['iterations'] = self.num_iterations
        with torch.no_grad():
            return mask_of(theta).detach()
