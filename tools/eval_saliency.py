"""Evaluate saliency methods on the test set of an mmaction2 config.

    python tools/eval_saliency.py CONFIG CHECKPOINT --explainers NAME [...]
        [--work-dir DIR] [--maps DIR] [--launcher {none,pytorch}]
        [--cfg-options K=V ...] [--num-videos N] [--boxes PATH]
        [--ucf24-pkl PATH] [--steps 28] [--batch-size 16] [--sanity N]
        [--trust-checkpoint]

NAME resolves like ``tools/explain.py --explainer`` (``aosa``,
``aosa_authors``, ``aosa_approx``, ``gradcam``, ``AOSA``, ...);
``NAME:key=value,...`` overrides arguments (``aosa:map_form=eq2``). Maps
are computed on the fly (and kept in WORK_DIR/<method>/maps, so a rerun of
the same run reuses them), or read from ``--maps DIR`` (written by
tools/explain.py). Writes WORK_DIR/metrics.json (``{method: {deletion,
insertion, overall, spt, seconds_per_map, num_videos, ...}}``), metrics.md,
curves.json, curves.png (and sanity.json, sanity.png with --sanity),
WORK_DIR/<method>/vis/ (overlays of new maps; --no-vis leaves them out) and
report.html (metrics, curves, the methods side by side per video). S-PT is
null where no ground-truth boxes exist. Under torchrun: ``torchrun
--nproc_per_node=2 tools/eval_saliency.py ... --launcher pytorch``. Exit
code 1 if a video failed, 2 on bad arguments.
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
    p = run_parser('Deletion, insertion, over-all, S-PT and time per map '
                   'of saliency methods')
    p.add_argument('--explainers', nargs='+', required=True, metavar='NAME',
                   help='methods: explainer presets or registered types, '
                   'optionally NAME:key=value,...')
    p.add_argument('--maps', help='read maps/*.npz written by '
                   'tools/explain.py from this folder')
    p.add_argument('--num-videos', type=int, help='only the first N videos')
    p.add_argument('--boxes', default='auto', help="ground-truth boxes: "
                   "'auto' (the generated dataset's JSON next to the videos),"
                   " a boxes folder or boxes.json, or 'none'")
    p.add_argument('--ucf24-pkl', help='UCF101-24 pyannot.pkl')
    p.add_argument('--steps', type=int, default=28,
                   help='deletion/insertion steps')
    p.add_argument('--batch-size', type=int, default=16,
                   help='perturbed clips per forward pass')
    p.add_argument('--sanity', type=int, default=0, metavar='N',
                   help='cascading randomisation on the first N videos')
    p.add_argument('--no-vis', action='store_true',
                   help='do not write overlays of new maps (report.html '
                   'then shows the metrics only)')
    return p


def _num(value, digits: int = 3) -> str:
    """A metric for the terminal: 3 decimals (as metrics.md), '–' if
    none."""
    return '–' if value is None else f'{value:.{digits}f}'


def run(args) -> int:
    from mmaction_aosa.runs import run_eval
    results = run_eval(
        args.config, args.checkpoint, args.explainers,
        work_dir=args.work_dir, maps=args.maps, launcher=args.launcher,
        cfg_options=args.cfg_options, num_videos=args.num_videos,
        boxes=None if args.boxes == 'none' else args.boxes,
        ucf24_pkl=args.ucf24_pkl, steps=args.steps,
        batch_size=args.batch_size, sanity_videos=args.sanity,
        trust_checkpoint=args.trust_checkpoint,
        verbose=args.verbose, vis=not args.no_vis)
    for label, r in results.items():
        print(f"{label}: deletion {_num(r.get('deletion'))} insertion "
              f"{_num(r.get('insertion'))} overall {_num(r.get('overall'))}"
              f" spt {_num(r.get('spt'))} s/map "
              f"{_num(r.get('seconds_per_map'), 2)} videos "
              f"{r.get('num_videos')} failed {r.get('num_failed', 0)}")
    failed = any(r.get('num_failed') for r in results.values())
    return EXIT_FAILED if failed else EXIT_OK


def main(argv=None) -> int:
    return main_of(run, parser(), argv)


if __name__ == '__main__':
    sys.exit(main())
