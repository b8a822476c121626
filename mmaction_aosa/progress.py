"""Progress inside one map: how many clips an explainer has scored.

Explainers say how many clips they are about to score with
:func:`expect`; :class:`~mmaction_aosa.scoring.Scorer` calls
:func:`advance` after every batch. Both are no-ops unless a reporter is
active (:func:`reporting`), so explainers called from Python stay silent.

A reporter is any object with ``expect(n)`` and ``advance(n)`` methods.
Two are provided, and :func:`for_map` picks one for a map of a run:

* :class:`BarReporter`: a live bar on a terminal (rewritten in place,
  erased when the map is done), shown once a map has taken longer than
  :data:`BAR_DELAY` seconds;
* :class:`LineReporter`: one line every :func:`line_interval` seconds
  (:data:`LINE_INTERVAL` by default; the environment variable
  ``MMACTION_AOSA_PROGRESS`` sets it, ``0`` turns progress off), for a log
  file, a terminal that is not one (output piped) and the non-zero ranks of
  a torchrun.

Both show the clips scored out of the total, the rate and an ETA in
h:mm:ss; maps shorter than the delay print nothing (the quiet terminal).
"""
import contextlib
import contextvars
import logging
import math
import os
import shutil
import sys
import time
from typing import Callable, Iterator, Optional, TextIO

_reporter: contextvars.ContextVar = contextvars.ContextVar(
    'mmaction_aosa_progress', default=None)

#: Seconds between two lines of :class:`LineReporter` (the default).
LINE_INTERVAL = 10.0
#: Seconds a map runs before :class:`BarReporter` draws its bar.
BAR_DELAY = 1.0
#: Environment variable with the seconds between progress lines (0: off).
ENV_INTERVAL = 'MMACTION_AOSA_PROGRESS'


def expect(num_clips: int) -> None:
    """Announce ``num_clips`` more clips to score for the current map."""
    rep = _reporter.get()
    if rep is not None and num_clips > 0:
        rep.expect(int(num_clips))


def advance(num_clips: int = 1) -> None:
    """``num_clips`` clips of the current map were scored."""
    rep = _reporter.get()
    if rep is not None and num_clips > 0:
        rep.advance(int(num_clips))


@contextlib.contextmanager
def reporting(reporter: Optional[object]) -> Iterator[None]:
    """Send :func:`expect` and :func:`advance` to ``reporter`` inside the
    block (``None``: stay silent)."""
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)


