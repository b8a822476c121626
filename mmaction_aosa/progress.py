"""Progress inside one map: how many clips an explainer has scored.

Explainers say how many clips they are about to score with
:func:`expect`; :class:`~mmaction_aosa.scoring.Scorer` calls
:func:`advance` after every batch. Both are no-ops unless a reporter is
active (:func:`reporting`), so explainers called from Python stay silent.

A reporter is any object with ``expect(n)`` and ``advance(n)`` methods.
"""
import contextlib
import contextvars
from typing import Iterator, Optional

_reporter: contextvars.ContextVar = contextvars.ContextVar(
    'mmaction_aosa_progress', default=None)


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
