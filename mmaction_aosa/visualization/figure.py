"""A figure for a paper: one video, methods as rows, frames as columns.

The layout of the AOSA paper's qualitative figures: each row one method's
map, each column one frame of the explained clip, every panel the model's
crop of the source frame at the source's resolution with the map blended
over it, the method names on the left, frame index and time on top, and
one colour bar for all panels (each map scaled to [0, 1] over its clip:
methods' raw units differ). Written as PNG and PDF at print resolution by
``tools/figure.py``.
"""
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..structures import load_map
from .overlay import colorize, normalize_map
from .source import (SourceError, SourceVideo, crop_in_source,
                     source_frame_indices)


@dataclass
class FigureRow:
    """One method's row: its label, map file and what the map holds."""
    label: str
    path: str
    saliency: np.ndarray
    geometry: dict
    source: str
    target: int
    score: float


def find_map(folder: str, video: str) -> Optional[str]:
    """``video``'s map in a run's folder: ``<folder>/maps/<video>.npz`` (an
    explain work dir or an eval method folder) or ``<folder>/<video>.npz``
    (a maps folder)."""
    for cand in (osp.join(folder, 'maps', f'{video}.npz'),
                 osp.join(folder, f'{video}.npz')):
        if osp.isfile(cand):
            return cand
    return None


def row_label(folder: str) -> str:
    """A row's default label: an eval method folder's ``label.txt``, else
    the folder's name."""
    from ..evaluation.report import method_label
    return method_label(folder)


def load_rows(folders: Sequence[str], video: str,
              labels: Optional[Sequence[str]] = None,
              source: Optional[str] = None) -> List[FigureRow]:
    """The rows of a figure: ``video``'s map in each folder.

    Raises:
        FileNotFoundError: a folder has no map of ``video``.
    """
    rows = []
    for i, folder in enumerate(folders):
        path = find_map(folder, video)
        if path is None:
            raise FileNotFoundError(f'no map of {video} in {folder} (looked '
                                    'for maps/<video>.npz and <video>.npz)')
        m = load_map(path)
        rows.append(FigureRow(
            label=labels[i] if labels else row_label(folder), path=path,
            saliency=np.asarray(m['saliency'], np.float32),
            geometry=m.get('geometry') or {},
            source=source or m.get('video') or '', target=int(m['target']),
            score=float(m['score'])))
    return rows


def pick_frames(num_frames: int, num: int) -> List[int]:
    """``num`` evenly spaced frames of a clip of ``num_frames``."""
    num = max(1, min(int(num), num_frames))
    return np.linspace(0, num_frames - 1, num).round().astype(int).tolist()


def panels(row: FigureRow, frames: Sequence[int], alpha: float = 0.5,
           colormap: int = cv2.COLORMAP_JET
           ) -> Tuple[List[np.ndarray], List[str]]:
    """The panels of one row: for each chosen map frame, the model's crop
    of the source frame (source resolution) with the map over it, and a
    caption (source frame and time).

    Raises:
        SourceError: the source video cannot be read or its geometry is
            missing.
    """
    T, H, W = row.saliency.shape
    video = SourceVideo(row.source, fps=row.geometry.get('avg_fps'))
    src = source_frame_indices(row.geometry, T)
    x0, y0, x1, y1 = crop_in_source(row.geometry, (H, W))
    info = video.info
    bx0, by0 = max(int(round(x0)), 0), max(int(round(y0)), 0)
    bx1 = min(int(round(x1)), info.width)
    by1 = min(int(round(y1)), info.height)
    if bx1 <= bx0 or by1 <= by0:
        raise SourceError(f'the crop {x0:.0f},{y0:.0f},{x1:.0f},{y1:.0f} '
                          f'misses the {info.width}×{info.height} video')
    norm = normalize_map(row.saliency)
    out, captions = [], []
    for t, img in zip(frames, video.frames([src[t] for t in frames])):
        # the map covers the whole crop; the part inside the frame is kept
        full_w = max(1, int(round(x1 - x0)))
        full_h = max(1, int(round(y1 - y0)))
        heat = colorize(cv2.resize(norm[t], (full_w, full_h),
                                   interpolation=cv2.INTER_LINEAR), colormap)
        hx, hy = bx0 - int(round(x0)), by0 - int(round(y0))
        heat = heat[hy:hy + by1 - by0, hx:hx + bx1 - bx0]
        crop = np.ascontiguousarray(img[by0:by1, bx0:bx1])
        out.append(cv2.addWeighted(crop, 1 - alpha, heat, alpha, 0))
        captions.append(f'frame {src[t]} ({src[t] / info.fps:.2f} s)')
    return out, captions


def draw_figure(rows: Sequence[FigureRow], num_frames: int = 8,
                alpha: float = 0.5, title: Optional[str] = None,
                panel_inches: float = 1.5,
                colormap: int = cv2.COLORMAP_JET):
    """The matplotlib figure: methods as rows, frames as columns, one
    colour bar.

    Returns:
        tuple: (figure, panels: rows × frames RGB arrays).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import ListedColormap, Normalize
    T = rows[0].saliency.shape[0]
    frames = pick_frames(T, num_frames)
    grid, heads = [], None
    for row in rows:
        imgs, caps = panels(row, [min(t, row.saliency.shape[0] - 1)
                                  for t in frames], alpha, colormap)
        grid.append(imgs)
        heads = heads or caps
    ph, pw = grid[0][0].shape[:2]
    aspect = ph / pw
    fig_w = panel_inches * len(frames) + 1.4
    fig_h = panel_inches * aspect * len(rows) + 0.5 + (0.3 if title else 0)
    fig, axes = plt.subplots(len(rows), len(frames), squeeze=False,
                             figsize=(fig_w, fig_h))
    for r, (row, imgs) in enumerate(zip(rows, grid)):
        for c, img in enumerate(imgs):
            ax = axes[r][c]
            ax.imshow(img, interpolation='nearest')
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_visible(False)
            if r == 0:
                ax.set_title(heads[c], fontsize=7)
        axes[r][0].set_ylabel(row.label, fontsize=9, rotation=90)
    ramp = colorize(np.linspace(0, 1, 256)[None], colormap)[0] / 255.0
    mappable = ScalarMappable(norm=Normalize(0, 1),
                              cmap=ListedColormap(ramp))
    fig.subplots_adjust(left=0.06, right=0.9, top=0.9 if title else 0.94,
                        bottom=0.02, wspace=0.03, hspace=0.05)
    cax = fig.add_axes([0.92, 0.1, 0.015, 0.75])
    bar = fig.colorbar(mappable, cax=cax)
    bar.set_label('saliency (each map scaled to [0, 1] over its clip)',
                  fontsize=7)
    bar.ax.tick_params(labelsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig, grid


def write_figure(rows: Sequence[FigureRow], out: str, num_frames: int = 8,
                 dpi: int = 300, alpha: float = 0.5,
                 title: Optional[str] = None) -> List[str]:
    """Write the figure as ``<out>.png`` (``dpi``) and ``<out>.pdf``.

    Returns:
        list: The two paths.
    """
    import matplotlib.pyplot as plt

    from ..fileio import atomic_path
    fig, _ = draw_figure(rows, num_frames, alpha, title)
    stem = out[:-4] if out.lower().endswith(('.png', '.pdf')) else out
    written = []
    for ext in ('png', 'pdf'):
        path = f'{stem}.{ext}'
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format=ext)
        written.append(path)
    plt.close(fig)
    return written
