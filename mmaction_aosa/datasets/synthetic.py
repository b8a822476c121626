"""A generated video dataset with ground-truth boxes of the object that
decides the class ("moving red square").

Every clip is ``num_frames`` (32) RGB frames of ``size`` × ``size`` (128)
pixels over a static, textured, low-saturation background. One object, the
*target*, is a solid red square (:data:`TARGET_COLOR`, 12–18 px); its
appearance is the same in every clip and no other object is red. It
translates in a straight line at constant speed, and the **axis of its
motion is the class** (the sign is drawn at random, so every class moves
both ways and playing a clip backwards keeps its class):

====  ==================  ================================================
id    name                target motion
====  ==================  ================================================
0     axis_horizontal     +x or −x
1     axis_vertical       +y or −y
2     axis_diagonal_down  along x = y: down-right or up-left (↘ / ↖)
3     axis_diagonal_up    along x = −y: up-right or down-left (↗ / ↙)
====  ==================  ================================================

(Generator version 1 used the signed direction, right / left / down / up;
a 2-layer TimeSformer could not learn the sign of time on 800 clips, see
docs/ground_truth_benchmark.md.)

It travels 48–72 px along its path (three to four and a half 16-px
occlusion boxes; 34–51 px along each image axis on a diagonal), so a fixed
cuboid cannot keep covering it. Its path stays inside the central 112 × 112
window (``[8, 120)`` at the default size), so a 112-px center crop never
cuts it; its start point is random along the whole admissible range, so no
single frame's target position gives the class.

Distractors (3 by default) are squares or discs of other colours
(:data:`DISTRACTOR_COLORS`: green, blue, yellow, cyan, white, purple; none
has a strong red component), 10–18 px, anywhere in the frame, which move
differently: bouncing straight lines at any angle and speed (so some move
exactly like a target of another class), sinusoidal back-and-forth along a
random axis, or a random walk. Only the red colour tells the target apart:
a model must find the red square and read the axis of its path. The target
is drawn last, so it is never hidden and its box is exactly its pixels.

Files written by :func:`generate_dataset` (all in mmaction2's own formats)::

    OUT/ann.txt              "videos/video_00000.mp4 LABEL" per line
                             (mmaction2 VideoDataset, data_prefix=OUT)
    OUT/videos/*.mp4         H.264 (PyAV/libx264, crf 12) or, without
                             libx264, MPEG-4 Part 2 (OpenCV), 25 fps
    OUT/boxes/video_00000.json
                             {"video", "label", "class_name", "num_frames",
                              "width", "height",
                              "boxes": [[x, y, w, h] per frame]}
    OUT/boxes.json           {video path: [[x, y, w, h] per frame]}
    OUT/label_map.txt        class names, one per line, in label order
    OUT/meta.json            seed, number of videos, parameters, version

Boxes are in pixels of the *written* frames (x, y = top-left corner, w, h
sizes; frame ``t`` of the mp4 is ``boxes[t]``). After a 112-px center crop
of 128-px frames subtract 8 from x and y.

Determinism: clip ``i`` of seed ``s`` is drawn from
``numpy.random.default_rng([s, i])`` alone, so it does not depend on how many
clips are generated, nor on the order; the rendered frames and boxes are
bit-identical across runs (the video encoder, run single-threaded, is too,
for a given encoder build).
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..video import write_mp4

GENERATOR_VERSION = 2

CLASSES: Tuple[str, ...] = ('axis_horizontal', 'axis_vertical',
                            'axis_diagonal_down', 'axis_diagonal_up')
# axis of the target's path per class, (dx, dy); the sign is random
AXES: Tuple[Tuple[int, int], ...] = ((1, 0), (0, 1), (1, 1), (1, -1))

TARGET_COLOR: Tuple[int, int, int] = (230, 30, 30)  # RGB
DISTRACTOR_COLORS: Tuple[Tuple[int, int, int], ...] = (
    (40, 190, 60),  # green
    (50, 90, 230),  # blue
    (225, 215, 40),  # yellow
    (40, 205, 215),  # cyan
    (235, 235, 235),  # white
    (120, 60, 200),  # purple
)

DEFAULTS = dict(
    num_frames=32,
    size=128,
    crop=112,
    num_distractors=3,
    target_size=(12, 18),  # inclusive range of the square's side
    travel=(48, 72),  # inclusive range of the distance travelled, px
    distractor_size=(10, 18),
    fps=25,
)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A static, textured, low-saturation background (uint8 H×W×3)."""
    tex = np.zeros((size, size), np.float32)
    for cells, amp in ((4, 40.0), (12, 25.0), (32, 15.0)):
        g = rng.standard_normal((cells, cells)).astype(np.float32)
        tex += amp * cv2.resize(g, (size, size),
                                interpolation=cv2.INTER_CUBIC)
    tex += rng.standard_normal((size, size)).astype(np.float32) * 6.0
    # a few thin stripes, so the texture is not only blobs
    ang = rng.uniform(0, np.pi)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    period = rng.uniform(10, 24)
    tex += 12.0 * np.sin(2 * np.pi *
                         (xx * np.cos(ang) + yy * np.sin(ang)) / period)
    base = rng.uniform(95, 135)
    # a weak tint (grey-brown-green family), never saturated red
    tint = np.array([rng.uniform(0.9, 1.0),
                     rng.uniform(0.95, 1.08),
                     rng.uniform(0.9, 1.05)], np.float32)
    img = (base + tex)[..., None] * tint[None, None, :]
    return np.clip(img, 0, 255).astype(np.uint8)


