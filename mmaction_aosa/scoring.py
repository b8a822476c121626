"""f(x): target-class probability of any mmaction2 recognizer, in batches."""
from typing import Optional

import torch
from torch import nn

from .adapters import RecognizerAdapter, get_adapter, unwrap

__all__ = ['Scorer', 'unwrap']


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
