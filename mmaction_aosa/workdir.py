"""A run's work dir: the one owner of its layout, its lock and the
provenance checks that decide whether a saved map can be trusted.

::

    WORK_DIR/run.json        what made the maps (the run's fingerprint)
    WORK_DIR/maps/<id>.npz   one map per finished video, with its provenance
    WORK_DIR/vis/<id>.mp4    overlays (and .png grids)
    WORK_DIR/summary.jsonl   one JSON line per video and attempt
    WORK_DIR/.lock           held (flock) while a run writes here

An eval run's work dir holds one such folder per method
(``WORK_DIR/<method>/``); its lock covers them: a run refuses a folder
inside, or around, one that another live run holds.

It sits low in the package (beside :mod:`~mmaction_aosa.fileio`): the run
layer (``runs/``), the writer hooks and the explain model all ask it.
docs/architecture.md, "runs/".
"""
import contextlib
import errno
import fcntl
import functools
import json
import os
import os.path as osp
import time
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .errors import RunError
from .fileio import (append_line, atomic_write_json, content_digest,
                     is_temp_name, json_digest, read_json, read_lines,
                     remove_stale_temp_files)
from .structures import MapFileError, load_map

RUN_FILE = 'run.json'
#: The summary file of a run: one JSON line per video (the last line of a
#: video wins).
SUMMARY_FILE = 'summary.jsonl'
#: The summary's name in work dirs of earlier versions (same content).
OLD_SUMMARY_FILE = 'summary.json'
MAPS_DIR, VIS_DIR = 'maps', 'vis'
#: The lock file of a work dir; held (flock) for the whole run, removed at
#: its end.
LOCK_FILE = '.lock'
#: Parts of a run's fingerprint, in the order a difference is reported.
FINGERPRINT_KEYS = ('explainer', 'checkpoint_sha256', 'model', 'pipeline',
                    'data', 'view', 'target', 'adapter')
#: The parts a map read by another run (``eval_saliency.py --maps``) must
#: share with it. Not ``data`` (where the list and folders are: each map's
#: video is checked by its content instead) and not ``explainer`` (the
#: config as written: the map's method and arguments are compared).
SHARED_MAP_KEYS = ('checkpoint_sha256', 'model', 'pipeline', 'view',
                   'target', 'adapter')
#: Explainer arguments that do not change the map (how many clips go
#: through the model at once), left out when arguments are compared.
NON_RESULT_PARAMS = ('batch_size', )


