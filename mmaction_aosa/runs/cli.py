"""What ``tools/explain.py`` and ``tools/eval_saliency.py`` share: the
arguments of a run and how it ends (exit codes, one-line errors)."""
import argparse
import contextlib
import os
import signal
import sys
import threading
import warnings
from typing import Callable, Optional, Sequence

from mmengine.config import DictAction

from ..compat import CheckpointError
from .config import RunError

#: Exit codes: every video done; some video failed; bad input (nothing ran).
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
#: Exit codes after Ctrl-C (SIGINT) and SIGTERM, as shells report them.
EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143
#: Starts of the errors torch's DataLoader raises when a worker hangs or
#: dies: the run stops with one line (finished maps kept).
LOADER_FAILURES = ('DataLoader timed out after',
                   'DataLoader worker (pid')


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: the run stops where it is, finished
    maps are kept, the work dir's lock is released. A KeyboardInterrupt,
    so that DataLoader workers (which inherit the handler) exit quietly as
    they do on Ctrl-C."""


def _on_sigterm(signum, frame):
    raise Terminated()


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Raise :class:`Terminated` on SIGTERM inside the block (main thread
    only; the previous handler is restored)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run_parser(description: str) -> argparse.ArgumentParser:
    """A parser with the arguments every run takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument('config', help='mmaction-style config file')
    p.add_argument('checkpoint', nargs='?', default=None,
                   help='local checkpoint (.pth); random weights if omitted')
    p.add_argument('--work-dir', help='output directory')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config entries, key=value '
                   '(explainer.KEY=VALUE also overrides --explainer presets)')
    p.add_argument('--launcher', choices=['none', 'pytorch'], default='none')
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='allow full unpickling of the checkpoint (only for '
                   'files you trust)')
    p.add_argument('--verbose', action='store_true',
                   help="also print mmengine's environment, full config and "
                   'hook table (always in the log file)')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0,
                   help=argparse.SUPPRESS)
    return p


def parse(parser: argparse.ArgumentParser,
          argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    args = parser.parse_intermixed_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main_of(run: Callable[[argparse.Namespace], int],
            parser: argparse.ArgumentParser,
            argv: Optional[Sequence[str]] = None) -> int:
    """Parse, import the plugin, run; bad input ends with one line on
    stderr and exit code 2; Ctrl-C and SIGTERM with one line and 130 or
    143; a DataLoader worker that hangs or dies, or a write that fails
    after the start (a disk full when the reports are written), with one
    line and 1."""
    warnings.filterwarnings('ignore', category=UserWarning)
    args = parse(parser, argv)
    try:
        with sigterm_as_interrupt():
            return run(args)
    except (RunError, CheckpointError, FileNotFoundError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as exc:
        from .workdir import maps_done
        done = getattr(exc, 'maps_done', None)
        done = maps_done() if done is None else done
        print(f'interrupted, {done} done, rerun to resume', file=sys.stderr)
        return EXIT_TERMINATED if isinstance(exc, Terminated) else \
            EXIT_INTERRUPTED
    except RuntimeError as exc:
        text = ' '.join(str(exc).split())
        if not text.startswith(LOADER_FAILURES):
            raise
        done = getattr(exc, 'maps_done', 0)
        print(f'error: {text[:300]}; {done} done: rerun to resume (with '
              'test_dataloader.num_workers=0 if it happens again)',
              file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:  # after the start: a disk full at the reports
        where = f' ({exc.filename})' if exc.filename else ''
        done = getattr(exc, 'maps_done', 0)
        print(f'error: {exc.strerror or exc}{where}; {done} done: rerun to '
              'resume', file=sys.stderr)
        return EXIT_FAILED
