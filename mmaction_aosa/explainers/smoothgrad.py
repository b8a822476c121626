"""SmoothGrad (Smilkov et al., 2017) for video recognizers."""
import torch

from .. import progress
from ..registry import EXPLAINERS
from .base import BaseExplainer, check_positive_int
from .gradients import check_score, input_gradient

@EXPLAINERS.register_module()
class SmoothGrad(BaseExplainer):
    """SmoothGrad: mean of |∂f/∂x| over noisy copies of the clip.

    S(v) = (1/n) Σ_k Σ_c |∂f/∂x_{c,v}(x + ε_k)|, ε_k ~ N(0, σ²),
    σ = ``noise_level`` · (max x − min x) (Smilkov et al., 2017: 10–20% of
    the input range works best, and the map settles around n = 50).

    Args:
        num_samples (int): n, noisy copies (default 50, the paper's value).
        noise_level (float): σ relative to the clip's value range
            (default 0.15).
        score (str): Differentiate the softmax probability (``'prob'``, the
            paper's f, default) or the logit (``'logit'``).
        batch_size (int): Noisy copies per forward/backward pass.
        seed (int): Seed of the noise.
        amp (bool | str): Mixed precision (:mod:`mmaction_aosa.scoring`).
    """

    def __init__(self, num_samples: int = 50, noise_level: float = 0.15,
                 score: str = 'prob', batch_size: int = 8, seed: int = 0,
                 amp=False):
        super().__init__(amp=amp)
        self.batch_size = check_positive_int('batch_size', batch_size)
        self.seed = int(seed)
        if num_samples < 1:
            raise ValueError(f'num_samples must be >= 1, got {num_samples}')
        if noise_level < 0:
            raise ValueError(f'noise_level must be >= 0, got {noise_level}')
        self.num_samples = int(num_samples)
        self.noise_level = float(noise_level)
        self.score = check_score(score)

    def _saliency(self, scorer, x, target, base_score, timings):
        gen = torch.Generator(device='cpu').manual_seed(self.seed)
        sigma = self.noise_level * float(x.max() - x.min())
        total = torch.zeros(x.shape[1:], dtype=torch.float64,
                            device=x.device)
        done = 0
        progress.expect(self.num_samples)
        while done < self.num_samples:
            b = min(self.batch_size, self.num_samples - done)
            noise = torch.randn((b, ) + tuple(x.shape), generator=gen)
            clips = x[None] + sigma * noise.to(x.device, x.dtype)
            _, grad = input_gradient(scorer, clips, target, self.score)
            total += grad.abs().sum(1).sum(0).double()
            done += b
        return (total / self.num_samples).float()