def plain(value):
    """A JSON round trip: what a value looks like once saved."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def fingerprint_parts(fingerprint: dict) -> Dict[str, str]:
    """A digest of each part of a run's fingerprint (saved in every map's
    provenance, so that a map tells which run made it)."""
    return {key: json_digest(plain(fingerprint.get(key)))
            for key in FINGERPRINT_KEYS}


def result_params(params: Optional[dict]) -> dict:
    """An explainer's arguments as saved, without
    :data:`NON_RESULT_PARAMS`."""
    return {k: v for k, v in plain(params or {}).items()
            if k not in NON_RESULT_PARAMS}


def read_summary(path: str) -> dict:
    """Last record per video of a summary file (JSON lines).

    ``path`` may be the file or a work dir (its ``summary.jsonl``, or the
    ``summary.json`` of earlier versions).
    """
    if osp.isdir(path):
        new = osp.join(path, SUMMARY_FILE)
        path = new if osp.isfile(new) else osp.join(path, OLD_SUMMARY_FILE)
    return {rec.get('video'): rec for rec in read_lines(path)}


class MapMismatch(ValueError):
    """A saved map that does not belong to the run reading it."""


@dataclass
class MapCheck:
    """What a saved map must carry for a run to trust it.

    Attributes:
        parts (dict): The run's :func:`fingerprint_parts`.
        keys (sequence of str): Which parts must be equal.
        method (str, optional): The explainer's name the map must have.
        params (dict, optional): Its arguments (compared without
            :data:`NON_RESULT_PARAMS`).
        videos (dict, optional): Video id → absolute path: a map must name
            its own video (a map copied to another id does not).
    """
    parts: Dict[str, str]
    keys: Sequence[str] = FINGERPRINT_KEYS
    method: Optional[str] = None
    params: Optional[dict] = None
    videos: Optional[Dict[str, str]] = None

    def provenance_problem(self, fields: dict,
                           video: Optional[str] = None) -> Optional[str]:
        """Why a map's small fields say another run made it (None: this
        run). One phrase naming the differing field."""
        prov = fields.get('provenance')
        run = prov.get('run') if isinstance(prov, dict) else None
        if not isinstance(run, dict):
            return ('it carries no provenance (written by an earlier '
                    'version)')
        for key in self.keys:
            if run.get(key) != self.parts.get(key):
                return f"its {key} differs from this run's"
        if self.method is not None and fields.get('method') != self.method:
            return (f"its method differs ({fields.get('method')!r} there, "
                    f'{self.method!r} here)')
        if self.params is not None:
            saved = result_params(fields.get('params'))
            want = result_params(self.params)
            for key in sorted(set(saved) | set(want)):
                if saved.get(key, '<unset>') != want.get(key, '<unset>'):
                    return (f'its params.{key} differs ({saved.get(key)!r} '
                            f'there, {want.get(key)!r} here)')
        if self.videos is not None and video in self.videos:
            return _video_problem(prov, self.videos[video])
        return None


def _video_problem(prov: dict, path: str) -> Optional[str]:
    """Whether a map's provenance names another video than ``path``, or
    the video changed since: its size and modification time are compared
    first (a ``stat``), its content digest only when they differ."""
    saved = prov.get('video')
    if saved is not None and osp.normpath(saved) != osp.normpath(path):
        return f'it is the map of another video ({saved})'
    stat_then = prov.get('video_stat')
    if not stat_then or not prov.get('video_digest'):
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None  # the video itself fails when it is read
    if [int(st.st_size), int(st.st_mtime_ns)] == list(stat_then):
        return None
    try:
        now = content_digest(path, folder=osp.isdir(path))
    except OSError:
        return None
    if now != prov.get('video_digest'):
        return f'its video {path} changed since (another content)'
    return None


def saliency_problem(saliency) -> Optional[str]:
    """Why a saved saliency array is not a usable map (None: it is)."""
    if saliency is None:
        return 'it holds no saliency'
    arr = np.asarray(saliency)
    if arr.ndim != 3 or arr.size == 0:
        return f'its saliency has shape {arr.shape}, not T×H×W'
    if not np.isfinite(arr).all():
        return 'it holds non-finite values (NaN/inf)'
    return None


def map_problem(path: str, check: MapCheck,
                video: Optional[str] = None) -> Tuple[Optional[str], str]:
    """Whether the map file ``path`` can be trusted by the run of
    ``check``.

    Returns:
        tuple: (problem or None, kind): kind ``'unreadable'`` (truncated,
        not a map, non-finite values) or ``'provenance'`` (another run's
        map, or none recorded).
    """
    try:
        fields = load_map(path)
    except MapFileError as exc:
        return str(exc), 'unreadable'
    bad = saliency_problem(fields.get('saliency'))
    if bad:
        return bad, 'unreadable'
    bad = check.provenance_problem(fields, video)
    return bad, 'provenance'


# -- the lock ------------------------------------------------------------

#: Seconds to wait for a work dir's lock whose holder has exited (forked
#: DataLoader workers of a killed run hold its lock a few seconds more)
#: before refusing the run.
LOCK_WAIT_S = 15.0
#: Levels below a work dir searched for the lock of a run inside it.
NESTED_DEPTH = 3


class _Lock:
    """One held work-dir lock (an open, flocked ``.lock``)."""

    def __init__(self, path: str, fd: int, created: bool):
        self.path, self.fd, self.created = path, fd, created
        self.depth = 1

    def close(self) -> None:
        """Release: remove the lock file (while holding it), close it, and
        remove the work dir if this run created it and left it empty."""
        lock_file = osp.join(self.path, LOCK_FILE)
        try:
            if os.stat(lock_file).st_ino == os.fstat(self.fd).st_ino:
                os.unlink(lock_file)
        except OSError:
            pass
        try:
            os.close(self.fd)
        except OSError:
            pass
        if self.created:
            try:
                os.rmdir(self.path)  # only if empty
            except OSError:
                pass


#: Work dirs this process holds: real path → :class:`_Lock`.
_held: Dict[str, _Lock] = {}


def _pid_in(lock_file: str) -> Optional[int]:
    """The process id written into a lock file (None if unreadable)."""
    try:
        with open(lock_file) as f:
            return int(f.read(32).split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: Optional[int]) -> bool:
    if not pid or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _held_by_other(lock_file: str) -> bool:
    """Whether another process holds the lock ``lock_file`` now (a file
    left by a killed run is not held). Opens it read-only, creates
    nothing."""
    try:
        fd = os.open(lock_file, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        return exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)
    finally:
        os.close(fd)
    return False


def _busy_message(path: str, lock_file: str, relation: str = '') -> str:
    pid = _pid_in(lock_file)
    who = f' (process {pid})' if _alive(pid) else ''
    where = osp.dirname(lock_file)
    if relation:
        return (f'another run{who} is writing into {where}, which '
                f'{relation} {path}; wait for it or give another --work-dir')
    return (f'another run{who} is writing into {path}; wait for it or give '
            'another --work-dir')


def _wait_free(lock_file: str, deadline: float) -> bool:
    """Wait while ``lock_file`` is held by a process that has exited (its
    forked workers); True once free, False if a live run holds it or the
    wait ran out."""
    while _held_by_other(lock_file):
        if _alive(_pid_in(lock_file)) or time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


def _nested_conflict(real: str) -> Optional[Tuple[str, str]]:
    """A lock of another run in a folder around ``real`` or inside it:
    (its lock file, 'contains' / 'is inside'), or None."""
    parent = real
    while osp.dirname(parent) != parent:
        parent = osp.dirname(parent)
        lock_file = osp.join(parent, LOCK_FILE)
        if parent not in _held and _held_by_other(lock_file):
            return lock_file, 'contains'
    base = real.count(os.sep)
    for dirpath, dirnames, files in os.walk(real):
        if dirpath != real and LOCK_FILE in files and \
                dirpath not in _held and \
                _held_by_other(osp.join(dirpath, LOCK_FILE)):
            return osp.join(dirpath, LOCK_FILE), 'is inside'
        if dirpath.count(os.sep) - base >= NESTED_DEPTH:
            dirnames[:] = []
        else:  # outputs of a run never hold another run's folder
            dirnames[:] = [d for d in dirnames if d not in (MAPS_DIR,
                                                            VIS_DIR)]
    return None


def lock_work_dir(path: str) -> None:
    """Create ``path`` and hold an exclusive lock on ``path/.lock`` (it
    holds the run's process id) until :func:`release_work_dir`, so that two
    runs never write into one work dir (README, "Bad input").

    A run refuses at once a folder that a live run holds, or that is inside
    or around one a live run holds (an explain run into an eval run's
    method folder, an eval run over a folder an explain run writes). When
    the holder has exited (DataLoader workers of a killed run keep its
    lock a few seconds), it waits up to :data:`LOCK_WAIT_S` first.
    Re-entrant within a process.

    Raises:
        RunError: The folder cannot be written, or another run holds it.
    """
    real = osp.realpath(path)
    if real in _held:
        _held[real].depth += 1
        return
    created = not osp.exists(path)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        raise RunError(f'cannot write to work dir {path}: '
                       f'{exc.strerror or exc}') from exc
    lock_file = osp.join(real, LOCK_FILE)
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                         0o644)
        except OSError as exc:
            raise RunError(f'cannot write to work dir {path}: '
                           f'{exc.strerror or exc}') from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            if not _wait_free(lock_file, deadline):
                raise RunError(_busy_message(path, lock_file)) from None
            continue
        try:  # the file may have been removed by the run that released it
            same = os.stat(lock_file).st_ino == os.fstat(fd).st_ino
        except OSError:
            same = False
        if same:
            break
        os.close(fd)
    lock = _Lock(real, fd, created)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f'{os.getpid()}\n'.encode())
    except OSError as exc:
        lock.close()
        raise RunError(f'cannot write to work dir {path}: '
                       f'{exc.strerror or exc}') from exc
    _held[real] = lock
    conflict = _nested_conflict(real)
    while conflict and not _alive(_pid_in(conflict[0])) and \
            time.monotonic() < deadline:  # a killed run's workers
        time.sleep(0.2)
        conflict = _nested_conflict(real)
    if conflict:
        _held.pop(real).close()
        raise RunError(_busy_message(path, *conflict))
    remove_stale_temp_files(real)  # left by a killed writer


def release_work_dir(path: str) -> None:
    """Release a lock taken by :func:`lock_work_dir` (the outermost
    release removes the lock file)."""
    real = osp.realpath(path)
    lock = _held.get(real)
    if lock is None:
        return
    lock.depth -= 1
    if lock.depth <= 0:
        _held.pop(real).close()


def count_maps(path: str) -> int:
    """Map files under ``path`` (any ``maps/`` folder in it)."""
    n = 0
    for dirpath, _, files in os.walk(path):
        if osp.basename(dirpath) == MAPS_DIR:
            n += sum(f.endswith('.npz') and not is_temp_name(f)
                     for f in files)
    return n


def maps_done() -> int:
    """Maps in the work dirs this process holds (for an interrupt)."""
    return sum(count_maps(path) for path in _held)


def releases_work_dirs(func):
    """Decorate a run: every work-dir lock taken during the call is
    released when it returns or raises (failed starts too), and an
    interrupt (``KeyboardInterrupt``) leaves ``maps_done`` on the
    exception: the maps in the work dirs it held."""

    @functools.wraps(func)
    def run(*args, **kwargs):
        before = set(_held)
        try:
            return func(*args, **kwargs)
        except BaseException as exc:
            if not hasattr(exc, 'maps_done'):
                try:
                    exc.maps_done = sum(count_maps(p) for p in _held
                                        if p not in before)
                except AttributeError:
                    pass
            raise
        finally:
            for path in set(_held) - before:
                _held.pop(path).close()

    return run


# -- the work dir ---------------------------------------------------------

class WorkDir:
    """The folders and files of one run's outputs (see the module).

    Args:
        path (str): The work dir.
    """

    def __init__(self, path: str):
        self.path = path

    @property
    def maps_dir(self) -> str:
        return osp.join(self.path, MAPS_DIR)

    @property
    def vis_dir(self) -> str:
        return osp.join(self.path, VIS_DIR)

    @property
    def summary_file(self) -> str:
        return osp.join(self.path, SUMMARY_FILE)

    @property
    def run_file(self) -> str:
        return osp.join(self.path, RUN_FILE)

    def map_path(self, video: str) -> str:
        """The map file of video id ``video``."""
        return osp.join(self.maps_dir, f'{video}.npz')

    # the lock
    @contextlib.contextmanager
    def locked(self, enabled: bool = True) -> Iterator['WorkDir']:
        """Hold this work dir's lock (:func:`lock_work_dir`) inside the
        ``with`` block; ``enabled=False`` (ranks other than 0) holds
        nothing."""
        if not enabled:
            yield self
            return
        lock_work_dir(self.path)
        try:
            yield self
        finally:
            release_work_dir(self.path)

    # maps
    def map_ids(self) -> List[str]:
        """Ids of the map files here (trusted or not)."""
        if not osp.isdir(self.maps_dir):
            return []
        return sorted(f[:-4] for f in os.listdir(self.maps_dir)
                      if f.endswith('.npz') and not is_temp_name(f))

    def done_ids(self) -> set:
        """Video ids whose map file exists (unverified)."""
        return set(self.map_ids())

    def verify_maps(self, check: MapCheck,
                    ids: Optional[Sequence[str]] = None
                    ) -> Tuple[List[str], Dict[str, Tuple[str, str]]]:
        """Read every map (or those of ``ids``) and check it: readable,
        finite, with the provenance of ``check``'s run.

        Returns:
            tuple: (ids of trusted maps, {id: (problem, kind)} of the rest;
            kind as :func:`map_problem` says).
        """
        good, bad = [], {}
        for vid in (self.map_ids() if ids is None else ids):
            problem, kind = map_problem(self.map_path(vid), check, vid)
            if problem is None:
                good.append(vid)
            else:
                bad[vid] = (problem, kind)
        return good, bad

    # the run record
    def read_run(self) -> Tuple[Optional[dict], str]:
        """The saved fingerprint and its state: ``'ok'``, ``'missing'`` or
        ``'unreadable'`` (not JSON, or not a fingerprint)."""
        if not osp.lexists(self.run_file):
            return None, 'missing'
        old = read_json(self.run_file)
        if not isinstance(old, dict) or not set(FINGERPRINT_KEYS) <= set(
                old):
            return None, 'unreadable'
        return old, 'ok'

    def differs_from(self, fingerprint: dict) -> Optional[str]:
        """Which part of ``fingerprint`` differs from the saved run record
        (None: the same, or no maps or no readable record)."""
        if not self.map_ids():
            return None
        old, state = self.read_run()
        if state != 'ok':
            return None
        for key in FINGERPRINT_KEYS:
            if old.get(key) != plain(fingerprint.get(key)):
                return key
        return None

    def check_run(self, fingerprint: dict) -> Optional[str]:
        """Refuse a run whose maps would join another run's.

        With maps here, ``run.json`` must record the same run. When it is
        missing or unreadable, the maps' own provenance decides: the run
        goes on (and ``run.json`` is rewritten) only if every readable map
        says this run made it; unreadable maps are explained again.

        Returns:
            str | None: One line to log when ``run.json`` was rebuilt.

        Raises:
            RunError: Naming the part of the fingerprint that differs, or
            why the maps cannot tell.
        """
        ids = self.map_ids()
        if not ids:
            return None
        how = ('give another --work-dir, or remove that folder to start '
               'over')
        old, state = self.read_run()
        if state == 'ok':
            key = self.differs_from(fingerprint)
            if key:
                raise RunError(f'{self.maps_dir} holds maps of another run '
                               f'(its {key} differs): {how}')
            return None
        check = MapCheck(fingerprint_parts(fingerprint))
        readable = 0
        for vid in ids:
            path = self.map_path(vid)
            try:
                fields = load_map(path, ('provenance', 'method', 'params'))
            except MapFileError:
                continue  # explained again
            readable += 1
            problem = check.provenance_problem(fields)
            if problem:
                raise RunError(f'{self.run_file} is {state} and {path} '
                               f'cannot be trusted ({problem}): {how}')
        return (f'{self.run_file} was {state}: rebuilt, since the provenance '
                f'of the {readable} readable maps there is this run\'s')

    def write_run_file(self, fingerprint: dict) -> None:
        atomic_write_json(self.run_file, plain(fingerprint))

    # the summary
    def check_writable(self) -> None:
        """Refuse the run if ``summary.jsonl`` cannot be appended to.

        Raises:
            RunError: One line naming the file.
        """
        try:
            os.makedirs(self.path, exist_ok=True)
            fd = os.open(self.summary_file,
                         os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.close(fd)
        except OSError as exc:
            raise RunError(f'cannot write {self.summary_file}: '
                           f'{exc.strerror or exc}') from exc

    def recover_summary(self, ids: Sequence[str]) -> int:
        """Append the summary line of each trusted map whose video has no
        ``ok`` line (its line was lost: a kill between the map and its
        line, or a summary that could not be written), rebuilt from the
        map.

        Returns:
            int: Lines appended.
        """
        summary = read_summary(self.summary_file)
        added = 0
        for vid in ids:
            if (summary.get(vid) or {}).get('status') == 'ok':
                continue
            try:
                m = load_map(self.map_path(vid), (
                    'target', 'score', 'method', 'seconds', 'video'))
            except MapFileError:
                continue
            append_line(self.summary_file, dict(
                video=vid, path=m.get('video') or None,
                method=m.get('method') or None, status='ok',
                target=int(m['target']), score=float(m['score']),
                seconds=round(float(m.get('seconds', 0.0)), 4), error=None,
                warning='summary line rebuilt from the map', rank=0,
                finished=round(time.time(), 3)))
            added += 1
        return added
