"""What the plugin knows about mmaction2's backbones.

Everything here is read by the recognizer adapters (``base.py``) and by
nothing else: which family a backbone is, how its tokens become a
B×D×T×h×w map, which modules hold its attention, and how it splits into
stages for the cascading randomisation. A backbone is recognised by its
class (or a base class) name, so subclasses keep their parent's layout.

Token layouts (mmaction2 1.2.0):

* TimeSformer (``timesformer.py``): ``b (p t) d`` with one cls token
  first (divided and joint space-time attention) or ``(b t) p d`` with a
  cls token per frame (space-only);
* MViT (``mvit.py``): ``b (t h w) d`` after one cls token, the grid
  ``(t, h, w)`` travelling with the tokens as each block's second
  argument and second output;
* UniFormerV2 (``uniformerv2.py``): sequence-first ``(1 + h w) (b t) d``
  with a cls token per frame, ``T`` in ``transformer.T``.
"""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import nn

from ..errors import ExplainError


def class_names(module: nn.Module) -> set:
    """Names of the module's class and of all its base classes."""
    return {c.__name__ for c in type(module).__mro__}


def is_slowfast(backbone: nn.Module) -> bool:
    return hasattr(backbone, 'slow_path') and hasattr(backbone, 'fast_path')


def is_timesformer(backbone: nn.Module) -> bool:
    """Whether ``backbone`` is mmaction2's TimeSformer (patch tokens)."""
    return 'TimeSformer' in class_names(backbone) or (
        hasattr(backbone, 'transformer_layers')
        and hasattr(backbone, 'patch_embed')
        and hasattr(backbone, 'num_frames'))


def is_mvit(backbone: nn.Module) -> bool:
    return 'MViT' in class_names(backbone)


def is_uniformerv2(backbone: nn.Module) -> bool:
    return 'UniFormerV2' in class_names(backbone)


def is_swin(backbone: nn.Module) -> bool:
    return 'SwinTransformer3D' in class_names(backbone)


def family(backbone: Optional[nn.Module]) -> str:
    """A short name of the backbone's layout, for messages and dispatch."""
    if backbone is None:
        return 'none'
    for name, test in (('slowfast', is_slowfast),
                       ('timesformer', is_timesformer), ('mvit', is_mvit),
                       ('uniformerv2', is_uniformerv2), ('swin', is_swin)):
        if test(backbone):
            return name
    return 'cnn'


# -- token geometry ------------------------------------------------------
def timesformer_grid(backbone: nn.Module) -> Tuple[int, int, int]:
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


def timesformer_tokens_to_map(tokens: torch.Tensor,
                              backbone: nn.Module) -> torch.Tensor:
    """TimeSformer tokens → B×D×T×gh×gw, the cls token dropped."""
    T, gh, gw = timesformer_grid(backbone)
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


def uniformerv2_frames(backbone: nn.Module) -> int:
    """Token frames of a UniFormerV2 (half the input with temporal
    downsampling)."""
    return int(backbone.transformer.T)


def uniformerv2_grid(backbone: nn.Module) -> Tuple[int, int, int]:
    """(T, gh, gw) of a UniFormerV2's patch tokens."""
    patch = backbone.conv1.kernel_size[-1]
    g = int(backbone.input_resolution) // int(patch)
    return uniformerv2_frames(backbone), g, g


