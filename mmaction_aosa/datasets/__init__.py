"""Datasets with ground truth for saliency benchmarks.

* :mod:`.synthetic`: a generated video dataset (moving red square among
  distractors, 4 classes by the axis of its motion) with per-frame target
  boxes.
* :mod:`.boxes`: per-frame ground-truth boxes of UCF101-24 and of the
  synthetic dataset in one structure, ``{frame: [(x, y, w, h), ...]}``.
"""
from .boxes import (load_synthetic_boxes, load_ucf24_boxes, transform_boxes,
                    ucf24_video_info, ucf24_video_keys)
from .synthetic import (CLASSES, TARGET_COLOR, generate_dataset, make_batch,
                        render_clip, write_video)
from .transforms import ReverseTimeWithLabel

__all__ = [
    'ReverseTimeWithLabel', 'CLASSES', 'TARGET_COLOR', 'generate_dataset', 'make_batch',
    'render_clip', 'write_video', 'load_synthetic_boxes', 'load_ucf24_boxes',
    'transform_boxes', 'ucf24_video_info', 'ucf24_video_keys'
]
