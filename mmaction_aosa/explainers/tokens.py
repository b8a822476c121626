"""Token geometry of mmaction2's TimeSformer: which layout its patch tokens
have, and how they become a B×D×T×gh×gw map (Grad-CAM, attention
rollout)."""
import torch
from torch import nn

from .base import ExplainError


def is_timesformer(backbone: nn.Module) -> bool:
    """Whether ``backbone`` is mmaction2's TimeSformer (patch tokens)."""
    return (hasattr(backbone, 'transformer_layers')
            and hasattr(backbone, 'patch_embed')
            and hasattr(backbone, 'num_frames'))


def token_grid(backbone: nn.Module):
    """(T, gh, gw) of a TimeSformer's patch tokens."""
    pe = backbone.patch_embed
    img = pe.img_size if hasattr(pe, 'img_size') else None
    patch = pe.patch_size if hasattr(pe, 'patch_size') else None
    if img is not None and patch is not None:
        img = (img, img) if isinstance(img, int) else tuple(img)
        patch = (patch, patch) if isinstance(patch, int) else tuple(patch)
        gh, gw = img[0] // patch[0], img[1] // patch[1]
    else:
        gh = gw = int(round(pe.num_patches**0.5))
    if gh * gw != pe.num_patches:
        raise ExplainError('cannot infer the patch grid of this TimeSformer')
    return int(backbone.num_frames), gh, gw


def tokens_to_map(tokens: torch.Tensor, backbone: nn.Module) -> torch.Tensor:
    """TimeSformer tokens → B×D×T×gh×gw, the cls token dropped.

    Divided and joint space-time attention keep ``b (p t) m`` with the cls
    token first; space-only attention keeps ``(b t) p m`` with a cls token
    per frame.
    """
    T, gh, gw = token_grid(backbone)
    P = gh * gw
    if getattr(backbone, 'attention_type', None) == 'space_only':
        bt, n, d = tokens.shape
        if n != P + 1:
            raise ExplainError(f'expected {P + 1} tokens per frame, got {n}')
        t = tokens[:, 1:].reshape(bt // T, T, gh, gw, d)
        return t.permute(0, 4, 1, 2, 3)
    b, n, d = tokens.shape
    if n != P * T + 1:
        raise ExplainError(f'expected {P * T + 1} tokens, got {n}')
    t = tokens[:, 1:].reshape(b, gh, gw, T, d)  # p = (gh gw) outer, t inner
    return t.permute(0, 4, 3, 1, 2)
