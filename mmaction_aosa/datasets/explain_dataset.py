"""A dataset wrapper that never stops a run on one bad video.

It wraps any mmaction2 dataset (VideoDataset, RawframeDataset, ...), skips
videos whose maps already exist (resume), checks that each video exists and
is long enough for the clip, and turns any decoding error into a sample that
carries the error, so that the explain loop records it and moves on.
"""
import os
import os.path as osp
from typing import Iterable, Optional

from mmaction.registry import DATASETS
from mmaction.structures import ActionDataSample
from torch.utils.data import Dataset

from ..structures import ERROR_KEY, VIDEO_ID_KEY, VIDEO_PATH_KEY


class VideoError(RuntimeError):
    """A video that cannot be explained (missing, corrupt, too short)."""


def video_path(info: dict) -> Optional[str]:
    """The file (VideoDataset) or frame folder (RawframeDataset) of a video."""
    return info.get('filename') or info.get('frame_dir')


def video_id(info: dict, root: Optional[str] = None,
             keep_ext: bool = False) -> str:
    """A file-name-safe id of a video, unique within a dataset.

    The path relative to the dataset's ``root`` (its ``data_prefix``)
    without extension, ``/`` turned into ``__``: ``ApplyEyeMakeup/
    v_ApplyEyeMakeup_g01_c01.avi`` → ``ApplyEyeMakeup__v_ApplyEyeMakeup_g01_
    c01``. A path outside ``root`` keeps its file stem. ``keep_ext`` keeps
    the extension (``clip.avi`` → ``clip_avi``) to tell apart files that
    differ only by it.
    """
    path = video_path(info) or f"video_{info.get('sample_idx', 0)}"
    path = osp.normpath(path)
    rel = osp.basename(path)
    if root:
        r = osp.relpath(path, osp.normpath(root))
        if not r.startswith('..'):
            rel = r
    if info.get('filename'):
        stem, ext = osp.splitext(rel)
        rel = stem + ('_' + ext[1:] if keep_ext and ext else '')
    rel = rel.replace(os.sep, '__')
    return ''.join(c if c.isalnum() or c in '-_.' else '_' for c in rel)


def by_path(transform, results: dict) -> bool:
    """Whether a ``DecordInit`` step reads a local file (opened by path)."""
    return (type(transform).__name__ == 'DecordInit'
            and getattr(transform, 'io_backend', 'disk') == 'disk'
            and not getattr(transform, 'kwargs', None)
            and osp.isfile(str(results.get('filename', ''))))


def open_by_path(transform, results: dict) -> dict:
    """What ``DecordInit`` does, opening the file by path: decord crashes
    the process (segfault) on some truncated AVIs read from bytes, as
    mmaction2's ``DecordInit`` reads them; by path it raises an error,
    which costs one video (docs/architecture.md)."""
    import decord
    reader = decord.VideoReader(results['filename'],
                                num_threads=transform.num_threads)
    results['total_frames'] = len(reader)
    results['video_reader'] = reader
    results['avg_fps'] = reader.get_avg_fps()
    return results


def path_digest(info: dict) -> str:
    """8 hex digits of a video's absolute path (ids of colliding files)."""
    import hashlib
    path = osp.abspath(video_path(info) or '')
    data = path.encode('utf-8', 'surrogateescape')
    return hashlib.sha1(data).hexdigest()[:8]


def required_frames(pipeline) -> int:
    """Frames the pipeline's frame sampler needs for one clip (1 if none)."""
    for t in getattr(pipeline, 'transforms', []):
        if hasattr(t, 'clip_len') and hasattr(t, 'frame_interval'):
            return int(t.clip_len) * int(t.frame_interval)
    return 1


@DATASETS.register_module()
class ExplainDataset(Dataset):
    """Wrap an mmaction2 dataset for explaining: errors become samples.

    Args:
        dataset (dict | Dataset): The wrapped dataset (config or object).
        skip_ids (Iterable[str]): Video ids to leave out (already done).
        check_length (bool): Fail videos shorter than the clip
            (``clip_len × frame_interval`` of the pipeline's SampleFrames)
            instead of letting the sampler loop them.
    """

    def __init__(self,
                 dataset,
                 skip_ids: Iterable[str] = (),
                 check_length: bool = True):
        self.dataset = DATASETS.build(dataset) if isinstance(
            dataset, dict) else dataset
        self.metainfo = getattr(self.dataset, 'metainfo', {})
        self.check_length = check_length
        prefix = getattr(self.dataset, 'data_prefix', None) or {}
        self.root = prefix.get('video') or prefix.get('img') or None
        infos = [self.dataset.get_data_info(i)
                 for i in range(len(self.dataset))]
        ids = [video_id(info, self.root) for info in infos]
        dup = {v for v in ids if ids.count(v) > 1} if len(set(ids)) < len(
            ids) else set()
        self.ids = [
            video_id(info, self.root, keep_ext=True) if v in dup else v
            for v, info in zip(ids, infos)
        ]
        if len(set(self.ids)) < len(self.ids):
            # other files with the same id (a/clip.mp4, b/clip.mp4; x/y.mp4,
            # x__y.mp4): a short digest of the path tells them apart, the
            # same in every run (resume finds them)
            dup = {v for v in self.ids if self.ids.count(v) > 1}
            self.ids = [
                f'{v}_{path_digest(info)}' if v in dup else v
                for v, info in zip(self.ids, infos)
            ]
        if len(set(self.ids)) < len(self.ids):
            twice = sorted({video_path(i) for v, i in zip(self.ids, infos)
                            if self.ids.count(v) > 1})
            raise ValueError('the test set lists the same video twice: '
                             f'{twice[:5]}')
        skip = set(skip_ids)
        self.indices = [
            i for i in range(len(self.dataset)) if self.ids[i] not in skip
        ]
        self.num_skipped = len(self.dataset) - len(self.indices)
        self.min_frames = required_frames(self.dataset.pipeline)

    def __len__(self) -> int:
        return len(self.indices)

    def _run_pipeline(self, info: dict) -> dict:
        path = video_path(info)
        if path is not None and not osp.exists(path):
            raise VideoError(f'video not found: {path}')
        results = info
        for t in self.dataset.pipeline.transforms:
            results = (open_by_path(t, results) if by_path(t, results)
                       else t(results))
            if results is None:
                raise VideoError(f'pipeline step {type(t).__name__} '
                                 'dropped the video')
            if (self.check_length and 'total_frames' in results
                    and 'frame_inds' not in results
                    and results['total_frames'] < self.min_frames):
                raise VideoError(
                    f"video has {results['total_frames']} frames, fewer than "
                    f'the {self.min_frames} the clip needs')
        return results

    def __getitem__(self, idx: int) -> dict:
        info = self.dataset.get_data_info(self.indices[idx])
        vid = self.ids[self.indices[idx]]
        try:
            results = self._run_pipeline(dict(info))
        except Exception as exc:  # noqa: BLE001 - recorded, never fatal
            msg = str(exc).strip().splitlines()
            msg = msg[0] if msg else ''
            if not isinstance(exc, VideoError):
                msg = (f'cannot decode {video_path(info)}: '
                       f'{type(exc).__name__}: {msg}')
            sample = ActionDataSample()
            sample.set_metainfo({VIDEO_ID_KEY: vid,
                                 VIDEO_PATH_KEY: video_path(info),
                                 ERROR_KEY: msg[:500]})
            return dict(inputs=None, data_samples=sample)
        results['data_samples'].set_metainfo({
            VIDEO_ID_KEY: vid, VIDEO_PATH_KEY: video_path(info)})
        return results