def _draw(frame: np.ndarray, shape: str, x: int, y: int, s: int,
          color: Sequence[int]) -> None:
    """Draw a square or a disc with top-left (x, y) and side s, in place."""
    H, W = frame.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + s, W), min(y + s, H)
    if x1 <= x0 or y1 <= y0:
        return
    if shape == 'square':
        frame[y0:y1, x0:x1] = color
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    c = (s - 1) / 2.0
    inside = (xx - x - c)**2 + (yy - y - c)**2 <= (s / 2.0)**2
    frame[y0:y1, x0:x1][inside] = color


def _distractor_track(rng: np.random.Generator, T: int, size: int,
                      s: int) -> np.ndarray:
    """Top-left positions (T×2 float) of one distractor."""
    kind = rng.choice(['linear', 'linear', 'oscillate', 'walk'])
    lo, hi = -s / 3.0, size - 2 * s / 3.0  # may leave the frame partly
    p = rng.uniform(lo, hi, size=2)
    pos = np.zeros((T, 2))
    if kind == 'linear':  # straight line at any angle, bouncing off walls
        ang = rng.uniform(0, 2 * np.pi)
        v = rng.uniform(1.0, 3.0) * np.array([np.cos(ang), np.sin(ang)])
        for t in range(T):
            pos[t] = p
            p = p + v
            for k in range(2):
                if p[k] < lo or p[k] > hi:
                    v[k] = -v[k]
                    p[k] = np.clip(p[k], lo, hi)
    elif kind == 'oscillate':  # back and forth along a random axis
        ang = rng.uniform(0, np.pi)
        amp = rng.uniform(8, 24)
        period = rng.uniform(8, 24)
        phase = rng.uniform(0, 2 * np.pi)
        d = np.array([np.cos(ang), np.sin(ang)])
        t = np.arange(T)[:, None]
        pos = p[None] + amp * np.sin(2 * np.pi * t / period + phase) * d
    else:  # random walk
        steps = rng.normal(0, 2.0, size=(T, 2))
        steps[0] = 0
        pos = p[None] + np.cumsum(steps, axis=0)
    return pos


def render_clip(seed: int, index: int,
                label: Optional[int] = None,
                **params) -> Tuple[np.ndarray, np.ndarray, int]:
    """Render clip ``index`` of dataset ``seed``.

    Args:
        seed (int): Dataset seed.
        index (int): Clip index.
        label (int, optional): Class; by default drawn from the clip's rng.
        **params: Overrides of :data:`DEFAULTS`.

    Returns:
        tuple: frames (T×H×W×3 uint8, RGB), boxes (T×4 int, x y w h of the
        target in each frame), label (int).
    """
    p = dict(DEFAULTS, **params)
    T, size, crop = p['num_frames'], p['size'], p['crop']
    rng = np.random.default_rng([int(seed), int(index)])
    drawn_label = int(rng.integers(len(CLASSES)))
    label = drawn_label if label is None else int(label)

    bg = _background(rng, size)

    # target: a straight path inside the central crop window
    s = int(rng.integers(p['target_size'][0], p['target_size'][1] + 1))
    lo = (size - crop) // 2
    hi = lo + crop - s  # top-left range keeping the square inside
    travel = float(rng.uniform(p['travel'][0], p['travel'][1]))
    axis = np.array(AXES[label], np.float64)
    sign = 1.0 if rng.random() < 0.5 else -1.0
    disp = sign * travel * axis / np.linalg.norm(axis)  # start -> end, px
    disp = np.clip(disp, -(hi - lo), hi - lo)
    # uniform start over every position that keeps the whole path inside
    start = rng.uniform(lo - np.minimum(disp, 0), hi - np.maximum(disp, 0))
    t = np.arange(T) / (T - 1)
    xy = np.rint(start[None] + t[:, None] * disp[None]).astype(np.int64)
    boxes = np.concatenate([xy, np.full((T, 2), s, np.int64)], 1)

    distractors = []
    for _ in range(p['num_distractors']):
        ds = int(rng.integers(p['distractor_size'][0],
                              p['distractor_size'][1] + 1))
        color = DISTRACTOR_COLORS[int(rng.integers(len(DISTRACTOR_COLORS)))]
        shape = 'square' if rng.random() < 0.5 else 'disc'
        track = np.rint(_distractor_track(rng, T, size, ds)).astype(np.int64)
        distractors.append((shape, ds, color, track))

    frames = np.empty((T, size, size, 3), np.uint8)
    for ti in range(T):
        f = bg.copy()
        for shape, ds, color, track in distractors:
            _draw(f, shape, int(track[ti, 0]), int(track[ti, 1]), ds, color)
        x, y = int(boxes[ti, 0]), int(boxes[ti, 1])
        _draw(f, 'square', x, y, s, TARGET_COLOR)
        frames[ti] = f
    return frames, boxes, label


