"""A dataset wrapper that never stops a run on one bad video.

It wraps any mmaction2 dataset (VideoDataset, RawframeDataset, ...), skips
videos whose maps already exist (resume), checks that each video exists and
is long enough for the clip, and turns any decoding error into a sample that
carries the error, so that the explain loop records it and moves on.

Reading is bounded: a path that is not a regular file (a FIFO, a device, a
socket; a folder where a file is expected) fails at once, from ``stat``
alone, without opening it; a file larger than ``max_bytes`` fails; and
decoding one video may take at most ``read_timeout`` seconds. In a
DataLoader worker the decoded clip is moved to shared memory here, so that
a clip the worker cannot hand over (``/dev/shm`` full, a file-size limit)
fails its video instead of being dropped by the worker's queue, which left
the main process waiting forever.
"""
import contextlib
import glob
import os
import os.path as osp
import signal
import stat
import threading
from typing import Iterable, Optional

from mmaction.registry import DATASETS
from mmaction.structures import ActionDataSample
from torch.utils.data import Dataset, get_worker_info

from ..fileio import content_digest
from ..structures import (ERROR_KEY, VIDEO_DIGEST_KEY, VIDEO_ID_KEY,
                          VIDEO_PATH_KEY, VIDEO_STAT_KEY)

#: Largest video file read, in bytes (16 GiB); a larger one fails at once.
MAX_VIDEO_BYTES = 16 * 2**30
#: Seconds that reading and decoding one video may take.
READ_TIMEOUT_S = 120.0


class VideoError(RuntimeError):
    """A video that cannot be explained (missing, corrupt, too short)."""


class ReadTimeout(BaseException):
    """Reading a video took longer than its bound. A ``BaseException``, so
    that decoders which catch ``Exception`` cannot swallow it."""


def file_kind(mode: int) -> str:
    """What a ``stat`` mode is, in words (``'a FIFO'``, ``'a folder'``)."""
    for test, name in ((stat.S_ISREG, 'a regular file'),
                       (stat.S_ISDIR, 'a folder'),
                       (stat.S_ISFIFO, 'a FIFO (named pipe)'),
                       (stat.S_ISCHR, 'a character device'),
                       (stat.S_ISBLK, 'a block device'),
                       (stat.S_ISSOCK, 'a socket')):
        if test(mode):
            return name
    return 'not a regular file'


def check_video_path(path: str, folder: bool = False,
                     max_bytes: Optional[int] = MAX_VIDEO_BYTES
                     ) -> os.stat_result:
    """``stat`` a video path (never opens it) and refuse what cannot be
    read in bounded time.

    Args:
        path (str): A video file, or a frame folder when ``folder``.
        folder (bool): The path is a folder of frames (RawframeDataset).
        max_bytes (int, optional): Largest file accepted.

    Raises:
        VideoError: Missing, not a regular file (a FIFO, a device, a
            socket, a folder) or not a folder when one is expected, or
            larger than ``max_bytes``; one line.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise VideoError(f'video not found: {path}') from None
    except OSError as exc:
        raise VideoError(f'cannot read {path}: {exc.strerror}') from None
    if folder:
        if not stat.S_ISDIR(st.st_mode):
            raise VideoError(f'{path} is {file_kind(st.st_mode)}, not a '
                             'folder of frames')
        return st
    if not stat.S_ISREG(st.st_mode):
        raise VideoError(f'{path} is {file_kind(st.st_mode)}, not a video '
                         'file')
    if max_bytes and st.st_size > max_bytes:
        raise VideoError(f'{path} has {st.st_size} bytes, more than the '
                         f'{max_bytes} read at most (explain_max_video_bytes)')
    return st


def video_digest(path: str, folder: bool = False) -> str:
    """A digest of a video's content, cheap for any size: its size and its
    first and last MiB (a frame folder: the names and sizes of its files;
    :func:`~mmaction_aosa.fileio.content_digest`). Part of each map's
    provenance."""
    return content_digest(path, folder)


@contextlib.contextmanager
def time_bound(seconds: Optional[float], what: str):
    """Raise :class:`ReadTimeout` in the ``with`` block after ``seconds``
    (SIGALRM; in a thread other than the main one, or for ``seconds``
    None/0, no bound). A decoder blocked inside C code is interrupted when
    it returns to Python; a DataLoader worker that never does is what the
    loader's own ``timeout`` is for (``runs/config.py``)."""
    if not seconds or threading.current_thread() is not \
            threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise ReadTimeout(f'reading {what} took more than {seconds:g} s '
                          '(explain_read_timeout)')

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _remove_own_shm_files() -> None:
    """Remove the shared-memory files torch left for this process after a
    failed move to shared memory (a failed resize leaves the file)."""
    for path in glob.glob(f'/dev/shm/torch_{os.getpid()}_*'):
        try:
            os.unlink(path)
        except OSError:
            pass


