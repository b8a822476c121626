"""Recognizer adapters: everything the plugin needs to know about a model.

Explainers, metrics and the sanity check never look inside a recognizer
themselves; they ask its adapter (:func:`get_adapter`):

* **input and logits**: how clips B×C×T×H×W become the recognizer's input
  and its class logits (:meth:`RecognizerAdapter.logits`);
* **views**: how one preprocessed test sample splits into clips
  C×T×H×W, which one is explained and where its frames come from
  (:meth:`~RecognizerAdapter.split_views`, :meth:`~RecognizerAdapter.
  pick_view`, :meth:`~RecognizerAdapter.view_geometry`);
* **denormalisation** (:meth:`~RecognizerAdapter.denormalize`);
* **Grad-CAM**: which layer, and how its output becomes T×h×w maps
  (:meth:`~RecognizerAdapter.cam_target`, :meth:`~RecognizerAdapter.
  feature_maps`);
* **rollout**: which modules hold attention (:meth:`~RecognizerAdapter.
  attention`);
* **sanity check**: the stages of the cascading randomisation
  (:meth:`~RecognizerAdapter.stages`).

:class:`Recognizer3DAdapter` and :class:`Recognizer2DAdapter`
(``recognizers.py``) cover mmaction2's two layouts. A model is matched by
its recognizer class; ``attach_adapter`` fixes the adapter of one model
(``adapter = dict(...)`` in a run's config), with arguments that override
the automatic choices or a registered subclass of your own.
"""
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from ..errors import ExplainError
from ..registry import ADAPTERS
from . import backbones as bbs
from . import views as views_

#: Attribute of a recognizer that holds its attached adapter.
ADAPTER_ATTR = '_aosa_adapter'


def unwrap(model: nn.Module) -> nn.Module:
    """The recognizer inside DDP/MMDistributedDataParallel wrappers."""
    while hasattr(model, 'module') and isinstance(model.module, nn.Module):
        model = model.module
    return model


@dataclass
class CamTarget:
    """Where Grad-CAM reads its feature map.

    Attributes:
        module (nn.Module): The hooked module.
        name (str): Its dotted name in the recognizer (for messages).
        where (str): ``'output'`` (forward hook) or ``'input'`` (forward
            pre-hook: the module's positional arguments).
        layout (str): ``'auto'`` (read from the tensors, see
            :meth:`RecognizerAdapter.to_map`) or ``'channels_last'``
            (N×T×h×w×C, the output of Video Swin's stages).
    """
    module: nn.Module
    name: str
    where: str = 'output'
    layout: str = 'auto'


@dataclass
class AttentionLayout:
    """What attention rollout needs to know about a model.

    Attributes:
        modules (list): ``(kind, nn.MultiheadAttention)`` in model order
            (kinds: see :func:`backbones.attention_modules`).
        grid (tuple): ``(T, gh, gw)`` of the patch tokens.
        num_frames (int): Frames of the clip the model takes.
        family (str): ``'timesformer'`` or ``'uniformerv2'``.
    """
    modules: List[Tuple[str, nn.MultiheadAttention]]
    grid: Tuple[int, int, int]
    num_frames: int
    family: str


#: A captured tensor and the function that makes it N×C×T×h×w.
FeatureMap = Tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]


def _get_module(model: nn.Module, name: str) -> nn.Module:
    try:
        return model.get_submodule(name)
    except AttributeError as e:
        raise ExplainError(f'the model has no module {name!r}') from e


def _shapes(obj) -> str:
    if isinstance(obj, torch.Tensor):
        return str(tuple(obj.shape))
    if isinstance(obj, (list, tuple)):
        return '[' + ', '.join(_shapes(o) for o in obj) + ']'
    return type(obj).__name__


