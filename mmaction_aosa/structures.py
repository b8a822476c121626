"""The per-video result of an explain or eval run, and the clip geometry.

:class:`SaliencyRecord` is the one form a video's result takes everywhere:
the explain model returns it, the metrics read it, the writer hook saves it
(:meth:`SaliencyRecord.to_npz`, one line of ``summary.jsonl`` from
:meth:`SaliencyRecord.summary`), and evaluation reads saved maps back with
:meth:`SaliencyRecord.from_npz`. docs/architecture.md shows where it flows.

The geometry keys say how the explained clip was cut from its video (frame
indices, resize, crop), so that ground-truth boxes can be mapped onto the
map later; :func:`add_geometry_meta_keys` makes mmaction2's pipeline keep
them.
"""
import io
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch

from .fileio import atomic_write_bytes

#: Metainfo keys the explain dataset sets on each sample: the video's id,
#: its file or frame folder, and the one-line error of a video that could
#: not be decoded.
VIDEO_ID_KEY, VIDEO_PATH_KEY, ERROR_KEY = ('video_id', 'video_path',
                                           'explain_error')
#: Metainfo key of a digest of the video's content (its size and its first
#: and last MiB, :func:`~mmaction_aosa.datasets.explain_dataset.
#: video_digest`): part of each map's provenance.
VIDEO_DIGEST_KEY = 'video_digest'
#: Metainfo key of the video's ``[size, mtime_ns]`` when it was read: a
#: resumed run compares it (cheap) before the digest.
VIDEO_STAT_KEY = 'video_stat'

#: Metainfo keys that describe the clip's geometry (kept by
#: :func:`add_geometry_meta_keys`, saved in each map's ``geometry``).
GEOMETRY_META_KEYS = ('frame_inds', 'start_index', 'num_clips', 'clip_len',
                      'scale_factor', 'crop_bbox', 'img_shape',
                      'original_shape', 'avg_fps', 'total_frames')


def add_geometry_meta_keys(pipeline: List[dict]) -> List[dict]:
    """Make the pipeline's PackActionInputs keep the clip's geometry.

    mmaction2's PackActionInputs keeps only ``img_shape`` and a few keys by
    default; the pointing game needs ``frame_inds``, ``scale_factor`` and
    ``crop_bbox`` too. Returns the pipeline (changed in place).
    """
    for step in pipeline:
        if step.get('type') in ('PackActionInputs',
                                'mmaction.PackActionInputs'):
            keys = list(step.get('meta_keys', ('img_shape', 'img_key',
                                               'video_id', 'timestamp')))
            keys += [k for k in GEOMETRY_META_KEYS if k not in keys]
            step['meta_keys'] = tuple(keys)
    return pipeline


def _plain(value):
    """JSON-able form of metainfo values (arrays and tensors → lists)."""
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def view_geometry(metainfo: dict, view: int = 0) -> dict:
    """The geometry of one view of a (possibly multi-view) test sample.

    mmaction2's FormatShape stacks views crop-major: view v is clip
    ``v % num_clips`` of crop ``v // num_clips``. ``frame_inds`` keeps the
    view's clip only (``num_clips`` becomes 1) and ``crop_bbox`` the view's
    crop (multi-crop transforms record one box per frame and crop).

    Returns:
        dict: The :data:`GEOMETRY_META_KEYS` present, as plain values.
    """
    g = {k: _plain(metainfo[k]) for k in GEOMETRY_META_KEYS
         if k in metainfo}
    num_clips = int(g.get('num_clips') or 1)
    inds = g.get('frame_inds')
    if isinstance(inds, list):
        inds = np.asarray(inds).ravel().tolist()
        if num_clips > 1:
            clip_len = len(inds) // num_clips
            c = view % num_clips
            inds = inds[c * clip_len:(c + 1) * clip_len]
        g['frame_inds'] = inds
    if 'num_clips' in g:
        g['num_clips'] = 1
    crop = g.get('crop_bbox')
    if isinstance(crop, list) and crop and isinstance(crop[0], list):
        per_crop = len(inds) * num_clips if isinstance(inds, list) else 1
        k = view // num_clips
        row = min(k * max(per_crop, 1), len(crop) - 1)
        g['crop_bbox'] = crop[row]
    return g


