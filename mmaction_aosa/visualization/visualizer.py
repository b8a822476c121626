"""A visualizer in mmaction2's VISUALIZERS that draws saliency heat maps."""
import logging
import os
import os.path as osp
from typing import List, Optional, Sequence

import cv2
import numpy as np
from mmengine.dist import is_main_process
from mmengine.logging import print_log
from PIL import Image

from mmaction.registry import VISUALIZERS
from mmaction.visualization import ActionVisualizer

from ..fileio import atomic_path
from .overlay import label_text, overlay_frames, render_overlay


def write_gif(path: str, frames: np.ndarray, fps: float = 8.0) -> None:
    """Write RGB uint8 frames as a looping GIF (Pillow), atomically."""
    images = [Image.fromarray(f) for f in frames]
    with atomic_path(path) as tmp:
        images[0].save(tmp, format='GIF', save_all=True,
                       append_images=images[1:], duration=int(1000 / fps),
                       loop=0)


def _is_local(backend) -> bool:
    """mmengine's (or mmaction2's) LocalVisBackend: the overlay mp4 is
    already a file in ``vis/``; its ``add_video`` would write one PNG per
    frame, or need moviepy."""
    return any(c.__name__ == 'LocalVisBackend'
               for c in type(backend).__mro__)


_VIDEO_REFUSED = set()
#: Backends whose ``add_video`` needs moviepy: mmaction2's W&B one raises
#: without it, its TensorBoard one prints a line on every call (torch's
#: ``make_video``) and takes nothing.
NEEDS_MOVIEPY = ('TensorboardVisBackend', 'WandbVisBackend')


def _needs_moviepy(backend) -> bool:
    import importlib.util
    return any(c.__name__ in NEEDS_MOVIEPY for c in type(backend).__mro__) \
        and importlib.util.find_spec('moviepy') is None


def send_to_backends(visualizer, name: str, grid: Optional[np.ndarray],
                     video: Optional[np.ndarray] = None, step: int = 0,
                     fps: float = 8.0) -> List[str]:
    """Send an overlay to the vis backends of any mmengine visualizer.

    The frame grid goes to every backend through the visualizer's
    ``add_image`` (local files, TensorBoard, W&B, ...). The overlay video
    goes to each non-local backend that has ``add_video`` (mmaction2's
    TensorBoard and W&B backends); one that fails (they need moviepy,
    which this package does not install) is told once in a warning and
    skipped from then on. Only the main process sends, as mmengine
    visualizers do.

    Returns:
        list: Names of the backends that took the video.
    """
    if visualizer is None or not is_main_process():
        return []
    if grid is not None:
        visualizer.add_image(name, grid, step=step)
    took = []
    if video is None:
        return took
    for key, backend in getattr(visualizer, '_vis_backends', {}).items():
        kind = type(backend).__name__
        if _is_local(backend) or not hasattr(backend, 'add_video') or (
                kind in _VIDEO_REFUSED):
            continue
        try:
            if _needs_moviepy(backend):
                raise ImportError('moviepy is not installed')
            backend.add_video(name, video, step=step, fps=int(round(fps)))
            took.append(key)
        except Exception as exc:  # noqa: BLE001 - the image still went
            _VIDEO_REFUSED.add(kind)
            why = (str(exc).strip().splitlines() or [''])[0]
            print_log(f'{kind} did not take the overlay video '
                      f'({type(exc).__name__}: {why}); it gets the frame '
                      'grid, the mp4 is in vis/', logger='current',
                      level=logging.WARNING)
    return took


def _takes_video(visualizer) -> bool:
    """Whether a backend of ``visualizer`` would take the overlay video."""
    if visualizer is None or not is_main_process():
        return False
    return any(not _is_local(b) and hasattr(b, 'add_video') and
               type(b).__name__ not in _VIDEO_REFUSED
               for b in getattr(visualizer, '_vis_backends', {}).values())