class RecognizerAdapter:
    """How the plugin feeds, scores and reads one recognizer layout.

    This base class is the Recognizer3D behaviour, which is also what any
    model exposing ``extract_feat(x, stage='head')`` on B×views×C×T×H×W
    gets. Subclass it (and register the subclass in ``ADAPTERS``) for a
    layout of your own; override only what differs.

    Args:
        cam_layer (str, optional): Dotted name of the module whose output
            Grad-CAM uses by default (``GradCAM(target_layer=...)`` still
            wins), e.g. ``'backbone.layer3'``.
        num_segments (int, optional): Frames one forward pass takes (2D
            models: the segments), when neither the model nor the test
            pipeline says.
    """

    #: Registry name of the layout (for messages).
    layout = 'recognizer3d'
    #: Dimensions of a feature map this layout's backbones produce.
    map_dims = 5

    def __init__(self, cam_layer: Optional[str] = None,
                 num_segments: Optional[int] = None):
        if cam_layer is not None and not isinstance(cam_layer, str):
            raise ValueError(f'cam_layer must be a module name, got '
                             f'{cam_layer!r}')
        if num_segments is not None and (
                isinstance(num_segments, bool)
                or not isinstance(num_segments, int) or num_segments < 1):
            raise ValueError(f'num_segments must be an int >= 1, got '
                             f'{num_segments!r}')
        self.cam_layer = cam_layer
        self.num_segments = num_segments
        self._probed = {}

    def __repr__(self) -> str:
        args = ', '.join(f'{k}={v!r}' for k, v in self.config().items()
                         if k != 'type' and v is not None)
        return f'{type(self).__name__}({args})'

    def config(self) -> dict:
        """The adapter as a config dict (for ``run.json``)."""
        return dict(type=type(self).__name__, cam_layer=self.cam_layer,
                    num_segments=self.num_segments)

    @classmethod
    def matches(cls, model: nn.Module) -> bool:
        """Whether this adapter is the automatic choice for ``model``."""
        return False

    # -- input and logits ------------------------------------------------
    def model_inputs(self, model: nn.Module,
                     clips: torch.Tensor) -> torch.Tensor:
        """B×C×T×H×W clips → what ``extract_feat`` takes (a view axis of
        length 1 for Recognizer3D)."""
        return clips.unsqueeze(1)

    def check_clip(self, model: nn.Module, clip: torch.Tensor) -> None:
        """Raise ExplainError when the model cannot take ``clip``
        (C×T×H×W)."""

    def logits(self, model: nn.Module, clips: torch.Tensor) -> torch.Tensor:
        """B×C×T×H×W clips → B×num_classes logits (graph kept if grads
        on).

        ``recognizer(x, mode='tensor')`` returns backbone features; the
        logits come from ``extract_feat(x, stage='head')``.
        """
        self.check_clip(model, clips[0])
        out = model.extract_feat(self.model_inputs(model, clips),
                                 stage='head')[0]
        return out.float()

    # -- views -------------------------------------------------------------
    def split_views(self, model: nn.Module, inputs: torch.Tensor,
                    meta: Optional[dict] = None) -> torch.Tensor:
        """One preprocessed sample (the data_preprocessor's output for it)
        → its views, V×C×T×H×W."""
        if inputs.dim() == 4:  # a single view without the view axis
            inputs = inputs[None]
        if inputs.dim() != 5:
            raise ExplainError(
                f'{self.layout}: expected views×C×T×H×W inputs, got '
                f'{tuple(inputs.shape)}')
        return inputs

    def pick_view(self, views: torch.Tensor, meta: Optional[dict] = None,
                  view: Union[str, int] = 'center') -> int:
        """Index of the explained view (see :func:`views.pick_view`)."""
        return views_.pick_view(views.shape[0], view, meta, views.shape[2])

    def view_geometry(self, meta: dict, view: int,
                      frames_per_view: int) -> dict:
        """Source frames, resize and crop of the explained view."""
        return views_.view_geometry(meta, view, frames_per_view)

    # -- denormalisation -------------------------------------------------
    def denormalize(self, model: nn.Module,
                    clip: torch.Tensor) -> np.ndarray:
        """Invert the data_preprocessor's normalisation of one C×T×H×W
        clip.

        Returns:
            np.ndarray: T×H×W×C float32 frames in 0..255 (channel order as
            the model sees it; RGB for mmaction2's standard pipelines).
        """
        pre = getattr(unwrap(model), 'data_preprocessor', None)
        x = clip.detach().float().cpu()
        mean = getattr(pre, 'mean', None)
        std = getattr(pre, 'std', None)
        if isinstance(mean, torch.Tensor) and isinstance(std, torch.Tensor):
            x = x * std.detach().float().cpu().view(-1, 1, 1, 1) + \
                mean.detach().float().cpu().view(-1, 1, 1, 1)
        return x.permute(1, 2, 3, 0).numpy()

    # -- Grad-CAM ----------------------------------------------------------
    def cam_target(self, model: nn.Module, clip: torch.Tensor,
                   layer: Optional[str] = None) -> CamTarget:
        """The layer Grad-CAM reads for ``clip`` (C×T×H×W).

        ``layer`` (Grad-CAM's ``target_layer``), else this adapter's
        ``cam_layer``, else the backbone's default
        (:func:`backbones.default_cam_layer`), else the backbone's output
        when it is a feature map, else the backbone's last child with
        parameters whose output is one (C3D: ``conv5b``, before the fully
        connected layers; found by one forward pass, remembered per
        backbone class and clip shape).
        """
        model = unwrap(model)
        layer = layer or self.cam_layer
        backbone = getattr(model, 'backbone', None)
        if layer is not None:
            module = _get_module(model, layer)
            layout = 'channels_last' if backbone is not None and \
                bbs.channels_last_output(backbone, module) else 'auto'
            return CamTarget(module, layer, 'output', layout)
        if backbone is None:
            raise ExplainError('GradCAM needs a recognizer with a backbone '
                               f'(or a target_layer); {type(model).__name__}'
                               ' has none')
        default = bbs.default_cam_layer(backbone)
        if default is not None:
            name, where = default
            return CamTarget(_get_module(backbone, name),
                             f'backbone.{name}', where)
        if bbs.family(backbone) in ('slowfast', 'swin') or hasattr(
                backbone, 'res_layers'):
            return CamTarget(backbone, 'backbone', 'output')
        key = (type(backbone), tuple(clip.shape))
        if key not in self._probed:
            self._probed[key] = self._probe_map_layer(model, backbone, clip)
        name = self._probed[key]
        return CamTarget(_get_module(model, name), name, 'output')

    def _probe_map_layer(self, model: nn.Module, backbone: nn.Module,
                         clip: torch.Tensor) -> str:
        """'backbone' if its output is a feature map, else its last child
        (in call order) with parameters whose output is one."""
        outputs = []
        handles = [backbone.register_forward_hook(
            lambda m, a, out: outputs.append(('backbone', out)))]
        for name, child in backbone.named_children():
            if any(True for _ in child.parameters()):
                handles.append(child.register_forward_hook(
                    lambda m, a, out, name=name: outputs.append(
                        (f'backbone.{name}', out))))
        try:
            with torch.no_grad():
                self.logits(model, clip[None].to(
                    next(model.parameters()).device))
        finally:
            for h in handles:
                h.remove()
        found = [n for n, out in outputs if self._is_map(model, out)]
        if ('backbone' in found):
            return 'backbone'
        if not found:
            shapes = _shapes(dict(outputs).get('backbone'))
            raise ExplainError(
                'GradCAM needs a convolutional feature map N×C×T×h×w '
                f'(or tokens of a known layout); the backbone gave {shapes} '
                'and none of its stages gives one. Name a conv stage with '
                '`target_layer`.')
        return found[-1]

    def _is_map(self, model, out) -> bool:
        if isinstance(out, torch.Tensor):
            return out.dim() == self.map_dims
        if isinstance(out, (list, tuple)):
            return any(self._is_map(model, o) for o in out)
        return False

    def to_map(self, model: nn.Module, tensor: torch.Tensor,
               num_frames: int) -> Optional[torch.Tensor]:
        """One captured tensor as N×C×T×h×w, or None if it is not a map
        (pooled features, a cls token).

        5-D tensors are maps already; 3-D tokens follow the backbone's
        token layout (TimeSformer, UniFormerV2); an unknown token layout
        raises ExplainError.
        """
        if tensor.dim() == 5:
            return tensor
        if tensor.dim() == 3:
            out = bbs.tokens_to_map(tensor, getattr(model, 'backbone', None))
            if out is None:
                raise ExplainError(
                    f'GradCAM cannot read tokens {tuple(tensor.shape)} of '
                    'this backbone as a T×h×w map: name a convolutional '
                    'layer or a block whose tokens have a known layout '
                    'with `target_layer`, or register an adapter with your '
                    "own `to_map` (README, 'Explain your own model')")
            return out
        return None

    def feature_maps(self, model: nn.Module, target: CamTarget,
                     captured: Sequence, num_frames: int
                     ) -> List[FeatureMap]:
        """The captured outputs (or inputs) of ``target`` as
        (tensor, to-map function) pairs: the gradient is taken on the
        tensor, then both go through the function.

        Tuples and lists are searched (SlowFast's two pathways, MViT's
        ``[patch tokens, cls token]``); a 3-D token tensor followed by its
        (t, h, w) grid is MViT's block input or output.
        """
        model = unwrap(model)
        found: List[FeatureMap] = []

        def visit(obj):
            if isinstance(obj, torch.Tensor) and \
                    target.layout == 'channels_last' and obj.dim() == 5:
                found.append((obj, lambda t: t.permute(0, 4, 1, 2, 3)))
                return
            if isinstance(obj, torch.Tensor):
                # to_map raises on tokens of an unknown layout
                if self.to_map(model, obj.detach(), num_frames) is not None:
                    found.append((obj, lambda t: self.to_map(
                        model, t, num_frames)))
                return
            if isinstance(obj, (list, tuple)):
                if len(obj) >= 2 and isinstance(obj[0], torch.Tensor) and \
                        obj[0].dim() == 3 and bbs.is_grid(obj[1]):
                    grid = tuple(int(v) for v in obj[1])
                    found.append((obj[0], lambda t, g=grid: bbs.
                                  grid_tokens_to_map(t, g)))
                    return
                for o in obj:
                    visit(o)

        for c in captured:
            if target.where == 'input' and isinstance(c, tuple) and not (
                    len(c) >= 2 and bbs.is_grid(c[1])):
                c = c[0] if c else c
            visit(c)
        if not found:
            raise ExplainError(
                'GradCAM needs a convolutional feature map N×C×T×h×w '
                f'(or tokens of a known layout); the layer {target.name} '
                f'gave {_shapes(list(captured))}. Name a conv stage with '
                '`target_layer`.')
        return found

    # -- attention rollout -----------------------------------------------
    def attention(self, model: nn.Module) -> AttentionLayout:
        """The attention modules rollout follows and their token grid.

        Raises:
            ExplainError: the model has no attention rollout can follow
                (a CNN; MViT's pooled and Swin's windowed attention).
        """
        model = unwrap(model)
        backbone = getattr(model, 'backbone', None)
        fam = bbs.family(backbone)
        mods = bbs.attention_modules(backbone) if backbone is not None \
            else []
        if fam == 'timesformer' and mods:
            grid = bbs.timesformer_grid(backbone)
            return AttentionLayout(mods, grid, grid[0], fam)
        if fam == 'uniformerv2' and mods:
            grid = bbs.uniformerv2_grid(backbone)
            down = 2 if getattr(backbone.conv1, 'stride', (1, ))[0] == 2 \
                else 1
            return AttentionLayout(mods, grid, grid[0] * down, fam)
        name = type(backbone if backbone is not None else model).__name__
        why = {
            'mvit': ': MViT pools its queries and keys, so attention maps '
                    'do not chain token to token',
            'swin': ': Swin attends within shifted windows, not over all '
                    'tokens',
        }.get(fam, ' (a CNN has no attention)')
        raise ExplainError(
            'AttentionRollout needs a TimeSformer or UniFormerV2 backbone '
            f'with attention; {name} has none it can follow{why}. Use '
            'GradCAM or an occlusion method')

    # -- sanity check ------------------------------------------------------
    def stages(self, model: nn.Module) -> List[Tuple[str, list]]:
        """Stages in cascade order, head first: ``[(name, [modules])]``
        (see :func:`backbones.backbone_stages`)."""
        model = unwrap(model)
        stages = []
        head = getattr(model, 'cls_head', None)
        if head is not None:
            stages.append(('head', [head]))
        neck = getattr(model, 'neck', None)
        if isinstance(neck, nn.Module) and any(True for _ in
                                               neck.parameters()):
            stages.append(('neck', [neck]))
        bb = getattr(model, 'backbone', None)
        if bb is not None:
            stages += bbs.backbone_stages(bb)
        return stages


