"""Ground-truth boxes per frame, one structure for every source.

Both readers return ``FrameBoxes``: ``{frame_index: [(x, y, w, h), ...]}``
with 0-based frame indices of the source video, x, y the top-left corner and
w, h the size, all Python ints in pixels of the source frames. Frames with no
box are absent from the dict (a pointing game skips them). A frame may hold
several boxes (several annotated actors in UCF101-24); a hit on any of them
counts.

Sources:

* UCF101-24 (``pyannot.pkl`` of gurkirt/corrected-UCF101-Annots), 320×240
  frames: :func:`load_ucf24_boxes`. Tube ``{'sf', 'ef', 'boxes'}`` covers
  frames ``sf .. ef-1``; frame ``t`` is the JPEG ``image_{t+1:05d}.jpg``.
* The synthetic benchmark (:mod:`mmaction_aosa.datasets.synthetic`):
  :func:`load_synthetic_boxes`, one box per frame.

:func:`transform_boxes` maps boxes into the frames a test pipeline produces
(temporal sampling, resize, crop) so that they can be compared with a map.
"""
import json
import os.path as osp
import pickle
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

Box = Tuple[int, int, int, int]
FrameBoxes = Dict[int, List[Box]]

_UCF24_CACHE: Dict[str, dict] = {}


def _load_ucf24(pkl_path: str) -> dict:
    key = osp.abspath(pkl_path)
    if key not in _UCF24_CACHE:
        with open(pkl_path, 'rb') as f:
            # written by Python 2: latin1 keeps numpy's byte strings intact
            _UCF24_CACHE[key] = pickle.load(f, encoding='latin1')
    return _UCF24_CACHE[key]


def ucf24_video_keys(pkl_path: str) -> List[str]:
    """All video keys (``'Class/v_Class_gXX_cYY'``) of a pyannot.pkl."""
    return sorted(str(k) for k in _load_ucf24(pkl_path))


def _normalise_ucf24_key(db: dict, video_key: str) -> str:
    if video_key in db:
        return video_key
    name = osp.splitext(osp.basename(video_key.rstrip('/')))[0]
    # 'v_CliffDiving_g01_c01' -> 'CliffDiving/v_CliffDiving_g01_c01'
    if name.startswith('v_') and name.count('_') >= 3:
        cls = name[2:].rsplit('_', 2)[0]
        cand = f'{cls}/{name}'
        if cand in db:
            return cand
    raise KeyError(f'video {video_key!r} is not in the UCF101-24 annotations')


def load_ucf24_boxes(pkl_path: str, video_key: str) -> FrameBoxes:
    """Per-frame person boxes of one UCF101-24 video.

    Args:
        pkl_path (str): Path of ``pyannot.pkl``.
        video_key (str): ``'CliffDiving/v_CliffDiving_g01_c01'``; the bare
            name ``'v_CliffDiving_g01_c01'`` (or a file name with an
            extension) is accepted too.

    Returns:
        dict: ``{frame_index (0-based): [(x, y, w, h), ...]}``.
    """
    db = _load_ucf24(pkl_path)
    entry = db[_normalise_ucf24_key(db, video_key)]
    out: FrameBoxes = {}
    for tube in entry['annotations']:
        sf, ef = int(tube['sf']), int(tube['ef'])
        boxes = tube['boxes']
        if len(boxes) != ef - sf:
            raise ValueError(
                f'{video_key}: tube sf={sf} ef={ef} has {len(boxes)} boxes')
        for i, b in enumerate(boxes):
            # the arrays are uint8/uint16: convert before any arithmetic
            out.setdefault(sf + i, []).append(tuple(int(v) for v in b[:4]))
    return dict(sorted(out.items()))


def ucf24_video_info(pkl_path: str, video_key: str) -> dict:
    """``{'key', 'num_frames', 'label'}`` of one UCF101-24 video."""
    db = _load_ucf24(pkl_path)
    key = _normalise_ucf24_key(db, video_key)
    return dict(key=key, num_frames=int(db[key]['numf']),
                label=int(db[key]['label']))


def load_synthetic_boxes(json_path: str,
                         video_key: Optional[str] = None) -> FrameBoxes:
    """Per-frame target boxes of one synthetic clip.

    Args:
        json_path (str): Either a per-clip file ``OUT/boxes/video_XXXXX.json``
            (``{"boxes": [[x, y, w, h] per frame], ...}``), or the split's
            ``OUT/boxes.json`` (``{video path: [[x, y, w, h] per frame]}``),
            in which case ``video_key`` names the clip (``'videos/
            video_00003.mp4'``, ``'video_00003.mp4'`` or ``'video_00003'``).
        video_key (str, optional): See above.

    Returns:
        dict: ``{frame_index: [(x, y, w, h)]}``; every frame of the clip.
    """
    with open(json_path) as f:
        data = json.load(f)
    if isinstance(data, dict) and 'boxes' in data and \
            isinstance(data['boxes'], list):
        boxes = data['boxes']
    else:
        if video_key is None:
            raise ValueError(f'{json_path} holds several clips: '
                             'pass video_key')
        boxes = None
        stem = osp.splitext(osp.basename(video_key))[0]
        for k in (video_key, f'videos/{stem}.mp4'):
            if k in data:
                boxes = data[k]
                break
        if boxes is None:
            raise KeyError(f'{video_key!r} is not in {json_path}')
    out: FrameBoxes = {}
    for t, b in enumerate(boxes):
        if b is None:
            continue
        out[t] = [tuple(int(v) for v in b[:4])]
    return out


def transform_boxes(boxes: FrameBoxes,
                    frame_inds: Iterable[int],
                    scale: Tuple[float, float] = (1.0, 1.0),
                    crop: Optional[Sequence[int]] = None,
                    clip: bool = True) -> FrameBoxes:
    """Boxes in the frames a pipeline produced.

    Args:
        boxes (dict): ``{source frame: [(x, y, w, h)]}``.
        frame_inds (iterable): Source frame index of each sampled frame
            (mmaction2's ``results['frame_inds']``); output keys are the
            positions 0..T-1 in that list.
        scale (tuple): (sx, sy) applied first (a Resize).
        crop (sequence, optional): (x0, y0, x1, y1) crop box applied after
            scaling (mmaction2's ``results['crop_bbox']``).
        clip (bool): Clip boxes to the crop; drop boxes left empty.

    Returns:
        dict: ``{sampled position: [(x, y, w, h)]}`` with float coordinates
        rounded to int.
    """
    sx, sy = scale
    out: FrameBoxes = {}
    for pos, src in enumerate(frame_inds):
        src = int(src)
        if src not in boxes:
            continue
        res = []
        for x, y, w, h in boxes[src]:
            x0, y0, x1, y1 = x * sx, y * sy, (x + w) * sx, (y + h) * sy
            if crop is not None:
                cx0, cy0, cx1, cy1 = crop
                x0, x1, y0, y1 = x0 - cx0, x1 - cx0, y0 - cy0, y1 - cy0
                if clip:
                    cw, ch = cx1 - cx0, cy1 - cy0
                    x0, x1 = max(x0, 0), min(x1, cw)
                    y0, y1 = max(y0, 0), min(y1, ch)
            if clip and (x1 <= x0 or y1 <= y0):
                continue
            res.append((int(round(x0)), int(round(y0)),
                        int(round(x1 - x0)), int(round(y1 - y0))))
        if res:
            out[pos] = res
    return out