def share_in_worker(results: dict) -> None:
    """In a DataLoader worker, move the decoded clip to shared memory now
    (the worker's queue would do it later, and drop the sample if it
    fails).

    Raises:
        VideoError: The clip cannot be handed to the main process.
    """
    inputs = results.get('inputs')
    if get_worker_info() is None or not hasattr(inputs, 'share_memory_'):
        return
    try:
        inputs.share_memory_()
    except (RuntimeError, OSError) as exc:
        _remove_own_shm_files()
        first = (str(exc).strip().splitlines() or [''])[0]
        raise VideoError(
            'cannot hand the decoded clip to the main process through '
            f'shared memory ({first[:200]}); /dev/shm is full or a file-size '
            'limit is set: rerun with test_dataloader.num_workers=0') from exc


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
        max_bytes (int, optional): A larger video file fails unread
            (default :data:`MAX_VIDEO_BYTES`; None: no cap).
        read_timeout (float, optional): Seconds that reading and decoding
            one video may take (default :data:`READ_TIMEOUT_S`; None: no
            bound).
    """

    def __init__(self,
                 dataset,
                 skip_ids: Iterable[str] = (),
                 check_length: bool = True,
                 max_bytes: Optional[int] = MAX_VIDEO_BYTES,
                 read_timeout: Optional[float] = READ_TIMEOUT_S):
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout
        self.dataset = DATASETS.build(dataset) if isinstance(
            dataset, dict) else dataset
        self.metainfo = getattr(self.dataset, 'metainfo', {})
        self.check_length = check_length
        prefix = getattr(self.dataset, 'data_prefix', None) or {}
        self.root = prefix.get('video') or prefix.get('img') or None
        infos = [self.dataset.get_data_info(i)
                 for i in range(len(self.dataset))]
        #: each video's file or frame folder, in the dataset's order
        self.paths = [video_path(info) for info in infos]
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

    def _check_video(self, info: dict) -> dict:
        """Refuse what cannot be read in bounded time (from ``stat``
        alone); the video's :func:`video_digest` and ``[size, mtime]``
        (metainfo for the map's provenance)."""
        path = video_path(info)
        if path is None:
            return {}
        folder = not info.get('filename')
        st = check_video_path(path, folder, self.max_bytes)
        return {VIDEO_DIGEST_KEY: video_digest(path, folder),
                VIDEO_STAT_KEY: [int(st.st_size), int(st.st_mtime_ns)]}

    def _run_pipeline(self, info: dict) -> dict:
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
            with time_bound(self.read_timeout, video_path(info) or vid):
                identity = self._check_video(info)
                results = self._run_pipeline(dict(info))
            share_in_worker(results)
        except (Exception, ReadTimeout) as exc:  # noqa: BLE001 - recorded
            msg = str(exc).strip().splitlines()
            msg = msg[0] if msg else ''
            if not isinstance(exc, (VideoError, ReadTimeout)):
                msg = (f'cannot decode {video_path(info)}: '
                       f'{type(exc).__name__}: {msg}')
            sample = ActionDataSample()
            sample.set_metainfo({VIDEO_ID_KEY: vid,
                                 VIDEO_PATH_KEY: video_path(info),
                                 ERROR_KEY: msg[:500]})
            return dict(inputs=None, data_samples=sample)
        results['data_samples'].set_metainfo({
            VIDEO_ID_KEY: vid, VIDEO_PATH_KEY: video_path(info),
            **identity})
        return results
