"""Heat-map overlays of saliency maps, at the source video's own size.

:func:`render_overlay` draws one video's overlay: the map taken back
through the clip's geometry onto the source frames
(:mod:`~mmaction_aosa.visualization.source`), the model's crop outlined and
the rest of the frame dimmed, every source frame of the clip's span at the
video's frame rate, and under each frame a band of its own with the class
name and score, the method, the frame index and time, and a colour bar.
Frames smaller than :data:`MIN_SIDE` are enlarged by a whole factor (each
pixel a block) so that the band's text stays readable; frames larger than
:data:`MAX_SIDE` are shrunk. Without a readable source (or its geometry)
the overlay is drawn on the model's clip instead.
"""
import functools
import math
import os.path as osp
from typing import Iterable, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..fileio import atomic_path
from ..video import Mp4Writer, write_mp4
from .source import (SourceError, SourceVideo, crop_in_source,
                     source_frame_indices, timeline)

#: Overlays of frames whose shorter side is below this are enlarged by a
#: whole factor (so that the label band is readable).
MIN_SIDE = 240
#: Overlays of frames whose longer side is above this are shrunk to it.
MAX_SIDE = 1920
#: Width of one panel of the PNG grid, at most.
GRID_PANEL_WIDTH = 480
#: Brightness of the frame outside the model's crop.
OUTSIDE = 0.5


def normalize_map(saliency: np.ndarray) -> np.ndarray:
    """Scale a map to [0, 1] over the whole clip (0 if constant)."""
    s = np.asarray(saliency, np.float32)
    lo, hi = float(s.min()), float(s.max())
    if hi - lo < 1e-12:
        return np.zeros_like(s)
    return (s - lo) / (hi - lo)


def class_name(target: Optional[int],
               class_names: Optional[Sequence[str]] = None) -> str:
    """The name of class ``target``, or ``class N`` without names."""
    if target is None:
        return 'no class'
    target = int(target)
    if class_names and 0 <= target < len(class_names):
        return str(class_names[target])
    return f'class {target}'


def class_label(target: Optional[int],
                class_names: Optional[Sequence[str]] = None) -> str:
    """``name (class N)``, or ``class N`` without names (log lines)."""
    name = class_name(target, class_names)
    return name if name.startswith('class ') or target is None else \
        f'{name} (class {int(target)})'


def label_text(target: int, score: float,
               class_names: Optional[Sequence[str]] = None) -> str:
    """``name: 0.87``: the class and its probability."""
    return f'{class_name(target, class_names)}: {score:.2f}'


def display_scale(height: int, width: int, min_side: int = MIN_SIDE,
                  max_side: int = MAX_SIDE) -> float:
    """Scale of an overlay of a ``height``×``width`` frame: a whole factor
    up to ``min_side`` on the shorter side, or down to ``max_side`` on the
    longer, else 1."""
    short, long_ = min(height, width), max(height, width)
    if short < min_side:
        return float(math.ceil(min_side / max(short, 1)))
    if long_ > max_side:
        return max_side / long_
    return 1.0


def colorize(norm: np.ndarray, colormap: int = cv2.COLORMAP_JET
             ) -> np.ndarray:
    """H×W values in [0, 1] → H×W×3 RGB uint8."""
    heat = np.clip(norm * 255 + 0.5, 0, 255).astype(np.uint8)
    return cv2.applyColorMap(heat, colormap)[..., ::-1]


@functools.lru_cache(maxsize=64)
def _font(px: int) -> ImageFont.ImageFont:
    """A scalable font of ``px`` pixels: Pillow's own (Pillow >= 10.1), else
    the DejaVu Sans that matplotlib ships; Pillow's fixed-size bitmap font
    only when neither loads."""
    try:
        return ImageFont.load_default(size=px)
    except TypeError:  # Pillow < 10.1 has no scalable default font
        pass
    try:
        import matplotlib
        return ImageFont.truetype(
            osp.join(matplotlib.get_data_path(), 'fonts', 'ttf',
                     'DejaVuSans.ttf'), px)
    except (ImportError, OSError):
        return ImageFont.load_default()


def _text_width(font, text: str) -> int:
    box = font.getbbox(text)
    return box[2] - box[0]


