"""Explain the videos of an mmaction2 test config with AOSA (or another method).

    python tools/explain.py CONFIG [CHECKPOINT] [--video PATH]
        [--work-dir DIR] [--explainer NAME] [--cfg-options K=V ...]
        [--launcher {none,pytorch}] [--trust-checkpoint] [--no-vis]

Writes WORK_DIR/maps/<video_id>.npz, WORK_DIR/vis/<video_id>.mp4 and one
line per video in WORK_DIR/summary.json. A rerun skips finished videos. The
exit code is 1 if any video failed, 2 on bad arguments.
"""
import argparse
import logging
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(
        description='Saliency maps for the test videos of an mmaction2 '
        'config')
    p.add_argument('config', help='mmaction-style config file')
    p.add_argument('checkpoint', nargs='?', default=None,
                   help='local checkpoint (.pth); random weights if omitted')
    p.add_argument('--video', help='explain this one video file with the '
                   "config's test pipeline instead of its test set")
    p.add_argument('--work-dir', help='output directory (default '
                   'work_dirs/<config name>)')
    p.add_argument('--explainer', help='explainer config name in '
                   'configs/_base_/explainers (e.g. aosa, aosa_approx, '
                   'gradcam) or registered type (e.g. AOSA)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config entries, key=value')
    p.add_argument('--launcher', choices=['none', 'pytorch'], default='none')
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='allow full unpickling of the checkpoint (only for '
                   'files you trust)')
    p.add_argument('--no-vis', action='store_true',
                   help='do not write overlay videos')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0,
                   help=argparse.SUPPRESS)
    args = p.parse_intermixed_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv=None) -> int:
    warnings.filterwarnings('ignore', category=UserWarning)
    import mmaction_aosa  # noqa: F401  registers everything
    from mmaction_aosa.apis import ExplainConfigError, run_explain
    from mmaction_aosa.compat import CheckpointError
    args = parse_args(argv)
    try:
        result = run_explain(
            args.config, args.checkpoint, work_dir=args.work_dir,
            explainer=args.explainer, video=args.video,
            cfg_options=args.cfg_options, launcher=args.launcher,
            trust_checkpoint=args.trust_checkpoint, vis=not args.no_vis)
    except (ExplainConfigError, CheckpointError, FileNotFoundError) as exc:
        logging.getLogger().error('error: %s', exc)
        print(f'error: {exc}', file=sys.stderr)
        return 2
    return 1 if result.get('num_failed', 0) else 0


if __name__ == '__main__':
    sys.exit(main())
