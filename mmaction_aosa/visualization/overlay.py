"""Heat-map overlays of saliency maps on the frames of a clip."""
from typing import Optional, Sequence

import cv2
import numpy as np

from ..fileio import atomic_path
from ..video import write_mp4


def normalize_map(saliency: np.ndarray) -> np.ndarray:
    """Scale a map to [0, 1] over the whole clip (0 if constant)."""
    s = np.asarray(saliency, np.float32)
    lo, hi = float(s.min()), float(s.max())
    if hi - lo < 1e-12:
        return np.zeros_like(s)
    return (s - lo) / (hi - lo)


def overlay_frames(frames: np.ndarray, saliency: np.ndarray,
                   alpha: float = 0.5, text: Optional[str] = None,
                   colormap: int = cv2.COLORMAP_JET) -> np.ndarray:
    """Blend a colour heat map over each frame.

    Args:
        frames (np.ndarray): T×H×W×3 RGB, 0..255.
        saliency (np.ndarray): T×H×W map (any range; normalised per clip).
        alpha (float): Weight of the heat map.
        text (str, optional): Drawn on every frame (e.g. class and score).

    Returns:
        np.ndarray: T×H×W×3 uint8 RGB.
    """
    frames = np.ascontiguousarray(np.clip(frames, 0, 255).astype(np.uint8))
    heat = (normalize_map(saliency) * 255).astype(np.uint8)
    out = np.empty(frames.shape, np.uint8)
    for t in range(len(frames)):
        colour = cv2.applyColorMap(heat[t], colormap)[..., ::-1]  # BGR→RGB
        out[t] = cv2.addWeighted(frames[t], 1 - alpha, colour, alpha, 0)
        if text:
            scale = max(frames.shape[2] / 320, 0.3)
            cv2.putText(out[t], text, (3, int(14 * scale) + 2),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.45 * scale,
                        (255, 255, 255), 1, cv2.LINE_AA)
    return out


def write_video(path: str, frames: np.ndarray, fps: float = 8.0) -> str:
    """Write T×H×W×3 RGB uint8 frames as an H.264 mp4 (browsers play it;
    MPEG-4 Part 2 without libx264), atomically.

    Returns:
        str: The codec used.
    """
    with atomic_path(path) as tmp:
        return write_mp4(frames, tmp, fps)


def frame_grid(frames: np.ndarray, num: int = 8,
               cols: int = 4) -> np.ndarray:
    """A grid of ``num`` evenly spaced frames (RGB uint8) for a PNG."""
    T = len(frames)
    idx = np.linspace(0, T - 1, min(num, T)).round().astype(int)
    picked = [frames[i] for i in idx]
    while len(picked) % cols:
        picked.append(np.zeros_like(frames[0]))
    rows = [np.concatenate(picked[r:r + cols], axis=1)
            for r in range(0, len(picked), cols)]
    return np.concatenate(rows, axis=0)


def label_text(target: int, score: float,
               class_names: Optional[Sequence[str]] = None) -> str:
    name = class_names[target] if class_names and 0 <= target < len(
        class_names) else f'class {target}'
    return f'{name}: {score:.2f}'