def _drawable(font, text: str) -> Tuple[str, str]:
    """``text`` and the ellipsis as ``font`` can draw them: Pillow's bitmap
    default font (Pillow < 10.1) only has Latin-1, so other characters
    become '?' there and the ellipsis is three dots."""
    if isinstance(font, ImageFont.FreeTypeFont):
        return text, '…'
    return text.encode('latin-1', 'replace').decode('latin-1'), '...'


def _fit(text: str, width: int, px: int, min_px: int = 10
         ) -> Tuple[str, ImageFont.ImageFont]:
    """The largest font (``px`` down to ``min_px``) that fits ``text`` into
    ``width``; cut with '…' when even the smallest does not."""
    text, ellipsis = _drawable(_font(px), text)
    size = px
    while size > min_px and _text_width(_font(size), text) > width:
        size -= 1
    font = _font(size)
    if _text_width(font, text) <= width:
        return text, font
    while len(text) > 1 and _text_width(font, text + ellipsis) > width:
        text = text[:-1]
    return text + ellipsis, font


class LabelBand:
    """The band under each frame: class and score, method, frame index and
    time, and a colour bar (low → high saliency, per clip).

    The font grows with the frame (4.5 % of its height, at least 14 px); a
    narrow frame gets three rows instead of two.

    Args:
        width (int): Width of the frame the band sits under.
        height (int): Height of that frame (sets the font size).
        label (str): Class and score.
        method (str, optional): The explainer's name.
        colormap (int): OpenCV colour map of the heat map.
    """

    def __init__(self, width: int, height: int, label: str,
                 method: Optional[str] = None,
                 colormap: int = cv2.COLORMAP_JET):
        self.width = width
        self.px = max(14, int(round(0.045 * height)))
        self.pad = max(3, self.px // 3)
        self.row = int(round(self.px * 1.35))
        self.narrow = width < 36 * self.px
        rows = 3 if self.narrow else 2
        self.height = rows * self.row + 2 * self.pad
        self.height += self.height % 2  # even: H.264 (yuv420p) pads odd sizes
        self.label = label
        self.method = method or ''
        self.colormap = colormap
        self._static = self._draw_static()

    def _colour_bar(self, draw: ImageDraw.ImageDraw, img: Image.Image,
                    right: int, top: int) -> int:
        """Draw 'low [bar] high' ending at x=right; returns its left x."""
        font = _font(max(10, int(self.px * 0.8)))
        bar_w = int(min(self.width * 0.3, 10 * self.px))
        bar_h = max(6, int(self.px * 0.6))
        hi_w = _text_width(font, 'high')
        lo_w = _text_width(font, 'low')
        x_bar = right - hi_w - self.pad - bar_w
        ramp = colorize(np.tile(np.linspace(0, 1, bar_w)[None], (bar_h, 1)),
                        self.colormap)
        y_bar = top + (self.row - bar_h) // 2
        img.paste(Image.fromarray(ramp), (x_bar, y_bar))
        draw.rectangle((x_bar - 1, y_bar - 1, x_bar + bar_w, y_bar + bar_h),
                       outline=(200, 200, 200))
        ty = top + (self.row - self.px) // 2
        draw.text((x_bar + bar_w + self.pad, ty), 'high', font=font,
                  fill=(230, 230, 230))
        draw.text((x_bar - self.pad - lo_w, ty), 'low', font=font,
                  fill=(230, 230, 230))
        return x_bar - self.pad - lo_w

    def _draw_static(self) -> np.ndarray:
        img = Image.new('RGB', (self.width, self.height), (24, 24, 24))
        draw = ImageDraw.Draw(img)
        top = self.pad
        avail = self.width - 2 * self.pad
        method_w = 0
        if self.method and not self.narrow:
            text, font = _fit(self.method, avail // 3, int(self.px * 0.85))
            method_w = _text_width(font, text) + 2 * self.pad
            draw.text((self.width - self.pad - method_w + 2 * self.pad, top),
                      text, font=font, fill=(180, 180, 180))
        text, font = _fit(self.label, avail - method_w, self.px)
        draw.text((self.pad, top), text, font=font, fill=(255, 255, 255))
        if self.narrow:
            bar_top = self.pad + 2 * self.row
            left = self._colour_bar(draw, img, self.width - self.pad,
                                    bar_top)
            if self.method:
                text, font = _fit(self.method, left - 2 * self.pad,
                                  int(self.px * 0.85))
                draw.text((self.pad, bar_top), text, font=font,
                          fill=(180, 180, 180))
            self._caption_right = self.width - self.pad
        else:
            left = self._colour_bar(draw, img, self.width - self.pad,
                                    self.pad + self.row)
            self._caption_right = left - self.pad
        return np.asarray(img)

    def draw(self, caption: str) -> np.ndarray:
        """The band with this frame's ``caption`` (frame index, time)."""
        img = Image.fromarray(self._static.copy())
        draw = ImageDraw.Draw(img)
        text, font = _fit(caption, self._caption_right - self.pad,
                          int(self.px * 0.9))
        draw.text((self.pad, self.pad + self.row), text, font=font,
                  fill=(220, 220, 220))
        return np.asarray(img)


class OverlayPainter:
    """Draws the frames of one overlay.

    Args:
        saliency (np.ndarray): T×H×W map (normalised over the clip).
        frame_hw (tuple): (height, width) of the frames it is drawn on.
        crop (tuple, optional): The map's place on those frames, (x0, y0,
            x1, y1) in their pixels; None: the whole frame.
        label (str): Class and score for the band.
        method (str, optional): The explainer, for the band.
        alpha (float): Weight of the heat map in the blend.
        scale (float, optional): Overlay size / frame size; default
            :func:`display_scale`.
        colormap (int): OpenCV colour map.
    """

    def __init__(self, saliency: np.ndarray, frame_hw: Tuple[int, int],
                 crop: Optional[Sequence[float]] = None, label: str = '',
                 method: Optional[str] = None, alpha: float = 0.5,
                 scale: Optional[float] = None,
                 colormap: int = cv2.COLORMAP_JET):
        self.norm = normalize_map(saliency)
        h, w = frame_hw
        self.scale = display_scale(h, w) if scale is None else float(scale)
        self.size = (max(1, int(round(h * self.scale))),
                     max(1, int(round(w * self.scale))))
        dh, dw = self.size
        if crop is None:
            crop = (0.0, 0.0, float(w), float(h))
        self.crop = tuple(float(c) * self.scale for c in crop)
        # outlined (and the rest dimmed) unless the map covers the frame
        self.outline = not (
            self.crop[0] <= 0.5 and self.crop[1] <= 0.5 and
            self.crop[2] >= dw - 0.5 and self.crop[3] >= dh - 0.5)
        self.alpha = float(alpha)
        self.colormap = colormap
        self.band = LabelBand(dw, dh, label, method, colormap)
        self._heat = {}

    @property
    def out_size(self) -> Tuple[int, int]:
        """(height, width) of a drawn frame, band included."""
        return self.size[0] + self.band.height, self.size[1]

    def _heat_of(self, t: int) -> Tuple[np.ndarray, tuple]:
        """Map frame t coloured at the crop's size on the overlay, and the
        part of it inside the frame: (heat, (fy0, fy1, fx0, fx1, hy0,
        hx0))."""
        if t not in self._heat:
            x0, y0, x1, y1 = self.crop
            cw = max(1, int(round(x1 - x0)))
            ch = max(1, int(round(y1 - y0)))
            m = cv2.resize(self.norm[t], (cw, ch),
                           interpolation=cv2.INTER_LINEAR)
            heat = colorize(m, self.colormap)
            ix0, iy0 = int(round(x0)), int(round(y0))
            dh, dw = self.size
            fx0, fy0 = max(ix0, 0), max(iy0, 0)
            fx1, fy1 = min(ix0 + cw, dw), min(iy0 + ch, dh)
            self._heat = {t: (heat, (fy0, fy1, fx0, fx1, fy0 - iy0,
                                     fx0 - ix0))}
        return self._heat[t]

    def paint(self, frame: np.ndarray, t: int, caption: str = ''
              ) -> np.ndarray:
        """One overlay frame: ``frame`` (H×W×3 RGB) with map frame ``t``,
        and the band with ``caption`` under it."""
        dh, dw = self.size
        frame = np.ascontiguousarray(np.clip(frame, 0, 255).astype(np.uint8))
        if frame.shape[:2] != (dh, dw):
            interp = (cv2.INTER_NEAREST if self.scale >= 1 else
                      cv2.INTER_AREA)
            frame = cv2.resize(frame, (dw, dh), interpolation=interp)
        heat, (fy0, fy1, fx0, fx1, hy, hx) = self._heat_of(t)
        out = frame.copy()
        if self.outline:
            out = (out.astype(np.float32) * OUTSIDE).astype(np.uint8)
        if fy1 > fy0 and fx1 > fx0:
            region = frame[fy0:fy1, fx0:fx1]
            part = heat[hy:hy + fy1 - fy0, hx:hx + fx1 - fx0]
            out[fy0:fy1, fx0:fx1] = cv2.addWeighted(
                region, 1 - self.alpha, part, self.alpha, 0)
            if self.outline:
                th = max(1, int(round(min(dh, dw) / 240)))
                cv2.rectangle(out, (fx0, fy0), (fx1 - 1, fy1 - 1),
                              (255, 255, 255), th, cv2.LINE_AA)
        return np.concatenate([out, self.band.draw(caption)], axis=0)


def frame_grid(frames: Sequence[np.ndarray], num: int = 8,
               cols: int = 4) -> np.ndarray:
    """A grid of ``num`` evenly spaced frames (RGB uint8) for a PNG."""
    T = len(frames)
    idx = np.linspace(0, T - 1, min(num, T)).round().astype(int)
    picked = [frames[i] for i in idx]
    while len(picked) % cols:
        picked.append(np.zeros_like(picked[0]))
    rows = [np.concatenate(picked[r:r + cols], axis=1)
            for r in range(0, len(picked), cols)]
    return np.concatenate(rows, axis=0)


def _grid_picks(num_frames: int, num: int = 8) -> List[int]:
    return sorted(set(np.linspace(0, num_frames - 1,
                                  min(num, num_frames)).round().astype(int)
                      .tolist()))


def _caption(src: int, fps: float, total: int, t: int, num_t: int,
             sampled: bool) -> str:
    seen = f'model frame {t + 1}/{num_t}' if sampled else \
        f'after model frame {t + 1}/{num_t}'
    return f'frame {src} of {total}, {src / fps:.2f} s · {seen}'


def render_overlay(saliency: np.ndarray,
                   frames: Optional[np.ndarray] = None,
                   source: Optional[str] = None,
                   geometry: Optional[dict] = None,
                   label: str = '',
                   method: Optional[str] = None,
                   alpha: float = 0.5,
                   fps: float = 8.0,
                   video_path: Optional[str] = None,
                   collect: bool = False,
                   max_frames: int = 900,
                   colormap: int = cv2.COLORMAP_JET) -> dict:
    """Draw one video's overlay; write it as mp4 while drawing.

    With ``source`` (the video file or frame folder) and ``geometry`` (of
    the map: ``frame_inds``, ``scale_factor``, ``crop_bbox``) the overlay
    shows every source frame from the clip's first to its last sampled
    frame at the source's size and frame rate; each shows the map of the
    last model frame at or before it, the crop outlined. Otherwise (or
    when the source cannot be read) it is drawn on ``frames``, the model's
    clip, at ``fps``.

    Args:
        saliency (np.ndarray): T×H×W map.
        frames (np.ndarray, optional): The clip's T×H×W×3 RGB frames.
        source (str, optional): The source video or frame folder.
        geometry (dict, optional): The map's geometry.
        label (str): Class and score, for the band.
        method (str, optional): The explainer, for the band.
        alpha (float): Weight of the heat map.
        fps (float): Frame rate of an overlay on ``frames``.
        video_path (str, optional): Write the overlay here (mp4,
            atomically).
        collect (bool): Also return every drawn frame (for a GIF or a vis
            backend).
        max_frames (int): At most this many source frames (see
            :func:`~mmaction_aosa.visualization.source.timeline`).

    Returns:
        dict: ``grid`` (the 8-frame PNG grid, RGB), ``fps``, ``size``
        ((height, width) of a frame, band included), ``num_frames``,
        ``on_source`` (drawn on the source video), ``why`` (why not, or
        None), ``codec``, ``frames`` (with ``collect``).

    Raises:
        ValueError: neither a readable source nor ``frames``.
    """
    saliency = np.asarray(saliency, np.float32)
    T, H, W = saliency.shape
    why = None
    plan = None
    if source is not None and geometry is not None:
        try:
            video = SourceVideo(source, fps=(geometry or {}).get('avg_fps'))
            src_inds = source_frame_indices(geometry, T)
            plan = timeline(src_inds, video.info, max_frames)
            crop = crop_in_source(geometry, (H, W))
        except SourceError as exc:
            why = str(exc)
    elif source is None:
        why = 'no source video'
    else:
        why = 'no geometry'
    if plan is None and frames is None:
        raise ValueError(f'cannot draw an overlay: {why} and no clip frames')
    if plan is not None:
        info = video.info
        painter = OverlayPainter(saliency, (info.height, info.width), crop,
                                 label, method, alpha, colormap=colormap)
        gscale = min(painter.scale, GRID_PANEL_WIDTH / info.width)
        gpainter = OverlayPainter(saliency, (info.height, info.width), crop,
                                  label, method, alpha, scale=gscale,
                                  colormap=colormap)
        picks = _grid_picks(T)

        def stream():
            for f, t, seen, img in zip(plan.frames, plan.map_index,
                                       plan.sampled,
                                       video.frames(plan.frames)):
                yield painter.paint(img, t, _caption(
                    f, info.fps, info.num_frames, t, T, seen))
        grid_frames = [gpainter.paint(img, t, _caption(
            src_inds[t], info.fps, info.num_frames, t, T, True))
            for t, img in zip(picks, video.frames([src_inds[t]
                                                   for t in picks]))]
        out_fps = plan.fps
        num = len(plan.frames)
    else:
        frames = np.asarray(frames)
        painter = OverlayPainter(saliency, (H, W), None, label, method,
                                 alpha, colormap=colormap)
        gscale = min(painter.scale, GRID_PANEL_WIDTH / W)
        gpainter = OverlayPainter(saliency, (H, W), None, label, method,
                                  alpha, scale=gscale, colormap=colormap)

        def stream():
            for t in range(T):
                yield painter.paint(frames[t], t,
                                    f'model frame {t + 1}/{T}')
        grid_frames = [gpainter.paint(frames[t], t,
                                      f'model frame {t + 1}/{T}')
                       for t in _grid_picks(T)]
        out_fps = fps
        num = T
    kept: List[np.ndarray] = []
    codec = None
    if video_path:
        with atomic_path(video_path) as tmp:
            with Mp4Writer(tmp, out_fps) as writer:
                for img in stream():
                    writer.write(img)
                    if collect:
                        kept.append(img)
            codec = writer.codec
    elif collect:
        kept = list(stream())
    return dict(grid=frame_grid(grid_frames, num=len(grid_frames)),
                fps=out_fps, size=painter.out_size, num_frames=num,
                on_source=plan is not None, why=why, codec=codec,
                frames=kept if collect else None)


def overlay_frames(frames: np.ndarray, saliency: np.ndarray,
                   alpha: float = 0.5, text: Optional[str] = None,
                   colormap: int = cv2.COLORMAP_JET,
                   method: Optional[str] = None) -> np.ndarray:
    """Blend a colour heat map over each frame of a clip, a label band
    (``text``, frame index, colour bar) under each.

    Args:
        frames (np.ndarray): T×H×W×3 RGB, 0..255.
        saliency (np.ndarray): T×H×W map (any range; normalised per clip).
        alpha (float): Weight of the heat map.
        text (str, optional): The band's label (class and score).

    Returns:
        np.ndarray: T×H'×W'×3 uint8 RGB (enlarged as
        :func:`display_scale` says, band included).
    """
    return np.stack(render_overlay(
        saliency, frames=frames, label=text or '', method=method,
        alpha=alpha, colormap=colormap, collect=True)['frames'])


def write_video(path: str, frames: Iterable[np.ndarray],
                fps: float = 8.0) -> str:
    """Write T×H×W×3 RGB uint8 frames as an H.264 mp4 (browsers play it;
    MPEG-4 Part 2 without libx264), atomically.

    Returns:
        str: The codec used.
    """
    with atomic_path(path) as tmp:
        return write_mp4(frames, tmp, fps)