def _auto_class(model: nn.Module):
    """The registered adapter class that matches ``model`` (the 3D one
    when none does)."""
    for cls in ADAPTERS.module_dict.values():
        if cls is not RecognizerAdapter and cls.matches(model):
            return cls
    return ADAPTERS.get('Recognizer3DAdapter')


def get_adapter(model: nn.Module) -> RecognizerAdapter:
    """The adapter of ``model``: the attached one, else the registered
    adapter whose ``matches`` accepts it (Recognizer3D's by default)."""
    model = unwrap(model)
    adapter = model.__dict__.get(ADAPTER_ATTR)
    if adapter is not None:
        return adapter
    adapter = _auto_class(model)()
    # remembered on the model: its probes (Grad-CAM layer) are kept too
    model.__dict__[ADAPTER_ATTR] = adapter
    return adapter


def build_adapter(spec: Union[dict, RecognizerAdapter, None],
                  model: Optional[nn.Module] = None) -> RecognizerAdapter:
    """An adapter from a config: ``dict(type='Name', ...)``, or a dict
    without ``type`` whose arguments go to the automatic choice for
    ``model`` (``dict(cam_layer='backbone.layer3')``; without a model, to
    the Recognizer3D adapter, which takes the same arguments: a check).

    Raises:
        ValueError: an unknown type or bad arguments.
    """
    if isinstance(spec, RecognizerAdapter):
        return spec
    spec = dict(spec or {})
    try:
        if 'type' not in spec:
            cls = _auto_class(unwrap(model)) if model is not None else \
                ADAPTERS.get('Recognizer3DAdapter')
            return cls(**spec)
        from mmengine.registry import DefaultScope
        with DefaultScope.overwrite_default_scope('mmaction_aosa'):
            return ADAPTERS.build(spec)
    except (TypeError, KeyError) as exc:
        raise ValueError(f'bad adapter config {spec}: {exc}') from exc


def attach_adapter(model: nn.Module,
                   spec: Union[dict, RecognizerAdapter, None]
                   ) -> RecognizerAdapter:
    """Fix the adapter of ``model`` (built from ``spec``, see
    :func:`build_adapter`); every explainer, metric and the sanity check
    then use it. Returns it."""
    model = unwrap(model)
    adapter = build_adapter(spec, model)
    model.__dict__[ADAPTER_ATTR] = adapter
    return adapter
