"""The explained clip's place in its source video, and the source's frames.

A map is T×H×W at the model's input: T frames sampled from the video
(``frame_inds``), resized (``scale_factor``, (w, h) new/old) and cropped
(``crop_bbox``, x0, y0, x1, y1 in the resized frame), the geometry a map
file records (:func:`mmaction_aosa.structures.view_geometry`). The
functions here take a map back through that geometry onto the source
frames (the inverse of :func:`mmaction_aosa.datasets.boxes.transform_boxes`)
and read those frames, for overlays at the video's own size and speed
(:func:`mmaction_aosa.visualization.render_overlay`) and for
``tools/figure.py``.
"""
import glob
import math
import os.path as osp
from dataclasses import dataclass
from typing import Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

#: Frame rate assumed for frame folders and videos that do not say.
DEFAULT_FPS = 30.0
IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp')


class SourceError(RuntimeError):
    """The source video cannot be read or does not fit the map's
    geometry."""


def _flat(value) -> Optional[list]:
    if value is None:
        return None
    return np.asarray(value, dtype=np.float64).ravel().tolist()


def source_frame_indices(geometry: dict, num_frames: int) -> List[int]:
    """The 0-based source frame of each of the map's ``num_frames`` frames
    (``frame_inds`` minus ``start_index``).

    Raises:
        SourceError: the geometry has no ``frame_inds``, or not one per
            map frame.
    """
    inds = _flat(geometry.get('frame_inds'))
    if not inds:
        raise SourceError('the map records no frame_inds (its run did not '
                          'keep the clip geometry)')
    if len(inds) != num_frames:
        raise SourceError(f'the map has {num_frames} frames but its '
                          f'geometry {len(inds)} frame_inds')
    start = int(geometry.get('start_index') or 0)
    return [int(i) - start for i in inds]


def crop_in_source(geometry: dict, clip_hw: Tuple[int, int]
                   ) -> Tuple[float, float, float, float]:
    """The model's crop as (x0, y0, x1, y1) in source pixels (floats).

    The pipeline scaled the frame by ``scale_factor`` (sx, sy) and then
    cut ``crop_bbox``; without a crop the whole scaled frame is the clip.
    """
    h, w = clip_hw
    sx, sy = (_flat(geometry.get('scale_factor')) or [1.0, 1.0])[:2]
    crop = _flat(geometry.get('crop_bbox'))
    cx0, cy0 = (crop[0], crop[1]) if crop else (0.0, 0.0)
    return (cx0 / sx, cy0 / sy, (cx0 + w) / sx, (cy0 + h) / sy)


def clip_to_source(geometry: dict, clip_hw: Tuple[int, int], x: float,
                   y: float) -> Tuple[float, float]:
    """A point (x, y) of the clip in source pixels."""
    x0, y0, x1, y1 = crop_in_source(geometry, clip_hw)
    return (x0 + x * (x1 - x0) / clip_hw[1], y0 + y * (y1 - y0) / clip_hw[0])


@dataclass
class VideoInfo:
    """What an overlay needs to know of a source video."""
    fps: float
    num_frames: int
    height: int
    width: int


