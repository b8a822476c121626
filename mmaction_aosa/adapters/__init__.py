"""Recognizer adapters: the one place that knows how a model is fed,
scored and read (docs/architecture.md, "A new model layout")."""
from .backbones import (LooseParams, attention_modules, backbone_stages,
                        family, is_timesformer, timesformer_grid,
                        timesformer_tokens_to_map)
from .base import (ADAPTER_ATTR, AttentionLayout, CamTarget,
                   RecognizerAdapter, attach_adapter, build_adapter,
                   get_adapter, unwrap)
from .recognizers import Recognizer2DAdapter, Recognizer3DAdapter
from .views import center_crop_index, pick_view, view_geometry

__all__ = [
    'ADAPTER_ATTR', 'AttentionLayout', 'CamTarget', 'LooseParams',
    'Recognizer2DAdapter', 'Recognizer3DAdapter', 'RecognizerAdapter',
    'attach_adapter', 'attention_modules', 'backbone_stages',
    'build_adapter', 'center_crop_index', 'family', 'get_adapter',
    'is_timesformer', 'pick_view', 'timesformer_grid',
    'timesformer_tokens_to_map', 'unwrap', 'view_geometry'
]
