"""Atomic writers for per-video outputs: nothing half-written is left."""
import contextlib
import io
import json
import os
import os.path as osp
import tempfile
from typing import Iterator, Optional

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temp path beside ``path`` that becomes ``path`` on success.

    The temp name starts with ``.tmp_`` and keeps the extension (writers
    such as OpenCV's choose the format by it). On any error, or if the
    process is killed, ``path`` is untouched; the temp file is removed on
    errors.
    """
    d = osp.dirname(osp.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.tmp_', suffix=osp.splitext(path)[1],
                               dir=d)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temp file and a rename."""
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def save_map(path: str, saliency: np.ndarray, **fields) -> None:
    """Save a saliency map and its metadata as one ``.npz``, atomically.

    Dict values are stored as JSON strings (read them back with
    :func:`load_map`).
    """
    buf = io.BytesIO()
    arrays = {'saliency': np.asarray(saliency, np.float32)}
    for k, v in fields.items():
        if isinstance(v, dict):
            v = json.dumps(v, default=str)
        arrays[k] = np.asarray(v)
    np.savez_compressed(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def load_map(path: str) -> dict:
    """Read a map written by :func:`save_map` (JSON fields decoded)."""
    out = {}
    with np.load(path, allow_pickle=False) as z:
        for k in z.files:
            v = z[k]
            if v.ndim == 0:
                v = v.item()
                if isinstance(v, str) and v[:1] in '{[':
                    try:
                        v = json.loads(v)
                    except ValueError:
                        pass
            out[k] = v
    return out


def append_line(path: str, record: dict) -> None:
    """Append one JSON line with a single ``write`` (safe across ranks)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    line = (json.dumps(record, default=str) + '\n').encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_summary(path: str) -> dict:
    """Last record per video of a ``summary.json`` (JSON lines)."""
    out = {}
    if not osp.exists(path):
        return out
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a line cut by a kill; the video reruns
            out[rec.get('video')] = rec
    return out


def done_ids(maps_dir: Optional[str]) -> set:
    """Video ids whose map file exists (finished in an earlier run)."""
    if not maps_dir or not osp.isdir(maps_dir):
        return set()
    return {
        f[:-4]
        for f in os.listdir(maps_dir)
        if f.endswith('.npz') and not f.startswith('.')
    }


#: file beside a maps folder describing the run that made its maps
#: (``WORK_DIR/run.json`` for ``WORK_DIR/maps``: the folder keeps only maps)
RUN_FILE = 'run.json'


def file_digest(path: Optional[str]) -> Optional[str]:
    """SHA-256 of a file (``None`` for no file)."""
    if path is None:
        return None
    import hashlib
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def run_fingerprint(explainer: dict, checkpoint_sha256: Optional[str],
                    model: dict, pipeline) -> dict:
    """What decides a run's maps: the explainer, the checkpoint's bytes
    (their :func:`file_digest`), the model and the test pipeline (as
    JSON-able values)."""
    def plain(v):
        return json.loads(json.dumps(v, sort_keys=True, default=str))
    return dict(explainer=plain(dict(explainer)),
                checkpoint_sha256=checkpoint_sha256,
                model=plain(dict(model)), pipeline=plain(list(pipeline)))


def run_file(maps_dir: str) -> str:
    """Where the run record of ``maps_dir`` lives (beside it)."""
    return osp.join(osp.dirname(osp.normpath(maps_dir)), RUN_FILE)


def check_resume(maps_dir: str, fingerprint: dict) -> Optional[str]:
    """Compare a run with the one that made the maps already in ``maps_dir``.

    Returns:
        str or None: ``None`` when the maps can be reused (no maps, no
        record of their run, or the same run); otherwise which part
        differs (``'explainer'``, ``'checkpoint_sha256'``, ``'model'`` or
        ``'pipeline'``): resuming would mix maps of two different runs.
    """
    path = run_file(maps_dir)
    if not done_ids(maps_dir) or not osp.isfile(path):
        return None
    try:
        with open(path) as f:
            old = json.load(f)
    except (OSError, ValueError):
        return None
    for key in ('explainer', 'checkpoint_sha256', 'model', 'pipeline'):
        if old.get(key) != fingerprint.get(key):
            return key
    return None


def write_run_file(maps_dir: str, fingerprint: dict) -> None:
    """Record the run that writes into ``maps_dir`` (atomically)."""
    atomic_write_bytes(run_file(maps_dir),
                       json.dumps(fingerprint, indent=1).encode())
