"""Spatial pointing game (S-PT) on per-frame ground-truth boxes.

Per frame of the clip the model saw, the map's argmax (at input resolution)
is a *hit* when the disk of radius ``tolerance`` (7 px) around it meets a
ground-truth box of that frame, i.e. when some pixel of the box lies within
``tolerance`` of the point (Zhang et al.'s pointing game with TorchRay's
tolerance, per frame as in the AOSA paper). Frames without a box are
skipped. A frame whose map is constant has no argmax and counts as a miss.

Boxes come from the source video (``FrameBoxes`` of
:mod:`mmaction_aosa.datasets.boxes`, ``{frame: [(x, y, w, h), ...]}``) and
are mapped through the test pipeline's temporal sampling (``frame_inds``),
resize (``scale_factor``) and crop (``crop_bbox``), the same geometry the
clip went through. Those keys must reach the data sample's metainfo: see
:func:`mmaction_aosa.structures.add_geometry_meta_keys`.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..datasets.boxes import (FrameBoxes, load_synthetic_boxes,
                              load_ucf24_boxes, transform_boxes)

DEFAULT_TOLERANCE = 7


def point_of_frame(frame_map: torch.Tensor) -> Optional[Tuple[int, int]]:
    """(x, y) of the first maximum of an H×W map; None if it is constant."""
    m = torch.as_tensor(frame_map).detach().float()
    if not torch.isfinite(m).all() or m.max() <= m.min():
        return None
    i = int(torch.argmax(m))
    return i % m.shape[1], i // m.shape[1]


def point_hits_box(point: Tuple[int, int],
                   boxes: Sequence[Sequence[float]],
                   tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Whether the disk of radius ``tolerance`` at ``point`` meets a box.

    A box (x, y, w, h) covers the pixels x..x+w-1, y..y+h-1; the disk meets
    it when the nearest of those pixels is within ``tolerance`` of the point.
    """
    px, py = point
    for x, y, w, h in boxes:
        if w <= 0 or h <= 0:
            continue
        dx = max(x - px, 0, px - (x + w - 1))
        dy = max(y - py, 0, py - (y + h - 1))
        if dx * dx + dy * dy <= tolerance * tolerance:
            return True
    return False


def pointing_game(saliency: torch.Tensor, boxes: FrameBoxes,
                  tolerance: float = DEFAULT_TOLERANCE) -> Dict[int, bool]:
    """Hit or miss of each frame of a T×H×W map that has a box.

    Args:
        saliency (Tensor): T×H×W map at input resolution.
        boxes (dict): ``{frame of the clip: [(x, y, w, h), ...]}`` in the
            same pixels as the map; frames absent (or with no box) are
            skipped.
        tolerance (float): Radius of the disk around the argmax, px.

    Returns:
        dict: ``{frame: hit}`` for the frames that were evaluated.
    """
    sal = torch.as_tensor(saliency)
    out = {}
    for t in sorted(boxes):
        if not 0 <= t < sal.shape[0] or not boxes[t]:
            continue
        p = point_of_frame(sal[t])
        out[t] = p is not None and point_hits_box(p, boxes[t], tolerance)
    return out


def _as_list(v) -> Optional[list]:
    if v is None:
        return None
    if isinstance(v, torch.Tensor):
        v = v.cpu().numpy()
    return np.asarray(v).ravel().tolist()


def boxes_in_clip(meta: dict, boxes: FrameBoxes,
                  view: int = 0) -> FrameBoxes:
    """Map a video's boxes into the clip a test pipeline produced.

    Args:
        meta (dict): The data sample's metainfo with ``frame_inds`` (and,
            if the pipeline has them, ``start_index``, ``num_clips``,
            ``clip_len``, ``scale_factor`` (w, h), ``crop_bbox`` (x0, y0,
            x1, y1)).
        boxes (dict): Boxes of the source frames (0-based frames).
        view (int): The explained view; with several clips per video the
            view's clip is ``view % num_clips`` (mmaction2's FormatShape
            stacks crops × clips).

    Returns:
        dict: ``{frame of the clip: [(x, y, w, h)]}``.

    Raises:
        KeyError: ``frame_inds`` is missing (the pipeline does not keep it).
    """
    inds = _as_list(meta.get('frame_inds'))
    if inds is None:
        raise KeyError('the data sample has no frame_inds: keep the clip '
                       'geometry with add_geometry_meta_keys(pipeline)')
    num_clips = int(meta.get('num_clips') or 1)
    clip_len = len(inds) // num_clips
    c = view % num_clips
    src = [int(i) - int(meta.get('start_index') or 0)
           for i in inds[c * clip_len:(c + 1) * clip_len]]
    scale = _as_list(meta.get('scale_factor')) or [1.0, 1.0]
    crop = _as_list(meta.get('crop_bbox'))
    return transform_boxes(boxes, src, scale=(scale[0], scale[1]), crop=crop)


class GroundTruthBoxes:
    """Finds the ground-truth boxes of a video from its path.

    Args:
        boxes (str, optional): ``'auto'`` (default) looks next to the video
            for the generated dataset's files: ``<dir>/../boxes/<stem>.json``,
            ``<dir>/boxes/<stem>.json``, ``<dir>/../boxes.json``,
            ``<dir>/boxes.json``. A folder of per-clip JSON files or one
            ``boxes.json`` names them explicitly; None disables.
        ucf24_pkl (str, optional): UCF101-24's ``pyannot.pkl``; videos are
            found by name (``v_CliffDiving_g01_c01``).
    """

    def __init__(self, boxes: Optional[str] = 'auto',
                 ucf24_pkl: Optional[str] = None):
        if ucf24_pkl is not None and not osp.isfile(ucf24_pkl):
            raise FileNotFoundError(f'UCF101-24 annotations not found: '
                                    f'{ucf24_pkl}')
        if boxes not in (None, 'auto') and not osp.exists(boxes):
            raise FileNotFoundError(f'ground-truth boxes not found: {boxes}')
        self.boxes = boxes
        self.ucf24_pkl = ucf24_pkl

    def _candidates(self, path: str) -> List[str]:
        stem = osp.splitext(osp.basename(path.rstrip('/')))[0]
        if self.boxes is None:
            return []
        if self.boxes != 'auto':
            if osp.isdir(self.boxes):
                return [osp.join(self.boxes, f'{stem}.json')]
            return [self.boxes]
        d = osp.dirname(osp.abspath(path.rstrip('/')))
        up = osp.dirname(d)
        return [osp.join(up, 'boxes', f'{stem}.json'),
                osp.join(d, 'boxes', f'{stem}.json'),
                osp.join(up, 'boxes.json'), osp.join(d, 'boxes.json')]

    def __call__(self, video_path: Optional[str]) -> Optional[FrameBoxes]:
        """Boxes of the video, or None when there are none."""
        if not video_path:
            return None
        if self.ucf24_pkl is not None:
            try:
                return load_ucf24_boxes(self.ucf24_pkl, video_path)
            except KeyError:
                pass
        for cand in self._candidates(video_path):
            if osp.isfile(cand):
                try:
                    return load_synthetic_boxes(cand, osp.basename(video_path))
                except KeyError:
                    continue
        return None