def save_overlay(name: str, frames: Optional[np.ndarray],
                 saliency: np.ndarray,
                 target: Optional[int] = None, score: Optional[float] = None,
                 class_names: Optional[Sequence[str]] = None,
                 alpha: float = 0.5, fps: float = 8.0,
                 out_dir: Optional[str] = None, out_type: str = 'video',
                 grid: bool = True, visualizer=None, step: int = 0,
                 source: Optional[str] = None,
                 geometry: Optional[dict] = None,
                 method: Optional[str] = None) -> dict:
    """Draw one video's overlay, write it, and send it to ``visualizer``.

    With ``source`` and ``geometry`` the overlay is drawn on the source
    video at its own size and frame rate (:func:`render_overlay`); else,
    or when the source cannot be read, on ``frames`` at ``fps``.

    Args:
        name (str): Video id (file stem of the outputs).
        frames (np.ndarray, optional): T×H×W×3 RGB frames of the clip,
            0..255.
        saliency (np.ndarray): T×H×W map.
        target, score: Class and probability for the label.
        class_names (Sequence[str], optional): Names for the label.
        alpha (float): Weight of the heat map in the blend.
        fps (float): Frame rate of an overlay drawn on ``frames``.
        out_dir (str, optional): Where files go; none if None.
        out_type (str): ``'video'`` (mp4), ``'gif'`` or ``'none'``.
        grid (bool): Also write ``<name>.png`` (8 frames, 4 per row).
        visualizer (Visualizer, optional): Any mmengine visualizer (the
            runner's); gets the grid and the video (:func:`send_to_backends`).
        step (int): Step for the vis backends.
        source (str, optional): The video file (or frame folder).
        geometry (dict, optional): The map's geometry (frame indices,
            resize, crop).
        method (str, optional): The explainer's name, for the label band.

    Returns:
        dict: Paths written, by kind, and ``on_source`` (whether the
        overlay is on the source video) and ``why`` (why not).
    """
    if out_type not in ('video', 'gif', 'none'):
        raise ValueError(f'unknown out_type {out_type!r}')
    text = '' if target is None else label_text(
        int(target), float(score or 0.0), class_names)
    written = {}
    video_path = None
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
        if out_type == 'video':
            video_path = written['video'] = osp.join(out_dir, f'{name}.mp4')
    wants = out_type == 'gif' or (out_type != 'none' and
                                  _takes_video(visualizer))
    drawn = render_overlay(saliency, frames=frames, source=source,
                           geometry=geometry, label=text, method=method,
                           alpha=alpha, fps=fps, video_path=video_path,
                           collect=wants)
    if out_dir and out_type == 'gif':
        written['gif'] = osp.join(out_dir, f'{name}.gif')
        write_gif(written['gif'], drawn['frames'], drawn['fps'])
    img = drawn['grid'] if grid else None
    if img is not None and out_dir:
        written['grid'] = osp.join(out_dir, f'{name}.png')
        with atomic_path(written['grid']) as tmp:
            if not cv2.imwrite(tmp, img[..., ::-1]):
                raise RuntimeError(f'cannot write {tmp}')
    send_to_backends(visualizer, name, img,
                     np.stack(drawn['frames']) if drawn['frames'] else None,
                     step, drawn['fps'])
    written['on_source'] = drawn['on_source']
    written['why'] = drawn['why']
    return written


@VISUALIZERS.register_module()
class SaliencyVisualizer(ActionVisualizer):
    """ActionVisualizer that overlays saliency maps on clips.

    :meth:`add_saliency` writes, for one video, an overlay video (H.264
    mp4 through PyAV, or GIF by Pillow: no moviepy needed) and a PNG grid
    of frames to ``out_dir`` on every rank, and sends the grid (and the
    video, where a backend takes one) to the configured vis backends from
    rank 0 (:func:`save_overlay`). Any other mmengine visualizer works
    with :func:`save_overlay` too; this one adds the class names, the
    blend weight and the frame rate.

    Args:
        alpha (float): Weight of the heat map in the blend.
        class_names (Sequence[str], optional): Names for the labels.
        fps (float): Frame rate of overlays drawn on the model's clip
            (overlays on the source video keep the video's).
        **kwargs: Passed to :class:`ActionVisualizer` (``vis_backends``,
            ``save_dir``, ...).
    """

    def __init__(self, name: str = 'visualizer', alpha: float = 0.5,
                 class_names: Optional[Sequence[str]] = None,
                 fps: float = 8.0, **kwargs):
        super().__init__(name=name, **kwargs)
        self.alpha = alpha
        self.class_names = list(class_names) if class_names else None
        self.fps = fps

    def draw_saliency(self, frames: np.ndarray, saliency: np.ndarray,
                      target: Optional[int] = None,
                      score: Optional[float] = None) -> np.ndarray:
        """T×H×W×3 RGB overlay of ``saliency`` on ``frames``."""
        text = None if target is None else label_text(
            int(target), float(score or 0.0), self.class_names)
        return overlay_frames(frames, saliency, self.alpha, text)

    def add_saliency(self, name: str, frames: np.ndarray,
                     saliency: np.ndarray, target: Optional[int] = None,
                     score: Optional[float] = None,
                     out_dir: Optional[str] = None, out_type: str = 'video',
                     grid: bool = True, step: int = 0,
                     source: Optional[str] = None,
                     geometry: Optional[dict] = None,
                     method: Optional[str] = None) -> dict:
        """Draw and save one video's overlay.

        Args:
            name (str): Video id (file stem of the outputs).
            frames (np.ndarray): T×H×W×3 RGB frames, 0..255.
            saliency (np.ndarray): T×H×W map.
            target, score: Class and probability for the label.
            out_dir (str, optional): Where files go; none if None.
            out_type (str): ``'video'`` (mp4), ``'gif'`` or ``'none'``.
            grid (bool): Also write ``<name>.png`` (8 frames, 4 per row).
            step (int): Step for the vis backends.
            source (str, optional): The source video: the overlay is drawn
                on it at its own size and frame rate (with ``geometry``).
            geometry (dict, optional): The map's geometry.
            method (str, optional): The explainer's name, for the label.

        Returns:
            dict: Paths written, by kind (:func:`save_overlay`).
        """
        return save_overlay(name, frames, saliency, target, score,
                            self.class_names, self.alpha, self.fps, out_dir,
                            out_type, grid, visualizer=self, step=step,
                            source=source, geometry=geometry, method=method)