def hms(seconds: Optional[float]) -> str:
    """``seconds`` as h:mm:ss (``0:01:05``; ``-:--:--`` when unknown)."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return '-:--:--'
    s = int(round(seconds))
    return f'{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}'


def duration(seconds: Optional[float]) -> str:
    """A duration for a person: ``2.4 s`` under a minute, else h:mm:ss."""
    if seconds is not None and 0 <= seconds < 59.95:
        return f'{seconds:.1f} s'
    return hms(seconds)


def line_interval() -> float:
    """Seconds between progress lines: ``$MMACTION_AOSA_PROGRESS`` or
    :data:`LINE_INTERVAL` (0: no progress at all)."""
    value = os.environ.get(ENV_INTERVAL, '').strip()
    if not value:
        return LINE_INTERVAL
    try:
        return max(float(value), 0.0)
    except ValueError:
        return LINE_INTERVAL


class Reporter:
    """Counts the clips of one map; subclasses decide what to show.

    Clips scored before the first :func:`expect` (the clean clip's own
    forward pass) are not counted. The total grows to what was scored when
    an explainer scores more than it announced.

    Args:
        label (str): What the map is of (the video id).
        clock (callable): Seconds, monotonic (tests pass a fake one).
    """

    def __init__(self, label: str = '',
                 clock: Callable[[], float] = time.monotonic):
        self.label = label
        self.clock = clock
        self.start = clock()
        self.total = 0
        self.done = 0
        self._first = None  # time of the first announcement

    def expect(self, n: int) -> None:
        if self._first is None:
            self._first = self.clock()
        self.total += n

    def advance(self, n: int) -> None:
        if self._first is None:
            return
        self.done += n
        self.total = max(self.total, self.done)
        self.update()

    def rate(self) -> Optional[float]:
        """Clips per second since the first announcement."""
        if self._first is None:
            return None
        dt = self.clock() - self._first
        return self.done / dt if dt > 0 and self.done else None

    def eta(self) -> Optional[float]:
        """Seconds until every announced clip is scored."""
        r = self.rate()
        return (self.total - self.done) / r if r else None

    def text(self) -> str:
        """``clip0: 120/392 clips scored, 8.3 clips/s, ETA 0:00:33``."""
        r = self.rate()
        rate = f'{r:.1f} clips/s' if r is not None and r >= 1 else (
            f'{1 / r:.1f} s/clip' if r else 'rate -')
        head = f'{self.label}: ' if self.label else ''
        return (f'{head}{self.done}/{self.total} clips scored, {rate}, '
                f'ETA {hms(self.eta())}')

    def update(self) -> None:
        """Called after every advance; show progress if it is time."""

    def finish(self) -> None:
        """The map is done (or failed): clean up what was shown."""


class LineReporter(Reporter):
    """One line every ``interval`` seconds through ``emit``.

    The first line comes ``interval`` seconds after the map started, so
    maps shorter than that print nothing.

    Args:
        emit (callable): Takes one line (``logger.info``, ``print``).
        interval (float): Seconds between lines.
    """

    def __init__(self, emit: Callable[[str], None], label: str = '',
                 interval: float = LINE_INTERVAL,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(label, clock)
        self.emit = emit
        self.interval = float(interval)
        self._next = self.start + self.interval
        self.lines = 0

    def update(self) -> None:
        now = self.clock()
        if self._first is None or now < self._next:
            return
        self._next = now + self.interval
        self.lines += 1
        self.emit(self.text())


class BarReporter(Reporter):
    """A live bar on a terminal, rewritten in place (``\\r``).

    Drawn once the map has run ``delay`` seconds, at most every
    ``refresh`` seconds; :meth:`finish` erases it, so the run's own line
    for the video follows on a clean line.

    Args:
        stream (file): The terminal (``sys.stderr``).
        width (int): Characters of the bar itself.
    """

    def __init__(self, stream: TextIO, label: str = '',
                 delay: float = BAR_DELAY, refresh: float = 0.2,
                 width: int = 24,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(label, clock)
        self.stream = stream
        self.delay = delay
        self.refresh = refresh
        self.width = width
        self._drawn_at = None
        self.shown = False

    def bar(self) -> str:
        frac = self.done / self.total if self.total else 0.0
        full = int(round(frac * self.width))
        return '[' + '#' * full + '.' * (self.width - full) + ']'

    def update(self) -> None:
        now = self.clock()
        if self._first is None or now - self.start < self.delay:
            return
        if self._drawn_at is not None and now - self._drawn_at < \
                self.refresh and self.done < self.total:
            return
        self._drawn_at = now
        self.shown = True
        # one terminal line: a wrapped bar could not be rewritten in place
        width = shutil.get_terminal_size((100, 24)).columns - 1
        self.stream.write(f'\r\033[K{self.bar()} {self.text()}'[:width + 4])
        self.stream.flush()

    def finish(self) -> None:
        if self.shown:
            self.stream.write('\r\033[K')
            self.stream.flush()
            self.shown = False


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def make_reporter(label: str, logger: Optional[logging.Logger] = None,
                  rank: int = 0, stream: Optional[TextIO] = None,
                  interval: Optional[float] = None) -> Optional[Reporter]:
    """The reporter for one map of a run.

    Rank 0 with a terminal on ``stream`` (default ``sys.stderr``) gets a
    :class:`BarReporter`; rank 0 otherwise a :class:`LineReporter` writing
    to ``logger`` (the terminal and the run's log file), or to ``stream``
    without one; other ranks (whose logger shows only errors) a
    :class:`LineReporter` on ``stream``, each line naming the rank.

    Returns:
        Reporter | None: None when progress is off (``interval`` 0).
    """
    interval = line_interval() if interval is None else interval
    if interval <= 0:
        return None
    stream = sys.stderr if stream is None else stream
    if rank == 0 and _is_tty(stream):
        return BarReporter(stream, label)

    def to_stream(line: str) -> None:
        prefix = f'[rank {rank}] ' if rank else ''
        stream.write(prefix + line + '\n')
        stream.flush()

    emit = logger.info if rank == 0 and logger is not None else to_stream
    return LineReporter(emit, label, interval)


@contextlib.contextmanager
def for_map(label: str, logger: Optional[logging.Logger] = None,
            rank: Optional[int] = None) -> Iterator[Optional[Reporter]]:
    """Report the progress of the map made inside the block
    (:func:`make_reporter`); the bar is erased when it ends."""
    if rank is None:
        from mmengine.dist import get_rank
        rank = get_rank()
    rep = make_reporter(label, logger, rank)
    try:
        with reporting(rep):
            yield rep
    finally:
        if rep is not None:
            rep.finish()