class SourceVideo:
    """Random-access frames of a video file or a folder of frames (RGB).

    Video files are read with decord, by path (mmaction2's ``DecordDecode``
    numbers frames the same way), else with PyAV; a frame folder (a
    RawframeDataset's ``frame_dir``) is its image files in name order.

    Args:
        path (str): The video file or frame folder.
        fps (float, optional): Frame rate when the source does not say.

    Raises:
        SourceError: It cannot be opened.
    """

    def __init__(self, path: str, fps: Optional[float] = None):
        self.path = path
        self._reader = self._files = None
        if path and osp.isdir(path):
            self._files = sorted(
                f for f in glob.glob(osp.join(path, '*'))
                if f.lower().endswith(IMAGE_EXTS))
            if not self._files:
                raise SourceError(f'no frames in {path}')
            first = cv2.imread(self._files[0])
            if first is None:
                raise SourceError(f'cannot read {self._files[0]}')
            self.info = VideoInfo(float(fps or DEFAULT_FPS), len(self._files),
                                  *first.shape[:2])
            return
        if not path or not osp.isfile(path):
            raise SourceError(f'source video not found: {path}')
        try:
            import decord
            self._reader = decord.VideoReader(path, num_threads=1)
            first = self._reader[0].asnumpy()
            rate = float(self._reader.get_avg_fps() or 0)
            self.info = VideoInfo(
                rate if rate > 0 else float(fps or DEFAULT_FPS),
                len(self._reader), *first.shape[:2])
        except Exception:  # noqa: BLE001 - decord missing or refuses it
            self._reader = None
            self._open_pyav(fps)

    def _open_pyav(self, fps):
        try:
            import av
            with av.open(self.path) as container:
                stream = container.streams.video[0]
                frames = [f.to_ndarray(format='rgb24')
                          for f in container.decode(stream)]
                rate = float(stream.average_rate or 0)
        except Exception as exc:  # noqa: BLE001 - any decoder error
            raise SourceError(f'cannot decode {self.path}: '
                              f'{type(exc).__name__}: {exc}') from exc
        if not frames:
            raise SourceError(f'no frames in {self.path}')
        self._frames = frames
        self.info = VideoInfo(rate if rate > 0 else float(fps or DEFAULT_FPS),
                              len(frames), *frames[0].shape[:2])

    def frames(self, indices: Sequence[int],
               chunk: int = 16) -> Iterator[np.ndarray]:
        """H×W×3 uint8 RGB frames at ``indices`` (clamped to the video),
        decoded ``chunk`` at a time."""
        last = self.info.num_frames - 1
        idx = [min(max(int(i), 0), last) for i in indices]
        for s in range(0, len(idx), chunk):
            part = idx[s:s + chunk]
            if self._files is not None:
                for i in part:
                    img = cv2.imread(self._files[i])
                    if img is None:
                        raise SourceError(f'cannot read {self._files[i]}')
                    yield img[..., ::-1]
            elif self._reader is not None:
                for img in self._reader.get_batch(part).asnumpy():
                    yield img
            else:
                for i in part:
                    yield self._frames[i]


@dataclass
class Timeline:
    """Which source frames an overlay shows, and the map frame of each.

    Attributes:
        frames (list): 0-based source frames, in order.
        map_index (list): For each, the map frame drawn on it: the last
            model frame at or before it (the first one before the clip's
            first frame).
        sampled (list): For each, whether the model saw that frame.
        fps (float): Frame rate of the overlay: the source's, divided by
            the step when frames are skipped.
        step (int): Every ``step``-th source frame is shown.
    """
    frames: List[int]
    map_index: List[int]
    sampled: List[bool]
    fps: float
    step: int


def timeline(source_inds: Sequence[int], info: VideoInfo,
             max_frames: int = 900) -> Timeline:
    """The source frames an overlay of a clip covers, at the video's speed.

    From the clip's first source frame to its last, plus the sampling
    interval (so the last model frame shows as long as the others). A span
    longer than ``max_frames`` (a 2D model's segments over a long video)
    keeps every ``step``-th frame and lowers the frame rate by as much, so
    the overlay still lasts as long as the video span.
    """
    src = np.asarray([min(max(i, 0), info.num_frames - 1)
                      for i in source_inds])
    uniq = np.unique(src)
    gap = int(np.median(np.diff(uniq))) if len(uniq) > 1 else 1
    first = int(src.min())
    last = min(int(src.max()) + max(gap, 1) - 1, info.num_frames - 1)
    span = last - first + 1
    step = max(1, math.ceil(span / max(int(max_frames), 1)))
    frames = list(range(first, last + 1, step))
    order = np.argsort(src, kind='stable')
    ssorted = src[order]
    map_index, sampled = [], []
    seen = set(src.tolist())
    for f in frames:
        k = int(np.searchsorted(ssorted, f, side='right')) - 1
        map_index.append(int(order[max(k, 0)]))
        sampled.append(f in seen)
    return Timeline(frames, map_index, sampled, info.fps / step, step)
