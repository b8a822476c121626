"""Explain the videos of an mmaction2 test config with AOSA (or another method).

    python tools/explain.py CONFIG [CHECKPOINT] [--video PATH]
        [--work-dir DIR] [--explainer NAME] [--cfg-options K=V ...]
        [--launcher {none,pytorch}] [--trust-checkpoint] [--no-vis]
        [--num-videos N]

Writes WORK_DIR/maps/<video_id>.npz, WORK_DIR/vis/<video_id>.mp4 (the
overlay on the source video, at its size and frame rate), one line per
video in WORK_DIR/summary.jsonl and WORK_DIR/report.html (open it in a
browser). A rerun skips finished videos and adds to the report.
The exit code is 1 if any video failed, 2 on bad arguments.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

try:
    from mmaction_aosa.runs.cli import (EXIT_FAILED, EXIT_OK,  # noqa
                                        main_of, run_parser)
except KeyboardInterrupt:  # Ctrl-C while torch and mmengine import
    print('interrupted before any video', file=sys.stderr)
    sys.exit(130)


def parser():
    p = run_parser('Saliency maps for the test videos of an mmaction2 '
                   'config')
    p.add_argument('--video', help='explain this one video file with the '
                   "config's test pipeline instead of its test set")
    p.add_argument('--explainer', help='explainer preset (e.g. aosa, '
                   'aosa_authors, aosa_approx, gradcam) or registered type '
                   '(e.g. AOSA), optionally NAME:key=value,...')
    p.add_argument('--no-vis', action='store_true',
                   help='do not write overlay videos')
    p.add_argument('--num-videos', type=int, metavar='N',
                   help='only the first N videos of the test set (a rerun '
                   'with a larger N resumes)')
    return p


def run(args) -> int:
    from mmaction_aosa.runs import run_explain
    result = run_explain(
        args.config, args.checkpoint, work_dir=args.work_dir,
        explainer=args.explainer, video=args.video,
        cfg_options=args.cfg_options, launcher=args.launcher,
        trust_checkpoint=args.trust_checkpoint,
        verbose=args.verbose, vis=not args.no_vis,
        num_videos=args.num_videos)
    return EXIT_FAILED if result.get('num_failed', 0) else EXIT_OK


def main(argv=None) -> int:
    return main_of(run, parser(), argv)


if __name__ == '__main__':
    sys.exit(main())
