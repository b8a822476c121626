"""Writers that never leave a half-written file, and JSON-lines helpers.

The lowest layer of the package: every other module that writes files
(maps, overlays, run records, summaries) goes through these.
"""
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import os.path as osp
import tempfile
from typing import Iterator, List, Optional

#: Prefix of the temp files :func:`atomic_path` makes beside their target.
TEMP_PREFIX = '.tmp_'
#: Ends the random part of a temp file's name. Video ids and method folder
#: names never hold it, so a temp file is never taken for a map (a video
#: called ``.tmp_clip.mp4`` has the map ``.tmp_clip.npz``, which is not).
TEMP_MARK = '~'


def is_temp_name(name: str) -> bool:
    """Whether ``name`` (a file name, no folder) is a temp file of
    :func:`atomic_path`: ``.tmp_<random>~<ext>``."""
    return name.startswith(TEMP_PREFIX) and TEMP_MARK in name


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """A temp path beside ``path`` that becomes ``path`` on success.

    The temp name is ``.tmp_<random>~<ext>`` (:func:`is_temp_name`): it
    keeps the extension (writers such as OpenCV's choose the format by
    it). On any error, or if the process is killed, ``path`` is untouched;
    the temp file is removed on errors (a killed process leaves it:
    :func:`remove_stale_temp_files`).
    """
    d = osp.dirname(osp.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX,
                               suffix=TEMP_MARK + osp.splitext(path)[1],
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


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written; a write that writes
    nothing (a file-size limit reached) raises ``OSError(EFBIG)``."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))
        view = view[n:]


def append_line(path: str, record: dict) -> None:
    """Append one JSON line, whole or not at all.

    The file is locked (``flock``) while the line is written, so lines of
    several ranks never interleave. A write cut short (disk full, a
    file-size limit: ``os.write`` writes part of the line, then fails) is
    undone by truncating the file back, and raises ``OSError``: the file
    never holds half a line that the next record would be glued to. A file
    that does not end with a newline (a writer killed mid-line) gets one
    first.

    Raises:
        OSError: The line could not be written (the file is as before).
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    line = (json.dumps(record, default=str) + '\n').encode()
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b'\n':
            line = b'\n' + line
        try:
            _write_all(fd, line)
        except BaseException:
            try:
                os.ftruncate(fd, size)
            except OSError:
                pass
            raise
    finally:
        os.close(fd)  # releases the lock


def read_lines(path: str) -> List[dict]:
    """The JSON objects of ``path``, one per line (none if absent); a line
    cut by a kill is skipped."""
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


def json_digest(value) -> str:
    """SHA-256 of ``value`` as canonical JSON (sorted keys): equal for
    values that are equal once saved as JSON."""
    text = json.dumps(value, sort_keys=True, default=str,
                      separators=(',', ':'))
    return hashlib.sha256(text.encode()).hexdigest()


def file_digest(path: Optional[str]) -> Optional[str]:
    """SHA-256 of a file (``None`` for no file)."""
    if path is None:
        return None
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


#: Bytes of each end of a file that :func:`content_digest` reads.
DIGEST_BYTES = 2**20


def content_digest(path: str, folder: bool = False) -> str:
    """A digest of a file's content that is cheap for any size: its size
    and its first and last MiB (a folder: the names and sizes of its
    files). Tells a video from another one, or from itself edited."""
    h = hashlib.sha256()
    if folder:
        for entry in sorted(os.scandir(path), key=lambda e: e.name):
            size = entry.stat().st_size if entry.is_file() else -1
            line = f'{entry.name}\0{size}\n'
            h.update(line.encode('utf-8', 'surrogateescape'))
        return h.hexdigest()
    with open(path, 'rb') as f:
        size = os.fstat(f.fileno()).st_size
        h.update(f'{size}\n'.encode())
        h.update(f.read(DIGEST_BYTES))
        if size > DIGEST_BYTES:
            f.seek(max(size - DIGEST_BYTES, DIGEST_BYTES))
            h.update(f.read(DIGEST_BYTES))
    return h.hexdigest()


def remove_stale_temp_files(folder: str) -> int:
    """Remove temp files (:func:`is_temp_name`) that a killed writer left
    under ``folder``.

    Returns:
        int: How many were removed.
    """
    removed = 0
    if not osp.isdir(folder):
        return removed
    for dirpath, _, files in os.walk(folder):
        for f in files:
            if is_temp_name(f):
                try:
                    os.unlink(osp.join(dirpath, f))
                    removed += 1
                except OSError:
                    pass
    return removed
