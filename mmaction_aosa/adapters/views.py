"""Which view of a multi-view test sample is explained, and its geometry.

mmaction2's ``FormatShape`` stacks a test sample's frames crop-major: all
frames of crop 0 (its clips one after the other), then crop 1, ... Within a
crop there are ``len(frame_inds) / F`` clips of ``F`` frames, where ``F``
is the number of frames one forward pass of the model takes: ``clip_len``
for a 3D recognizer, the number of segments for a 2D one. A view is one
clip of one crop: view ``v`` is clip ``v % clips_per_crop`` of crop
``v // clips_per_crop``.

The crops of ``ThreeCrop`` come in the order left, right, middle (top,
bottom, middle for portrait frames) and those of ``TenCrop`` as upper
left, its flip, upper right, its flip, ..., centre, its flip; so the
centre crop is found from the crop boxes (``crop_bbox``), not from its
position.
"""
from typing import Optional, Union

import numpy as np

from ..structures import view_geometry as _structures_view_geometry


def _array(value) -> Optional[np.ndarray]:
    if value is None:
        return None
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def clips_per_crop(meta: dict, frames_per_view: int) -> int:
    """How many clips of ``frames_per_view`` frames each crop holds
    (1 when the metainfo has no ``frame_inds``)."""
    inds = _array(meta.get('frame_inds'))
    if inds is None or inds.size == 0 or frames_per_view <= 0:
        return 1
    return max(int(inds.size) // int(frames_per_view), 1)


def crop_boxes(meta: dict, num_crops: int) -> Optional[np.ndarray]:
    """One (x0, y0, x1, y1) box per crop, or None when the metainfo does
    not say (no ``crop_bbox``, or not one box per crop)."""
    boxes = _array(meta.get('crop_bbox'))
    if boxes is None or boxes.size == 0:
        return None
    boxes = boxes.reshape(-1, 4)
    if len(boxes) % num_crops:
        return None
    per_crop = len(boxes) // num_crops
    return boxes[::per_crop][:num_crops].astype(np.float64)


def center_crop_index(meta: dict, num_crops: int) -> int:
    """The crop whose box centre is nearest the centre of all crops (the
    first such crop: TenCrop's unflipped centre crop); the middle index
    when the boxes are unknown."""
    if num_crops <= 1:
        return 0
    boxes = crop_boxes(meta, num_crops)
    if boxes is None:
        return num_crops // 2
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    ux = (boxes[:, 0].min() + boxes[:, 2].max()) / 2
    uy = (boxes[:, 1].min() + boxes[:, 3].max()) / 2
    dist = np.round((cx - ux)**2 + (cy - uy)**2, 6)
    return int(np.argmin(dist))  # argmin: the first of equals


def pick_view(num_views: int, view: Union[str, int] = 'center',
              meta: Optional[dict] = None,
              frames_per_view: Optional[int] = None) -> int:
    """Index of the view to explain among a test sample's views.

    Args:
        num_views (int): Views of the sample.
        view (str | int): ``'center'`` (default): the centre crop's middle
            clip (the only view of a single-view pipeline); an int picks a
            view by index (negative from the end).
        meta (dict, optional): The sample's metainfo (``frame_inds``,
            ``crop_bbox``); without it ``'center'`` is ``num_views // 2``.
        frames_per_view (int, optional): Frames of one view.

    Raises:
        ValueError: ``view`` out of range or not understood.
    """
    if view == 'center':
        if meta is None or not frames_per_view:
            return num_views // 2
        cpc = min(clips_per_crop(meta, frames_per_view), num_views)
        if num_views % cpc:
            return num_views // 2
        crop = center_crop_index(meta, num_views // cpc)
        return crop * cpc + cpc // 2
    if isinstance(view, bool):
        raise ValueError(f"view must be 'center' or an int, got {view!r}")
    try:
        view = int(view)
    except (TypeError, ValueError):
        raise ValueError(
            f"view must be 'center' or an int, got {view!r}") from None
    if not -num_views <= view < num_views:
        raise ValueError(f'view {view} out of range for {num_views} views')
    return view % num_views


def view_geometry(meta: dict, view: int, frames_per_view: int) -> dict:
    """The geometry of one view: its source frames (``frame_inds``, as
    many as the map has frames), resize and crop box.

    ``num_clips`` and ``clip_len`` of the result describe the explained
    clip (1 and ``frames_per_view``), so that a 2D model's segments keep
    their own source frames.
    """
    meta = dict(meta)
    if meta.get('frame_inds') is not None:
        meta['num_clips'] = clips_per_crop(meta, frames_per_view)
    out = _structures_view_geometry(meta, view)
    if 'clip_len' in out or 'frame_inds' in out:
        out['clip_len'] = int(frames_per_view)
    return out
