"""What ``tools/explain.py`` and ``tools/eval_saliency.py`` share: the
arguments of a run and how it ends (exit codes, one-line errors)."""
import argparse
import os
import sys
import warnings
from typing import Callable, Optional, Sequence

from mmengine.config import DictAction

from ..compat import CheckpointError
from .config import RunError

#: Exit codes: every video done; some video failed; bad input (nothing ran).
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
#: Exit code after Ctrl-C (SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


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
    stderr and exit code 2."""
    warnings.filterwarnings('ignore', category=UserWarning)
    args = parse(parser, argv)
    try:
        return run(args)
    except (RunError, CheckpointError, FileNotFoundError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        from .workdir import maps_done
        print(f'interrupted, {maps_done()} done, rerun to resume',
              file=sys.stderr)
        return EXIT_INTERRUPTED
