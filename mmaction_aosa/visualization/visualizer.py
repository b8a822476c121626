"""A visualizer in mmaction2's VISUALIZERS that draws saliency heat maps."""
import os
import os.path as osp
from typing import Optional, Sequence

import cv2
import numpy as np
from PIL import Image

from mmaction.registry import VISUALIZERS
from mmaction.visualization import ActionVisualizer

from ..fileio import atomic_path
from .overlay import frame_grid, label_text, overlay_frames, write_video


def write_gif(path: str, frames: np.ndarray, fps: float = 8.0) -> None:
    """Write RGB uint8 frames as a looping GIF (Pillow), atomically."""
    images = [Image.fromarray(f) for f in frames]
    with atomic_path(path) as tmp:
        images[0].save(tmp, format='GIF', save_all=True,
                       append_images=images[1:], duration=int(1000 / fps),
                       loop=0)


@VISUALIZERS.register_module()
class SaliencyVisualizer(ActionVisualizer):
    """ActionVisualizer that overlays saliency maps on clips.

    :meth:`add_saliency` writes, for one video, an overlay video (mp4 by
    OpenCV, or GIF by Pillow: no moviepy needed) and a PNG grid of frames
    to ``out_dir`` on every rank, and sends the grid to the configured vis
    backends (local files, TensorBoard, W&B, ...) from rank 0, as mmengine
    visualizers do.

    Args:
        alpha (float): Weight of the heat map in the blend.
        class_names (Sequence[str], optional): Names for the labels.
        fps (float): Frame rate of the written videos.
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
                     grid: bool = True, step: int = 0) -> dict:
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

        Returns:
            dict: Paths written, by kind.
        """
        drawn = self.draw_saliency(frames, saliency, target, score)
        written = {}
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
            if out_type == 'video':
                written['video'] = osp.join(out_dir, f'{name}.mp4')
                write_video(written['video'], drawn, self.fps)
            elif out_type == 'gif':
                written['gif'] = osp.join(out_dir, f'{name}.gif')
                write_gif(written['gif'], drawn, self.fps)
            elif out_type != 'none':
                raise ValueError(f'unknown out_type {out_type!r}')
        if grid:
            img = frame_grid(drawn)
            if out_dir:
                written['grid'] = osp.join(out_dir, f'{name}.png')
                with atomic_path(written['grid']) as tmp:
                    if not cv2.imwrite(tmp, img[..., ::-1]):
                        raise RuntimeError(f'cannot write {tmp}')
            self.add_image(name, img, step=step)  # vis backends, rank 0
        return written
