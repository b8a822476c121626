"""The one verb every explainer answers: ``explain(recognizer, inputs)``."""
import inspect
import time
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

from ..adapters import get_adapter
from ..errors import ExplainError
from ..scoring import CleanPass, Scorer, check_amp

__all__ = ['BaseExplainer', 'Explanation', 'ExplainError', 'denormalize',
           'check_positive_int', 'check_choice']


@dataclass
class Explanation:
    """A saliency map and what it was computed for.

    Attributes:
        saliency (Tensor): T×H×W float32 on the CPU, at model input size.
        target (int): Explained class index.
        score (float): f(x), softmax probability of ``target`` on the clip.
        seconds (float): Wall time of :meth:`BaseExplainer.explain_full`.
        timings (dict): Seconds per stage (method-specific).
        probs (Tensor): Class probabilities of the clean clip.
    """
    saliency: torch.Tensor
    target: int
    score: float
    seconds: float
    timings: dict = field(default_factory=dict)
    probs: Optional[torch.Tensor] = None


def denormalize(recognizer: nn.Module, inputs: torch.Tensor) -> np.ndarray:
    """Invert the data_preprocessor's normalisation of one C×T×H×W clip
    (the recognizer's adapter knows how).

    Returns:
        np.ndarray: T×H×W×C float32 frames in 0..255 (channel order as the
        model sees it; RGB for mmaction2's standard pipelines).
    """
    return get_adapter(recognizer).denormalize(recognizer, inputs)


def check_positive_int(name: str, value, minimum: int = 1) -> int:
    """``value`` as an int, or a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < minimum:
        raise ValueError(f'{name} must be an int >= {minimum}, got {value!r}')
    return int(value)


def check_choice(name: str, value, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, else a ValueError."""
    if value not in choices:
        raise ValueError(f'{name} must be one of {tuple(choices)}, '
                         f'got {value!r}')
    return value


class BaseExplainer:
    """Base of all saliency methods.

    Subclasses implement :meth:`_saliency`; the base resolves the target,
    checks inputs and scores, times the call and records parameters.
    Methods that score many clips take a ``batch_size``, methods with random
    draws a ``seed``.

    Args:
        amp (bool | str): Mixed precision of the scoring: False, True
            (float16 on a GPU, bfloat16 on a CPU that runs it natively) or
            ``'bf16'`` (:mod:`mmaction_aosa.scoring`).
    """

    #: Whether the clean forward pass of :meth:`explain_full` keeps its
    #: autograd graph (on ``scorer.clean``) so that :meth:`_saliency` can
    #: take ∂f/∂x at the clip with one backward pass and no second forward.
    clean_graph = False

    def __init__(self, amp=False):
        self.amp = check_amp(amp)

    @property
    def name(self) -> str:
        return type(self).__name__

    def params(self) -> dict:
        """Constructor arguments, for the outputs' metadata."""
        out = {}
        for cls in type(self).__mro__:
            if cls is object:
                continue
            for p in inspect.signature(cls.__init__).parameters:
                if p in ('self', 'args', 'kwargs') or p in out:
                    continue
                if hasattr(self, p):
                    out[p] = getattr(self, p)
        return out

    def explain(self, recognizer: nn.Module, inputs: torch.Tensor,
                target: Optional[int] = None) -> torch.Tensor:
        """Saliency of one clip.

        Args:
            recognizer (nn.Module): An mmaction2 recognizer.
            inputs (Tensor): One clip C×T×H×W in the model's normalised space
                (after the data_preprocessor).
            target (int, optional): Class to explain; default the model's
                top-1 on the clean clip.

        Returns:
            Tensor: T×H×W float32 map (higher = more important).
        """
        return self.explain_full(recognizer, inputs, target).saliency

    def explain_full(self, recognizer: nn.Module, inputs: torch.Tensor,
                     target: Optional[int] = None) -> Explanation:
        """Like :meth:`explain`, with the target, f(x) and timings."""
        start = time.perf_counter()
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 4:
            shape = getattr(inputs, 'shape', type(inputs).__name__)
            raise ExplainError(
                f'{self.name}.explain expects one clip C×T×H×W, got {shape}')
        if inputs.shape[1] < 2:
            raise ExplainError(
                f'{self.name} needs at least 2 frames, got {inputs.shape[1]}')
        scorer = Scorer(recognizer, amp=self.amp)
        x = inputs.detach().float().to(scorer.device)
        if self.clean_graph:
            with torch.enable_grad():
                leaf = x[None].clone().requires_grad_(True)
                logits = scorer.logits(leaf)
            scorer.clean = CleanPass(x, leaf, logits)
        else:
            with torch.no_grad():
                logits = scorer.logits(x[None])
            scorer.clean = CleanPass(x, None, logits)
        probs = torch.softmax(logits.detach(), dim=-1)[0]
        if not torch.isfinite(probs).all():
            raise ExplainError('the model produced non-finite (NaN/inf) '
                               'scores for this clip')
        num_classes = probs.numel()
        if target is None:
            target = int(probs.argmax())
        target = int(target)
        if not 0 <= target < num_classes:
            raise ExplainError(f'target class {target} is out of range for a '
                               f'model with {num_classes} classes')
        timings = {'forward': time.perf_counter() - start}
        try:
            sal = self._saliency(scorer, x, target, float(probs[target]),
                                 timings)
        finally:
            scorer.clean = None  # frees the graph
        sal = sal.detach().float().cpu()
        if sal.shape != inputs.shape[1:]:
            raise RuntimeError(f'{self.name} returned a map of shape '
                               f'{tuple(sal.shape)}, expected '
                               f'{tuple(inputs.shape[1:])}')
        if not torch.isfinite(sal).all():
            raise ExplainError(f'{self.name} produced a non-finite map')
        return Explanation(sal, target, float(probs[target]),
                           time.perf_counter() - start, timings,
                           probs.detach().cpu())

    def _saliency(self, scorer: Scorer, x: torch.Tensor, target: int,
                  base_score: float, timings: dict) -> torch.Tensor:
        raise NotImplementedError
