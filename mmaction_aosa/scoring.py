"""f(x): target-class probability of any mmaction2 recognizer, in batches."""
from typing import Optional

import torch
from torch import nn

from . import progress
from .adapters import RecognizerAdapter, get_adapter, unwrap

__all__ = ['Scorer', 'unwrap', 'SCORE_KINDS', 'score_of']

#: What a target score is: the softmax probability (the paper's f), the
#: class logit, or the log-odds of the probability, log p − log(1 − p).
SCORE_KINDS = ('prob', 'logit', 'log_odds')


def score_of(logits: torch.Tensor, target: int,
             kind: str = 'prob') -> torch.Tensor:
    """(B,) target score of B×num_classes logits (differentiable).

    ``'log_odds'`` is computed from the logits, z_t − logsumexp_{j≠t} z_j,
    so it stays exact where the probability rounds to 1 in float32 (a
    confident model's drops of 1e-7 in probability are still told apart).
    """
    if kind == 'logit':
        return logits[:, target]
    if kind == 'log_odds':
        if logits.shape[1] < 2:
            raise ValueError('log-odds need a model with at least 2 classes')
        others = torch.cat([logits[:, :target], logits[:, target + 1:]], 1)
        return logits[:, target] - torch.logsumexp(others, dim=1)
    if kind != 'prob':
        raise ValueError(f'score must be one of {SCORE_KINDS}, got {kind!r}')
    return torch.softmax(logits, dim=-1)[:, target]


class Scorer:
    """Batched class scores of an mmaction2 recognizer.

    Inputs are clips in the model's normalised space, B×C×T×H×W; the
    recognizer's adapter (:func:`mmaction_aosa.adapters.get_adapter`) turns
    them into the model's input and its logits (a view axis for
    Recognizer3D, the frames as segments for Recognizer2D).

    Args:
        recognizer (nn.Module): An mmaction2 recognizer (eval mode is set).
        amp (bool): Score under CUDA autocast (float16) when on a GPU.
        adapter (RecognizerAdapter, optional): Default: the model's.
    """

    def __init__(self, recognizer: nn.Module, amp: bool = False,
                 adapter: Optional[RecognizerAdapter] = None):
        self.model = unwrap(recognizer)
        self.model.eval()
        self.amp = amp
        self.adapter = adapter or get_adapter(self.model)
        try:
            self.device = next(self.model.parameters()).device
        except StopIteration:
            self.device = torch.device('cpu')

    def logits(self, clips: torch.Tensor) -> torch.Tensor:
        """B×C×T×H×W clips → B×num_classes logits (graph kept if grads on)."""
        x = clips.to(self.device)
        use_amp = self.amp and x.is_cuda
        with torch.autocast('cuda', enabled=use_amp):
            out = self.adapter.logits(self.model, x)
        progress.advance(len(x))
        return out.float()

    def probs(self, clips: torch.Tensor) -> torch.Tensor:
        """Softmax probabilities, B×num_classes."""
        return torch.softmax(self.logits(clips), dim=-1)

    @torch.no_grad()
    def target_probs(self, clips: torch.Tensor, target: int,
                     batch_size: int = 32) -> torch.Tensor:
        """f for many clips: the target's probability, scored in batches.

        Returns:
            Tensor: (B,) float32 on the CPU.
        """
        out = []
        for i in range(0, len(clips), batch_size):
            out.append(self.probs(clips[i:i + batch_size])[:, target].cpu())
        return torch.cat(out) if out else torch.zeros(0)