def explainer_misfit(args: dict, height: int, width: int) -> Optional[str]:
    """Why explainer arguments cannot work on a ``height``×``width`` clip.

    Checks the spatial sizes an explainer takes: ``anchor_stride`` (AOSA's
    anchor grid; larger than the frame's shorter side leaves no grid),
    ``box_size`` (its occluding box; larger than the frame occludes the
    whole frame from every anchor, so every map is constant) and the h×w
    of an occlusion ``window``.

    Returns:
        str | None: One line naming the argument and the clip size, or None
        when the arguments fit (or the explainer takes none of them).
    """
    size = f'{height}×{width}'
    stride = args.get('anchor_stride')
    if isinstance(stride, (int, np.integer)) and stride > min(height, width):
        return (f'anchor_stride={stride} is larger than the {size} clip, '
                f'at most {min(height, width)}')
    box = args.get('box_size')
    if isinstance(box, (int, np.integer)):
        box = (box, box)
    if isinstance(box, (list, tuple)) and len(box) == 2 and (
            box[0] > height or box[1] > width):
        return (f'box_size={args["box_size"]} is larger than the {size} '
                'clip: every mask would occlude the whole frame')
    window = args.get('window')
    if isinstance(window, (list, tuple)) and len(window) == 3 and (
            window[1] > height or window[2] > width):
        return f'window={tuple(window)} is larger than the {size} clip'
    return None


#: Fields of a map file (``maps/<video>.npz``); dicts are stored as JSON.
NPZ_FIELDS = ('saliency', 'target', 'score', 'probs', 'method', 'params',
              'view', 'seconds', 'timings', 'geometry', 'video',
              'provenance')


class MapFileError(ValueError):
    """A map file that cannot be read (truncated, not a map); the message
    names the file."""


