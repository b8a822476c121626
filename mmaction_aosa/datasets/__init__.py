"""Datasets: the explain run's wrapper, and data with ground truth.

* :mod:`.explain_dataset`: :class:`ExplainDataset`, which wraps any
  mmaction2 test set so that a bad video becomes a record, never a crash.
* :mod:`.synthetic`: a generated video dataset (moving red square among
  distractors, 4 classes by the axis of its motion) with per-frame target
  boxes.
* :mod:`.boxes`: per-frame ground-truth boxes of UCF101-24 and of the
  synthetic dataset in one structure, ``{frame: [(x, y, w, h), ...]}``.
"""
from .boxes import (load_synthetic_boxes, load_ucf24_boxes, transform_boxes,
                    ucf24_video_info, ucf24_video_keys)
from .explain_dataset import ExplainDataset, VideoError, video_id
from .synthetic import (CLASSES, TARGET_COLOR, generate_dataset, make_batch,
                        render_clip, write_video)
from .transforms import ReverseTimeWithLabel

__all__ = [
    'CLASSES', 'ExplainDataset', 'ReverseTimeWithLabel', 'TARGET_COLOR',
    'VideoError', 'generate_dataset', 'load_synthetic_boxes',
    'load_ucf24_boxes', 'make_batch', 'render_clip', 'transform_boxes',
    'ucf24_video_info', 'ucf24_video_keys', 'video_id', 'write_video'
]
