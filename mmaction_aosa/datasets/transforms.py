"""Pipeline transforms for the synthetic benchmark."""
from typing import Dict, Optional, Sequence

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform


@TRANSFORMS.register_module()
class ReverseTimeWithLabel(BaseTransform):
    """Play the decoded clip backwards with probability ``prob`` and map its
    label through ``label_map`` (training augmentation).

    The synthetic dataset's classes are the axis of the target's path, which
    playing backwards keeps, so there the default (labels unchanged) is the
    right one and the transform only doubles the motions seen per clip. For
    classes that reverse with time (e.g. "moving left" / "moving right"),
    give the pairing, ``label_map={0: 1, 1: 0, ...}``; a label missing from
    the map is kept. Required keys: ``imgs`` (decoded), ``label``; modified:
    the same, ``frame_inds``.
    """

    def __init__(self, prob: float = 0.5,
                 label_map: Optional[Dict[int, int]] = None) -> None:
        self.prob = prob
        self.label_map = {int(k): int(v)
                          for k, v in (label_map or {}).items()}

    def _map(self, v) -> int:
        return self.label_map.get(int(v), int(v))

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        imgs = results['imgs']
        results['imgs'] = imgs[::-1] if isinstance(imgs, Sequence) \
            else imgs[::-1].copy()
        if 'frame_inds' in results:
            results['frame_inds'] = np.asarray(results['frame_inds'])[::-1]
        label = results['label']
        if isinstance(label, (int, np.integer)):
            results['label'] = self._map(label)
        elif isinstance(label, list):
            results['label'] = [self._map(v) for v in label]
        else:  # array of one label
            results['label'] = np.array(
                [self._map(v) for v in np.ravel(label)])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'label_map={self.label_map})')
