"""Attention rollout (Abnar & Zuidema, 2020) for TimeSformer and
UniFormerV2.

Which modules hold attention and the token grid come from the recognizer
adapter (:meth:`mmaction_aosa.adapters.RecognizerAdapter.attention`).
mmaction2 1.2.0's attention blocks (``DividedTemporalAttentionWithNorm``,
``DividedSpatialAttentionWithNorm`` in ``mmaction/models/common/
transformer.py``, mmcv's ``MultiheadAttention`` for joint and space-only
attention, UniFormerV2's ``ResidualAttentionBlock``) call their
``nn.MultiheadAttention`` and keep only output ``[0]``, discarding the
weights. We capture them without touching the model's code: a forward
*pre*-hook on each inner ``nn.MultiheadAttention`` asks for the per-head
weights (``need_weights=True, average_attn_weights=False``; the attention
output is unchanged) and a forward hook records them. The hooks live only
for the one forward pass of :class:`AttentionRollout`.

Rollout: with Â = ½A + ½I per attention (A fused over heads; ½I for the
residual), the relevance of the input tokens for the cls token is the cls
row of Â_L ⋯ Â_1. Only that row is needed, so it is propagated as a vector
from the last attention to the first, using the block structure of divided
space-time attention (no (1+P·T)² matrix is formed):

* temporal attention: patch (p, t) attends to (p, t') over t' (weights
  P×T×T); the cls token passes through unchanged;
* spatial attention: in frame t, the tokens [cls, patches of t] attend to
  each other (weights T×(P+1)×(P+1)); the cls output is the mean over frames
  of the per-frame cls rows.

Per-frame attention (TimeSformer's space-only attention, UniFormerV2's ViT
blocks) is rolled out frame by frame from the mean of the frames' cls
tokens. For UniFormerV2 that is the path of its per-frame class tokens
into the output; its global blocks' cross-attention and its local
(convolutional) relation aggregators are not rolled out.
"""
from typing import List, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from ..adapters import attention_modules
from ..registry import EXPLAINERS
from .base import BaseExplainer, ExplainError

HEAD_FUSIONS = ('mean', 'max', 'min')


def capture_attention(
        scorer, modules: Union[nn.Module, Sequence[Tuple[str, nn.Module]]],
        clip: torch.Tensor) -> List[Tuple[str, torch.Tensor]]:
    """Run one forward pass and return (kind, per-head weights) per call.

    Args:
        scorer (Scorer): The model.
        modules: ``(kind, nn.MultiheadAttention)`` pairs (an
            :class:`~mmaction_aosa.adapters.AttentionLayout`'s ``modules``),
            or a backbone whose attention modules are looked up.
        clip (Tensor): 1×C×T×H×W.
    """
    if isinstance(modules, nn.Module):
        modules = attention_modules(modules)
    records = []
    handles = []

    def ask_weights(module, args, kwargs):
        kwargs = dict(kwargs, need_weights=True, average_attn_weights=False)
        return args, kwargs

    for kind, module in modules:
        handles.append(
            module.register_forward_pre_hook(ask_weights, with_kwargs=True))
        handles.append(module.register_forward_hook(
            lambda mod, args, out, kind=kind: records.append(
                (kind, out[1].detach()))))
    try:
        with torch.no_grad():
            scorer.logits(clip)
    finally:
        for h in handles:
            h.remove()
    return records


@EXPLAINERS.register_module()
class AttentionRollout(BaseExplainer):
    """Attention rollout of a TimeSformer or UniFormerV2, upsampled to
    T×H×W.

    Class-agnostic (as in Abnar & Zuidema): ``target`` is recorded but does
    not change the map. Supports TimeSformer's divided space-time (its
    default), joint space-time and space-only attention, and UniFormerV2's
    per-frame attention. Models without such attention (CNNs, MViT's
    pooled attention, Swin's windows) raise ExplainError.

    Args:
        head_fusion (str): How heads are fused into A: ``'mean'`` (default,
            the original rollout), ``'max'`` or ``'min'``.
        residual_weight (float): Weight of I in Â = (1 − w)A + wI
            (default 0.5, the original rollout).
        amp (bool | str): Mixed precision (:mod:`mmaction_aosa.scoring`).
    """

    def __init__(self, head_fusion: str = 'mean',
                 residual_weight: float = 0.5, amp=False):
        super().__init__(amp=amp)
        if head_fusion not in HEAD_FUSIONS:
            raise ValueError(f'head_fusion must be one of {HEAD_FUSIONS}, '
                             f'got {head_fusion!r}')
        if not 0 <= residual_weight <= 1:
            raise ValueError('residual_weight must be in [0, 1], got '
                             f'{residual_weight}')
        self.head_fusion = head_fusion
        self.residual_weight = float(residual_weight)

    def _fuse(self, w: torch.Tensor) -> torch.Tensor:
        """N×heads×L×S → N×L×S, rows renormalised, residual mixed in."""
        if w.dim() == 4:
            if self.head_fusion == 'mean':
                w = w.mean(1)
            elif self.head_fusion == 'max':
                w = w.amax(1)
            else:
                w = w.amin(1)
        w = w.double()
        w = w / w.sum(-1, keepdim=True).clamp(min=1e-12)
        eye = torch.eye(w.shape[-1], dtype=w.dtype, device=w.device)
        return (1 - self.residual_weight) * w + self.residual_weight * eye

    def _saliency(self, scorer, x, target, base_score, timings):
        layout = scorer.adapter.attention(scorer.model)
        T, gh, gw = layout.grid
        if x.shape[1] != layout.num_frames:
            raise ExplainError(
                f'this {layout.family} takes {layout.num_frames} frames, '
                f'the clip has {x.shape[1]}')
        P = gh * gw
        records = capture_attention(scorer, layout.modules, x[None])
        if not records:
            raise ExplainError('no attention weights were captured')
        dev = x.device
        per_frame = all(kind == 'frame' for kind, _ in records)
        if per_frame:
            # per-frame tokens [cls, P patches]; output = mean of frame cls
            r = torch.zeros(T, P + 1, dtype=torch.float64, device=dev)
            r[:, 0] = 1.0 / T
            for kind, w in reversed(records):
                a = self._fuse(w)[:T]  # T×(P+1)×(P+1)
                r = torch.einsum('tl,tls->ts', r, a)
            rel = r[:, 1:].reshape(T, gh, gw)
        else:
            # cls relevance r_cls and patch relevance R (P×T), 'b (p t) m'
            r_cls = torch.ones((), dtype=torch.float64, device=dev)
            R = torch.zeros(P, T, dtype=torch.float64, device=dev)
            for kind, w in reversed(records):
                a = self._fuse(w)
                if kind == 'temporal':  # P×T×T; cls unchanged
                    R = torch.einsum('pt,pts->ps', R, a[:P])
                elif kind == 'spatial':  # T×(P+1)×(P+1)
                    v = torch.cat([(r_cls / T).expand(T, 1), R.t()], 1)
                    u = torch.einsum('tl,tls->ts', v, a[:T])
                    r_cls = u[:, 0].sum()
                    R = u[:, 1:].t()
                else:  # joint: 1×n×n over [cls, (p t)]
                    v = torch.cat([r_cls.view(1), R.reshape(-1)])
                    u = v @ a[0]
                    r_cls, R = u[0], u[1:].reshape(P, T)
            rel = R.t().reshape(T, gh, gw)
        timings['num_attentions'] = len(records)
        out = F.interpolate(
            rel[None, None].float(), size=tuple(x.shape[1:]),
            mode='trilinear', align_corners=False)
        return out[0, 0]
