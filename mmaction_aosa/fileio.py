"""Writers that never leave a half-written file, and JSON-lines helpers.

The lowest layer of the package: every other module that writes files
(maps, overlays, run records, summaries) goes through these.
"""
import contextlib
import hashlib
import json
import os
import os.path as osp
import tempfile
from typing import Iterator, List, Optional

#: Prefix of the temp files :func:`atomic_path` makes beside their target.
TEMP_PREFIX = '.tmp_'


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temp path beside ``path`` that becomes ``path`` on success.

    The temp name starts with :data:`TEMP_PREFIX` and keeps the extension
    (writers such as OpenCV's choose the format by it). On any error, or if
    the process is killed, ``path`` is untouched; the temp file is removed
    on errors (a killed process leaves it: :func:`remove_stale_temp_files`).
    """
    d = osp.dirname(osp.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX,
                               suffix=osp.splitext(path)[1], dir=d)
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


def atomic_write_json(path: str, data, indent: Optional[int] = 1) -> None:
    """Write ``data`` as JSON to ``path`` atomically."""
    atomic_write_bytes(path, json.dumps(data, indent=indent,
                                        default=str).encode())


def read_json(path: str, default=None):
    """The JSON content of ``path``, or ``default`` if absent or broken."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def append_line(path: str, record: dict) -> None:
    """Append one JSON line with a single ``write`` (safe across ranks)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    line = (json.dumps(record, default=str) + '\n').encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def read_lines(path: str) -> List[dict]:
    """The JSON lines of ``path`` (none if absent); a line cut by a kill is
    skipped."""
    out = []
    if not osp.isfile(path):
        return out
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def write_lines(path: str, rows: List[dict]) -> None:
    """Write ``rows`` as JSON lines, atomically."""
    atomic_write_bytes(path, ''.join(
        json.dumps(r, default=float) + '\n' for r in rows).encode())


def file_digest(path: Optional[str]) -> Optional[str]:
    """SHA-256 of a file (``None`` for no file)."""
    if path is None:
        return None
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def remove_stale_temp_files(folder: str) -> int:
    """Remove temp files that a killed writer left under ``folder``.

    Returns:
        int: How many were removed.
    """
    removed = 0
    if not osp.isdir(folder):
        return removed
    for dirpath, _, files in os.walk(folder):
        for f in files:
            if f.startswith(TEMP_PREFIX):
                try:
                    os.unlink(osp.join(dirpath, f))
                    removed += 1
                except OSError:
                    pass
    return removed
