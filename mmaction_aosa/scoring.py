"""f(x): target-class probability of any mmaction2 recognizer, in batches.

Mixed precision (``amp``). On a GPU, float16 autocast. On a CPU, bfloat16
autocast where the processor runs bf16 natively, by oneDNN's own test
(:func:`cpu_bf16_native`, the check torch uses to pick its bf16 kernels:
AVX-512 BW/VL/DQ, AVX-512 BF16 or AMX); elsewhere (an AVX2-only CPU) bf16
is emulated and slower than float32, so ``amp=True`` scores in float32 and
warns once. ``amp='bf16'`` forces bf16 autocast on any device (for
measuring what bf16 costs in faithfulness where the CPU lacks it).
"""
import warnings
from typing import NamedTuple, Optional, Union

import torch
from torch import nn

from . import progress
from .adapters import RecognizerAdapter, get_adapter, unwrap

__all__ = ['Scorer', 'unwrap', 'SCORE_KINDS', 'score_of', 'AMP_MODES',
           'check_amp', 'cpu_bf16_native', 'autocast_dtype']

#: ``amp`` values: off, the device's own mixed precision, bf16 forced.
AMP_MODES = (False, True, 'bf16')


def check_amp(amp) -> Union[bool, str]:
    """``amp`` as one of :data:`AMP_MODES`, or a ValueError."""
    if isinstance(amp, str) and amp.lower() == 'bf16':
        return 'bf16'
    if isinstance(amp, bool) or amp in (0, 1):
        return bool(amp)
    raise ValueError(f'amp must be True, False or "bf16", got {amp!r}')


def cpu_bf16_native() -> bool:
    """Whether this CPU runs bfloat16 natively (oneDNN's check)."""
    try:
        return bool(torch.backends.mkldnn.is_available() and
                    torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch without the op
        return False


_warned_cpu_amp = False


def autocast_dtype(amp, device: torch.device) -> Optional[torch.dtype]:
    """The autocast dtype of ``amp`` on ``device`` (None: float32).

    ``amp=True`` on a CPU without native bf16 gives None and one warning
    per process.
    """
    global _warned_cpu_amp
    amp = check_amp(amp)
    if amp == 'bf16':
        return torch.bfloat16
    if not amp:
        return None
    if device.type == 'cuda':
        return torch.float16
    if device.type == 'cpu':
        if cpu_bf16_native():
            return torch.bfloat16
        if not _warned_cpu_amp:
            _warned_cpu_amp = True
            warnings.warn(
                'amp: this CPU has no native bfloat16 (oneDNN reports no '
                'AVX-512 BF16/AMX support), where bf16 is emulated and '
                'slower; scoring in float32 (amp="bf16" forces bf16)',
                stacklevel=3)
    return None


class CleanPass(NamedTuple):
    """The clean forward pass of :meth:`BaseExplainer.explain_full`.

    Attributes:
        clip (Tensor): The C×T×H×W clip it was computed for.
        leaf (Tensor): 1×C×T×H×W copy of it that requires grad (None when
            the pass kept no graph).
        logits (Tensor): 1×num_classes logits (with their graph if any).
    """
    clip: torch.Tensor
    leaf: Optional[torch.Tensor]
    logits: torch.Tensor

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
        amp (bool | str): Mixed precision (module docstring): False, True
            (float16 on a GPU; bfloat16 on a CPU with native bf16, else
            float32 with a warning) or ``'bf16'`` (forced).
        adapter (RecognizerAdapter, optional): Default: the model's.

    Attributes:
        clean (CleanPass, optional): Set by
            :meth:`~mmaction_aosa.explainers.base.BaseExplainer.explain_full`:
            its forward pass on the clean clip, whose graph a gradient
            method can reuse (:func:`~mmaction_aosa.explainers.gradients.clean_gradient`).
    """

    def __init__(self, recognizer: nn.Module, amp=False,
                 adapter: Optional[RecognizerAdapter] = None):
        self.model = unwrap(recognizer)
        self.model.eval()
        self.amp = check_amp(amp)
        self.adapter = adapter or get_adapter(self.model)
        try:
            self.device = next(self.model.parameters()).device
        except StopIteration:
            self.device = torch.device('cpu')
        self.dtype = autocast_dtype(self.amp, self.device)
        self.clean: Optional[CleanPass] = None

    def logits(self, clips: torch.Tensor) -> torch.Tensor:
        """B×C×T×H×W clips → B×num_classes logits (graph kept if grads on)."""
        x = clips.to(self.device)
        with torch.autocast(self.device.type, dtype=self.dtype,
                            enabled=self.dtype is not None):
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