def uniformerv2_tokens_to_map(tokens: torch.Tensor,
                              backbone: nn.Module) -> torch.Tensor:
    """UniFormerV2 tokens ``(1 + h w) (b t) d`` → B×D×T×h×w."""
    T = uniformerv2_frames(backbone)
    L, bt, d = tokens.shape
    g = int(round((L - 1)**0.5))
    if g * g != L - 1 or bt % T:
        raise ExplainError(
            f'UniFormerV2 tokens {tuple(tokens.shape)} do not fit '
            f'(1 + h·w) × (B·{T}) × D')
    t = tokens[1:].reshape(g, g, bt // T, T, d)
    return t.permute(2, 4, 3, 0, 1)


def is_grid(value) -> bool:
    """A (t, h, w) token grid as MViT passes it between blocks."""
    if isinstance(value, torch.Size):
        value = tuple(value)
    return (isinstance(value, (tuple, list)) and len(value) == 3
            and all(isinstance(v, int) for v in value))


def grid_tokens_to_map(tokens: torch.Tensor,
                       grid: Sequence[int]) -> torch.Tensor:
    """``b (t h w) d`` tokens (after any extra tokens, e.g. MViT's cls
    token) with their grid → B×D×T×h×w."""
    T, h, w = (int(v) for v in grid)
    b, n, d = tokens.shape
    extra = n - T * h * w
    if extra < 0 or extra > 1:
        raise ExplainError(f'{n} tokens do not fit the grid {T}×{h}×{w}')
    t = tokens[:, extra:].reshape(b, T, h, w, d)
    return t.permute(0, 4, 1, 2, 3)


def tokens_to_map(tokens: torch.Tensor,
                  backbone: Optional[nn.Module]) -> Optional[torch.Tensor]:
    """B×D×T×h×w from the 3-D tokens of a known transformer backbone, or
    None when the backbone's token layout is not known."""
    if backbone is None:
        return None
    if is_timesformer(backbone):
        return timesformer_tokens_to_map(tokens, backbone)
    if is_uniformerv2(backbone):
        return uniformerv2_tokens_to_map(tokens, backbone)
    return None


def channels_last_output(backbone: nn.Module, module: nn.Module) -> bool:
    """Whether ``module`` (inside ``backbone``) outputs N×T×h×w×C: in
    Video Swin every module after the patch embedding (stages, blocks,
    their norms and MLPs) works channels-last; the backbone turns its
    output channels-first only at its end."""
    if not is_swin(backbone) or module is backbone:
        return False
    first = [backbone.patch_embed, getattr(backbone, 'pos_drop', None)]
    if any(m is not None and any(d is module for d in m.modules())
           for m in first):
        return False
    return any(m is module for m in backbone.modules())


# -- Grad-CAM defaults ---------------------------------------------------
def default_cam_layer(backbone: nn.Module) -> Optional[Tuple[str, str]]:
    """(dotted name below the backbone, 'input' | 'output') of the layer
    whose feature map Grad-CAM uses, for backbones whose own output is not
    the map; None when the backbone's output is (CNNs, SlowFast, Swin).

    * TimeSformer: the input of the last transformer layer (its output's
      patch tokens get no gradient: only the cls token reaches the head);
    * MViT: the input of the last block (tokens and their grid), for the
      same reason (the head reads the cls token);
    * UniFormerV2: the input of the last ViT block. Its output's patch
      tokens reach the head only through the last global block, whose
      output projection mmaction2 initialises to zero (so with random
      weights they get no gradient); the input's reach it through the last
      block's attention to the frames' cls tokens as well.
    """
    if is_timesformer(backbone):
        layers = getattr(backbone.transformer_layers, 'layers', None)
        if not layers:
            raise ExplainError('TimeSformer without transformer layers')
        return f'transformer_layers.layers.{len(layers) - 1}', 'input'
    if is_mvit(backbone):
        return f'blocks.{len(backbone.blocks) - 1}', 'input'
    if is_uniformerv2(backbone):
        n = len(backbone.transformer.resblocks)
        return f'transformer.resblocks.{n - 1}', 'input'
    return None


# -- attention ------------------------------------------------------------
def _timesformer_kind(parent: nn.Module, backbone: nn.Module) -> str:
    names = class_names(parent)
    if 'DividedTemporalAttentionWithNorm' in names:
        return 'temporal'
    if 'DividedSpatialAttentionWithNorm' in names:
        return 'spatial'
    if getattr(backbone, 'attention_type', None) == 'space_only':
        return 'frame'
    return 'joint'


def attention_modules(backbone: nn.Module
                      ) -> List[Tuple[str, nn.MultiheadAttention]]:
    """(kind, nn.MultiheadAttention) of every attention that rollout
    follows, in model order; [] when the backbone has none it can follow.

    Kinds: ``'temporal'`` / ``'spatial'`` (TimeSformer's divided
    attention), ``'joint'`` (one attention over [cls, all patches]),
    ``'frame'`` (per frame over [cls, the frame's patches]: TimeSformer's
    space-only attention and UniFormerV2's ViT blocks).
    """
    out = []
    if is_timesformer(backbone):
        for parent in backbone.modules():
            inner = getattr(parent, 'attn', None)
            if isinstance(inner, nn.MultiheadAttention):
                out.append((_timesformer_kind(parent, backbone), inner))
    elif is_uniformerv2(backbone):
        for block in backbone.transformer.resblocks:
            if isinstance(getattr(block, 'attn', None),
                          nn.MultiheadAttention):
                out.append(('frame', block.attn))
    return out


# -- stages for the cascading randomisation ------------------------------
class LooseParams(nn.Module):
    """Holds parameters that belong to no submodule (pos_embed, cls_token)
    so that a stage can list them; the randomisation draws them from
    N(0, 0.02²)."""

    def __init__(self, params):
        super().__init__()
        self._loose = list(params)

    def parameters(self, recurse=True):
        return iter(self._loose)


def _has_params(m: nn.Module) -> bool:
    return any(True for _ in m.parameters())


def _rest(root: nn.Module, claimed: Sequence[nn.Module]):
    """The largest submodules of ``root`` sharing no module with
    ``claimed``, and the loose parameters on the way: with ``claimed``
    they partition ``root``'s parameters."""
    claimed_ids = {id(m) for c in claimed for m in c.modules()}
    mods, loose = [], []

    def walk(m):
        loose.extend(m.parameters(recurse=False))
        for child in m.children():
            if id(child) in claimed_ids:
                continue
            if any(id(d) in claimed_ids for d in child.modules()):
                walk(child)
            elif _has_params(child):
                mods.append(child)

    walk(root)
    return mods, loose


def _layered_stages(backbone: nn.Module, layers: Sequence[nn.Module],
                    embed: Sequence[nn.Module]):
    """Transformer stages: ``layerN`` .. ``layer1`` (the last one also
    takes every module outside the layers and the embedding: final norms,
    UniFormerV2's global blocks), then ``embed`` (the embedding and the
    loose parameters)."""
    embed = [m for m in embed if m is not None]
    mods, loose = _rest(backbone, list(layers) + embed)
    stages = []
    n = len(layers)
    for i in reversed(range(n)):
        stage = [layers[i]] + (mods if i == n - 1 else [])
        stages.append((f'layer{i + 1}', stage))
    stem = list(embed) + ([LooseParams(loose)] if loose else [])
    if stem:
        stages.append(('embed', stem))
    return stages


def backbone_stages(backbone: nn.Module) -> List[Tuple[str, list]]:
    """The backbone's stages from the last to the first.

    ResNet-like backbones (ResNet3d, R(2+1)D, SlowOnly, C2D, X3D, TSN's
    and TSM's ResNet) give ``layer4`` .. ``layer1`` then the stem;
    SlowFast pairs the two pathways' stages (with their lateral
    connections); TimeSformer, MViT, Swin and UniFormerV2 give their blocks
    from the last, then the embedding. Other backbones: their direct
    children with parameters, last first (C3D: ``fc7`` .. ``conv1a``).
    """
    bb = backbone
    stages = []
    if is_slowfast(bb):
        names = list(getattr(bb.slow_path, 'res_layers', []))
        for name in reversed(names):
            mods = [getattr(p, name) for p in (bb.slow_path, bb.fast_path)
                    if hasattr(p, name)]
            lat = getattr(bb.slow_path, f'{name}_lateral', None)
            if lat is not None:
                mods.append(lat)
            stages.append((name, mods))
        stem = [getattr(p, 'conv1') for p in (bb.slow_path, bb.fast_path)
                if hasattr(p, 'conv1')]
        lat = getattr(bb.slow_path, 'conv1_lateral', None)
        if lat is not None:
            stem.append(lat)
        stages.append(('conv1', stem))
        return stages
    if hasattr(bb, 'res_layers') and all(
            hasattr(bb, n) for n in bb.res_layers):
        claimed = [getattr(bb, n) for n in bb.res_layers]
        stem = [getattr(bb, 'conv1')] if hasattr(bb, 'conv1') else []
        mods, loose = _rest(bb, claimed + stem)
        # other modules before the first stage (X3D's conv1_t) join the
        # stem, those after the last (X3D's conv5) the last stage
        order = {id(c): i for i, c in enumerate(bb.children())}
        first = order.get(id(claimed[0]), 0) if claimed else 0
        before = [m for m in mods if order.get(id(m), first) < first]
        after = [m for m in mods if not any(m is b for b in before)]
        for i, name in enumerate(reversed(list(bb.res_layers))):
            extra = after if i == 0 else []
            stages.append((name, [getattr(bb, name)] + extra))
        stem += before + ([LooseParams(loose)] if loose else [])
        if stem:
            stages.append(('conv1', stem))
        return stages
    if is_timesformer(bb):
        return _layered_stages(bb, list(bb.transformer_layers.layers),
                               [bb.patch_embed])
    if is_mvit(bb):
        return _layered_stages(bb, list(bb.blocks), [bb.patch_embed])
    if is_swin(bb):
        return _layered_stages(bb, list(bb.layers), [bb.patch_embed])
    if is_uniformerv2(bb):
        return _layered_stages(
            bb, list(bb.transformer.resblocks),
            [bb.conv1, getattr(bb, 'ln_pre', None)])
    children = [(n, m) for n, m in bb.named_children() if _has_params(m)]
    for n, m in reversed(children):
        stages.append((n, [m]))
    own = list(bb.parameters(recurse=False))
    if own:
        stages.append(('params', [LooseParams(own)]))
    return stages
