"""The adapters of mmaction2's two recognizer layouts.

* :class:`Recognizer3DAdapter`: one clip C×T×H×W is one input of the
  model (I3D, X3D, C2D, C3D, SlowOnly, SlowFast, R(2+1)D, TimeSformer,
  MViT, Video Swin, UniFormerV2, ...).
* :class:`Recognizer2DAdapter`: the T frames of the clip are the model's
  segments, each a 2D image (TSN, TSM, TIN, TANet, TRN and TPN heads on
  2D backbones). ``extract_feat`` takes B×T×C×H×W and its head fuses the
  segments (TSN's average consensus, TSM's shift across ``num_segments``
  frames), so a 2D clip must have exactly the segments the model was
  built for when the backbone or head fixes them.
"""
from typing import Optional

import torch
from torch import nn

from ..errors import ExplainError
from ..registry import ADAPTERS
from .backbones import class_names
from .base import RecognizerAdapter, unwrap


@ADAPTERS.register_module()
class Recognizer3DAdapter(RecognizerAdapter):
    """mmaction2's Recognizer3D: B×views×C×T×H×W in, one clip per view.

    Also the adapter of any model that matches no other (the plugin's test
    models: anything with ``extract_feat(x, stage='head')``).
    """

    layout = 'recognizer3d'
    map_dims = 5

    @classmethod
    def matches(cls, model: nn.Module) -> bool:
        return 'Recognizer3D' in class_names(model)


@ADAPTERS.register_module()
class Recognizer2DAdapter(RecognizerAdapter):
    """mmaction2's Recognizer2D: the clip's T frames are its segments.

    * **Input**: a clip C×T×H×W becomes 1×T×C×H×W (``num_segs`` = T);
      B clips are scored in one batch (the backbone sees B·T images, the
      head regroups them per clip, TSM shifts within each clip).
    * **Views**: a preprocessed test sample is M×C×H×W, M = crops ×
      clips per crop × segments; it splits into views of ``S`` segments,
      ``S`` being, in this order, the adapter's ``num_segments``, the
      model's (``backbone.num_segments``: TSM, TIN, TANet;
      ``cls_head.num_segments``: TSM and TRN heads), or the test
      pipeline's ``num_clips × clip_len`` (TSN). With ``twice_sample``
      each crop holds two such views.
    * **Grad-CAM**: the backbone's B·T×C×h×w output is regrouped into
      B×C×T×h×w.
    """

    layout = 'recognizer2d'
    map_dims = 4

    @classmethod
    def matches(cls, model: nn.Module) -> bool:
        return 'Recognizer2D' in class_names(model)

    def model_segments(self, model: nn.Module) -> Optional[int]:
        """Segments the model itself is built for (None: any number)."""
        model = unwrap(model)
        for part in ('backbone', 'cls_head'):
            n = getattr(getattr(model, part, None), 'num_segments', None)
            if isinstance(n, int) and not isinstance(n, bool) and n > 0:
                return n
        return None

    def segments_per_view(self, model: nn.Module, num_frames: int,
                          meta: Optional[dict] = None) -> int:
        """``S``: frames of one view (see the class docstring)."""
        n = self.num_segments or self.model_segments(model)
        if n is None and meta:
            clips, clip_len = meta.get('num_clips'), meta.get('clip_len')
            if isinstance(clips, int) and isinstance(clip_len, int):
                n = clips * clip_len
        return int(n or num_frames)

    def model_inputs(self, model: nn.Module,
                     clips: torch.Tensor) -> torch.Tensor:
        # Recognizer2D views its input as (-1, C, H, W): keep it contiguous
        return clips.transpose(1, 2).contiguous()

    def check_clip(self, model: nn.Module, clip: torch.Tensor) -> None:
        n = self.model_segments(model)
        if n is not None and clip.shape[1] != n:
            raise ExplainError(
                f'this {type(unwrap(model).backbone).__name__} model takes '
                f'{n} segments per clip (num_segments), the clip has '
                f'{clip.shape[1]} frames: sample {n} segments in the test '
                f'pipeline (SampleFrames clip_len=1, num_clips={n})')

    def split_views(self, model: nn.Module, inputs: torch.Tensor,
                    meta: Optional[dict] = None) -> torch.Tensor:
        if inputs.dim() != 4:
            raise ExplainError(
                f'{self.layout}: expected (crops·clips·segments)×C×H×W '
                f'inputs, got {tuple(inputs.shape)}')
        M, C, H, W = inputs.shape
        S = self.segments_per_view(model, M, meta)
        if M % S:
            raise ExplainError(
                f'{M} frames do not split into views of {S} segments; set '
                "the adapter's num_segments (adapter=dict(num_segments=N))")
        return inputs.reshape(M // S, S, C, H, W).transpose(1, 2)

    def to_map(self, model: nn.Module, tensor: torch.Tensor,
               num_frames: int) -> Optional[torch.Tensor]:
        """A 2D backbone's (B·T)×C×h×w output as B×C×T×h×w."""
        if tensor.dim() == 4:
            if tensor.shape[0] % num_frames:
                raise ExplainError(
                    f'GradCAM: {tensor.shape[0]} feature maps do not group '
                    f'into clips of {num_frames} segments')
            n, c, h, w = tensor.shape
            return tensor.reshape(n // num_frames, num_frames, c, h,
                                  w).transpose(1, 2)
        return super().to_map(model, tensor, num_frames)