@dataclass
class SaliencyRecord:
    """What an explain run knows about one video.

    Attributes:
        video (str): The video's id (file stem of its outputs).
        path (str, optional): Its file or frame folder.
        saliency (Tensor, optional): T×H×W float32 map at model input size
            (CPU); None when the video failed or was skipped.
        target (int, optional): The explained class.
        score (float, optional): f(x), softmax probability of ``target``.
        probs (Tensor, optional): Class probabilities of the explained view.
        method (str, optional): The explainer's name (``'AOSA'``).
        params (dict): The explainer's arguments.
        view (int): The explained view of a multi-view sample.
        geometry (dict): How the clip was cut (:data:`GEOMETRY_META_KEYS`).
        timings (dict): Seconds per stage of the explainer, plus
            ``'preprocess'`` (the data_preprocessor) and ``'overhead'``
            (the rest of :attr:`seconds`).
        seconds (float, optional): Wall time from the decoded clip to the
            map (preprocessing and the explainer).
        error (str, optional): One line, when the video failed.
        skipped (bool): Done by an earlier run (resume).
        clip (Tensor, optional): The explained clip C×T×H×W, normalised;
            kept in memory for overlays and metrics, never saved.
        context (object, optional): What metrics that run the model need
            (:class:`~mmaction_aosa.models.ExplainContext`); never saved.
        label (int, optional): The ground-truth label, if the dataset has
            one.
        provenance (dict): What made the map besides :attr:`method`,
            :attr:`params`, :attr:`view` and :attr:`geometry`: ``run`` (a
            digest of each part of the run's fingerprint,
            ``mmaction_aosa/workdir.py``), ``checkpoint_sha256``, ``video``
            (its absolute path), ``video_digest`` (its content) and
            ``video_stat`` (its size and modification time). Saved with the
            map and checked before a saved map is trusted (resume,
            evaluation).
        warning (str, optional): One line about an output that could not be
            written though the map was (an overlay), or a note (a saved map
            that was explained again).
        class_name (str, optional): The name of ``target``, where the run
            knows class names (:func:`mmaction_aosa.apis.explain_video`);
            never saved in the map file (``summary.jsonl`` has it).
    """
    video: str
    path: Optional[str] = None
    saliency: Optional[torch.Tensor] = None
    target: Optional[int] = None
    score: Optional[float] = None
    probs: Optional[torch.Tensor] = None
    method: Optional[str] = None
    params: Dict[str, Any] = field(default_factory=dict)
    view: int = 0
    geometry: Dict[str, Any] = field(default_factory=dict)
    timings: Dict[str, float] = field(default_factory=dict)
    seconds: Optional[float] = None
    error: Optional[str] = None
    skipped: bool = False
    label: Optional[int] = None
    provenance: Dict[str, Any] = field(default_factory=dict)
    warning: Optional[str] = None
    clip: Optional[torch.Tensor] = field(default=None, repr=False)
    context: Any = field(default=None, repr=False)
    class_name: Optional[str] = None

    @property
    def ok(self) -> bool:
        """A map was made (or loaded) for this video."""
        return self.error is None and not self.skipped and \
            self.saliency is not None

    @property
    def status(self) -> str:
        """``'ok'``, ``'failed'`` or ``'skipped'``."""
        if self.skipped:
            return 'skipped'
        return 'failed' if self.error is not None or \
            self.saliency is None else 'ok'

    def fail(self, error: str) -> 'SaliencyRecord':
        """Mark the video failed with a one-line ``error`` (and drop its
        map)."""
        first = (str(error).strip().splitlines() or [''])[0]
        self.error = first[:500]
        self.saliency = None
        return self

    def summary(self) -> dict:
        """The video's line of ``summary.jsonl``."""
        ok = self.status == 'ok'
        return dict(
            video=self.video, path=self.path, method=self.method,
            status=self.status,
            target=self.target if ok else None,
            score=self.score if ok else None,
            seconds=round(self.seconds, 4) if ok and self.seconds is not None
            else None,
            error=self.error, warning=self.warning)

    def to_npz(self, path: str) -> None:
        """Save the map and its metadata as one ``.npz``, atomically."""
        if self.saliency is None:
            raise ValueError(f'{self.video} has no map to save')
        probs = (self.probs.numpy() if isinstance(self.probs, torch.Tensor)
                 else np.asarray(self.probs if self.probs is not None else
                                 np.zeros(0), np.float32))
        arrays = dict(
            saliency=np.asarray(self.saliency, np.float32),
            target=np.asarray(int(self.target)),
            score=np.asarray(float(self.score)),
            probs=probs,
            method=np.asarray(self.method or ''),
            params=np.asarray(json.dumps(_plain(self.params), default=str)),
            view=np.asarray(int(self.view)),
            seconds=np.asarray(float(self.seconds or 0.0)),
            timings=np.asarray(json.dumps(_plain(self.timings))),
            geometry=np.asarray(json.dumps(_plain(self.geometry))),
            video=np.asarray(self.path or ''),
            provenance=np.asarray(json.dumps(_plain(self.provenance),
                                             default=str)))
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def from_npz(cls, path: str, video: Optional[str] = None
                 ) -> 'SaliencyRecord':
        """Read a map written by :meth:`to_npz` (or by earlier versions,
        which wrote the same field names, without ``provenance``).

        Raises:
            MapFileError: The file is not a readable map (one line naming
                it).
        """
        fields = load_map(path)
        if video is None:
            video = osp.splitext(osp.basename(path))[0]
        probs = fields.get('probs')
        try:
            return cls(
                video=video, path=fields.get('video') or None,
                saliency=torch.from_numpy(np.asarray(fields['saliency'],
                                                     np.float32)),
                target=int(fields['target']), score=float(fields['score']),
                probs=None if probs is None or np.size(probs) == 0 else
                torch.from_numpy(np.asarray(probs, np.float32)),
                method=fields.get('method') or None,
                params=fields.get('params') or {},
                view=int(fields.get('view', 0)),
                geometry=fields.get('geometry') or {},
                timings=fields.get('timings') or {},
                seconds=float(fields.get('seconds', 0.0)),
                provenance=fields.get('provenance') or {})
        except (KeyError, TypeError, ValueError) as exc:
            raise MapFileError(f'{path} is not a map file: '
                               f'{type(exc).__name__}: {exc}') from exc


def load_map(path: str, fields: Optional[Sequence[str]] = None) -> dict:
    """The fields of a map file as plain values (JSON fields decoded).

    Args:
        path (str): The ``.npz`` file.
        fields (sequence of str, optional): Read only these (those present);
            the small ones read without the map itself.

    Raises:
        MapFileError: The file cannot be read as a map (truncated, not an
            ``.npz``, a folder); one line naming the file.
    """
    out = {}
    try:
        with np.load(path, allow_pickle=False) as z:
            for k in z.files:
                if fields is not None and k not in fields:
                    continue
                v = z[k]
                if v.ndim == 0:
                    v = v.item()
                    if isinstance(v, str) and v[:1] in '{[':
                        try:
                            v = json.loads(v)
                        except ValueError:
                            pass
                out[k] = v
    except Exception as exc:  # noqa: BLE001 - BadZipFile, OSError, ...
        first = (str(exc).strip().splitlines() or [''])[0]
        raise MapFileError(f'cannot read map {path}: {type(exc).__name__}: '
                           f'{first[:200]}') from exc
    return out
