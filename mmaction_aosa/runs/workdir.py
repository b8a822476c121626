"""A run's work dir: where maps, overlays, the summary and the run record
live, which videos are done, and whether a rerun is the same run.

::

    WORK_DIR/run.json        what made the maps (the run's fingerprint)
    WORK_DIR/maps/<id>.npz   one map per finished video
    WORK_DIR/vis/<id>.mp4    overlays (and .png grids)
    WORK_DIR/summary.jsonl   one JSON line per video and attempt
"""
import fcntl
import json
import os
import os.path as osp
import time
from typing import Optional

from ..engine.hooks import SUMMARY_FILE
from ..fileio import (atomic_write_json, read_json, read_lines,
                      remove_stale_temp_files)

RUN_FILE = 'run.json'
#: The summary's name in work dirs of earlier versions (same content).
OLD_SUMMARY_FILE = 'summary.json'
#: Parts of a run's fingerprint, in the order a difference is reported.
FINGERPRINT_KEYS = ('explainer', 'checkpoint_sha256', 'model', 'pipeline',
                    'data', 'view', 'target', 'adapter')


def plain(value):
    """A JSON round trip: what a fingerprint part looks like once saved."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def read_summary(path: str) -> dict:
    """Last record per video of a summary file (JSON lines).

    ``path`` may be the file or a work dir (its ``summary.jsonl``, or the
    ``summary.json`` of earlier versions).
    """
    if osp.isdir(path):
        new = osp.join(path, SUMMARY_FILE)
        path = new if osp.isfile(new) else osp.join(path, OLD_SUMMARY_FILE)
    return {rec.get('video'): rec for rec in read_lines(path)}


class WorkDir:
    """The folders and files of one run's outputs.

    Args:
        path (str): The work dir.
    """

    def __init__(self, path: str):
        self.path = path

    @property
    def maps_dir(self) -> str:
        return osp.join(self.path, 'maps')

    @property
    def summary_file(self) -> str:
        return osp.join(self.path, SUMMARY_FILE)

    @property
    def run_file(self) -> str:
        return osp.join(self.path, RUN_FILE)

    def done_ids(self) -> set:
        """Video ids whose map exists (finished in an earlier run)."""
        if not osp.isdir(self.maps_dir):
            return set()
        return {
            f[:-4] for f in os.listdir(self.maps_dir)
            if f.endswith('.npz') and not f.startswith('.')
        }

    def differs_from(self, fingerprint: dict) -> Optional[str]:
        """Which part of ``fingerprint`` differs from the run that made the
        maps already here (``None``: no maps, no record, or the same run).
        """
        if not self.done_ids():
            return None
        old = read_json(self.run_file)
        if not isinstance(old, dict):
            return None
        for key in FINGERPRINT_KEYS:
            if old.get(key) != plain(fingerprint.get(key)):
                return key
        return None

    def write_run_file(self, fingerprint: dict) -> None:
        atomic_write_json(self.run_file, plain(fingerprint))


#: The lock file of a work dir; held (flock) for the whole run.
LOCK_FILE = '.lock'
_held = {}


#: Seconds to wait for the work dir's lock before refusing the run.
LOCK_WAIT_S = 15.0


def _holder(fd) -> Optional[int]:
    """The process id written into a lock file by the run holding it."""
    try:
        fd.seek(0)
        return int(fd.read().split()[0])
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


def lock_work_dir(path: str) -> None:
    """Create ``path`` and hold an exclusive lock on ``path/.lock`` until
    the process ends, so two runs never write into one work dir (see the
    "Bad input" section of README.md). The lock file holds the run's
    process id.

    A run that finds the lock held by a live process refuses at once; when
    the holder is gone (DataLoader workers of a killed run keep its lock
    for a few seconds) it waits up to :data:`LOCK_WAIT_S` first.

    Raises:
        RunError: the folder cannot be written, or another run holds it.
    """
    from .config import RunError
    key = osp.abspath(path)
    if key in _held:
        return
    try:
        os.makedirs(path, exist_ok=True)
        fd = open(osp.join(path, LOCK_FILE), 'a+')
    except OSError as exc:
        raise RunError(f'cannot write to work dir {path}: '
                       f'{exc.strerror or exc}') from exc
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError as exc:
            pid = _holder(fd)
            if not _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            fd.close()
            who = f' (process {pid})' if _alive(pid) else ''
            raise RunError(f'another run{who} is writing into {path}; wait '
                           'for it or give another --work-dir') from exc
    fd.seek(0)
    fd.truncate()
    fd.write(f'{os.getpid()}\n')
    fd.flush()
    _held[key] = fd
    remove_stale_temp_files(path)  # left by a killed writer


def maps_done() -> int:
    """Maps in the work dirs this process holds (for an interrupt)."""
    n = 0
    for path in _held:
        for dirpath, _, files in os.walk(path):
            if osp.basename(dirpath) == 'maps':
                n += sum(f.endswith('.npz') and not f.startswith('.')
                         for f in files)
    return n
