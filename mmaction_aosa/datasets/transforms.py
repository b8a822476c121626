"""Pipeline transforms for the synthetic benchmark."""
from typing import Dict, Sequence

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from .synthetic import CLASSES

# playing a clip backwards turns each class into its opposite
REVERSED_LABEL = {
    CLASSES.index('moving_right'): CLASSES.index('moving_left'),
    CLASSES.index('moving_left'): CLASSES.index('moving_right'),
    CLASSES.index('moving_down'): CLASSES.index('moving_up'),
    CLASSES.index('moving_up'): CLASSES.index('moving_down'),
}


@TRANSFORMS.register_module()
class ReverseTimeWithLabel(BaseTransform):
    """Play the decoded clip backwards with probability ``prob`` and swap the
    label to the opposite direction (training augmentation for the
    synthetic dataset only; it needs the motion-direction classes).

    Both versions show the same frames, so the pair can be told apart only
    by the order of the frames: this pushes a model (TimeSformer needs it)
    to read the direction instead of static cues. Required keys: ``imgs``
    (decoded), ``label``; modified: the same, ``frame_inds``.
    """

    def __init__(self, prob: float = 0.5,
                 label_map: Dict[int, int] = None) -> None:
        self.prob = prob
        self.label_map = dict(label_map or REVERSED_LABEL)

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
            results['label'] = self.label_map[int(label)]
        else:  # array or list of one label
            results['label'] = type(label)(
                [self.label_map[int(v)] for v in label]) if isinstance(
                    label, list) else np.array(
                        [self.label_map[int(v)] for v in np.ravel(label)])
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'