def write_video(frames: np.ndarray, path: str, fps: int = 25) -> str:
    """Write a clip as H.264 (crf 12, one thread: deterministic output), or
    MPEG-4 Part 2 without libx264 (:func:`mmaction_aosa.video.write_mp4`).

    Returns:
        str: The codec used.
    """
    return write_mp4(frames, path, fps, crf=12)


def _balanced_labels(seed: int, num_videos: int) -> np.ndarray:
    """Labels with equal class counts (±1), in a seed-dependent order."""
    rng = np.random.default_rng([int(seed), 2**31 - 1])
    return rng.permutation(np.arange(num_videos) % len(CLASSES))


def generate_dataset(out_dir: str,
                     num_videos: int,
                     seed: int,
                     balanced: bool = True,
                     **params) -> Dict[str, object]:
    """Write a dataset split to ``out_dir`` (see the module docstring).

    Args:
        out_dir (str): Output folder (created).
        num_videos (int): Number of clips.
        seed (int): Dataset seed; different seeds give disjoint clips.
        balanced (bool): Equal class counts (labels are then a seeded
            permutation) instead of one label drawn per clip.
        **params: Overrides of :data:`DEFAULTS`.

    Returns:
        dict: The content of ``meta.json``.
    """
    p = dict(DEFAULTS, **params)
    os.makedirs(osp.join(out_dir, 'videos'), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'boxes'), exist_ok=True)
    labels = _balanced_labels(seed, num_videos) if balanced else \
        [None] * num_videos
    lines, all_boxes, codecs = [], {}, set()
    for i in range(num_videos):
        frames, boxes, label = render_clip(seed, i, labels[i], **params)
        name = f'video_{i:05d}'
        rel = f'videos/{name}.mp4'
        codecs.add(write_video(frames, osp.join(out_dir, rel), p['fps']))
        box_list = boxes.tolist()
        with open(osp.join(out_dir, 'boxes', name + '.json'), 'w') as f:
            json.dump(
                dict(video=rel, label=label, class_name=CLASSES[label],
                     num_frames=int(frames.shape[0]),
                     width=int(frames.shape[2]), height=int(frames.shape[1]),
                     boxes=box_list), f)
        all_boxes[rel] = box_list
        lines.append(f'{rel} {label}')
    with open(osp.join(out_dir, 'ann.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(osp.join(out_dir, 'boxes.json'), 'w') as f:
        json.dump(all_boxes, f)
    with open(osp.join(out_dir, 'label_map.txt'), 'w') as f:
        f.write('\n'.join(CLASSES) + '\n')
    meta = dict(generator='mmaction_aosa.datasets.synthetic',
                version=GENERATOR_VERSION, seed=int(seed),
                num_videos=int(num_videos), balanced=bool(balanced),
                classes=list(CLASSES), codec=sorted(codecs),
                target_color=list(TARGET_COLOR),
                params={k: list(v) if isinstance(v, tuple) else v
                        for k, v in p.items()})
    with open(osp.join(out_dir, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    return meta


def make_batch(seed: int, num_videos: int, num_frames: int = 16,
               frame_interval: int = 2, crop: int = 112,
               balanced: bool = True, **params
               ) -> Tuple[np.ndarray, np.ndarray, List[np.ndarray]]:
    """Clips rendered in memory (no encoding), sampled like a test pipeline.

    Frames ``0, frame_interval, ...`` (``num_frames`` of them) are taken and
    center-cropped to ``crop``. Useful for quick checks; the benchmark itself
    reads the mp4 files through mmaction2's pipelines.

    Returns:
        tuple: clips (B×T×crop×crop×3 uint8 RGB), labels (B,), boxes (list
        of T×4 arrays in the cropped, sampled frames).
    """
    labels = _balanced_labels(seed, num_videos) if balanced else \
        [None] * num_videos
    clips, out_labels, out_boxes = [], [], []
    for i in range(num_videos):
        frames, boxes, label = render_clip(seed, i, labels[i], **params)
        idx = np.arange(num_frames) * frame_interval
        off = (frames.shape[1] - crop) // 2
        clips.append(frames[idx, off:off + crop, off:off + crop])
        b = boxes[idx].copy()
        b[:, :2] -= off
        out_boxes.append(b)
        out_labels.append(label)
    return np.stack(clips), np.array(out_labels), out_boxes
