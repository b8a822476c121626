"""Evaluate saliency methods on the test set of an mmaction2 config.

    python tools/eval_saliency.py CONFIG CHECKPOINT --explainers NAME [...]
        [--work-dir DIR] [--maps DIR] [--launcher {none,pytorch}]
        [--cfg-options K=V ...] [--num-videos N] [--boxes PATH]
        [--ucf24-pkl PATH] [--steps 28] [--batch-size 16] [--sanity N]
        [--trust-checkpoint]

NAME resolves like ``tools/explain.py --explainer`` (``aosa``,
``aosa_approx``, ``gradcam``, ``AOSA``, ...); ``NAME:key=value,...``
overrides arguments (``aosa:map_form=paper``). Maps are computed on the fly
(and kept in WORK_DIR/<method>/maps, so a rerun of the same run reuses
them), or read from ``--maps DIR`` (written by tools/explain.py). Writes WORK_DIR/metrics.json
(``{method: {deletion, insertion, overall, spt, seconds_per_map,
num_videos}}``), metrics.md, curves.json, curves.png (and sanity.json,
sanity.png with --sanity). S-PT is null where no ground-truth boxes exist.
Under torchrun: ``torchrun --nproc_per_node=2 tools/eval_saliency.py ...
--launcher pytorch``. Exit code 2 on bad arguments.
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
        description='Deletion, insertion, over-all, S-PT and time per map '
        'of saliency methods')
    p.add_argument('config', help='mmaction-style config file')
    p.add_argument('checkpoint', nargs='?', default=None,
                   help='local checkpoint (.pth); random weights if omitted')
    p.add_argument('--explainers', nargs='+', required=True, metavar='NAME',
                   help='methods: explainer config names or registered '
                   'types, optionally NAME:key=value,...')
    p.add_argument('--work-dir', help='output directory')
    p.add_argument('--maps', help='read maps/*.npz written by '
                   'tools/explain.py from this folder')
    p.add_argument('--launcher', choices=['none', 'pytorch'], default='none')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config entries, key=value')
    p.add_argument('--num-videos', type=int, help='only the first N videos')
    p.add_argument('--boxes', default='auto', help="ground-truth boxes: "
                   "'auto' (the generated dataset's JSON next to the videos),"
                   " a boxes folder or boxes.json, or 'none'")
    p.add_argument('--ucf24-pkl', help="UCF101-24 pyannot.pkl")
    p.add_argument('--steps', type=int, default=28,
                   help='deletion/insertion steps')
    p.add_argument('--batch-size', type=int, default=16,
                   help='perturbed clips per forward pass')
    p.add_argument('--sanity', type=int, default=0, metavar='N',
                   help='cascading randomisation on the first N videos')
    p.add_argument('--trust-checkpoint', action='store_true',
                   help='allow full unpickling of the checkpoint')
    p.add_argument('--local_rank', '--local-rank', type=int, default=0,
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv=None) -> int:
    warnings.filterwarnings('ignore', category=UserWarning)
    args = parse_args(argv)
    import mmaction_aosa  # noqa: F401  registers everything
    from mmaction_aosa.apis import ExplainConfigError
    from mmaction_aosa.compat import CheckpointError
    from mmaction_aosa.evaluation.run import run_eval
    try:
        results = run_eval(
            args.config, args.checkpoint, args.explainers,
            work_dir=args.work_dir, maps=args.maps, launcher=args.launcher,
            cfg_options=args.cfg_options, num_videos=args.num_videos,
            boxes=None if args.boxes == 'none' else args.boxes,
            ucf24_pkl=args.ucf24_pkl, steps=args.steps,
            batch_size=args.batch_size, sanity_videos=args.sanity,
            trust_checkpoint=args.trust_checkpoint)
    except (ExplainConfigError, CheckpointError, FileNotFoundError) as exc:
        logging.getLogger().error('error: %s', exc)
        print(f'error: {exc}', file=sys.stderr)
        return 2
    for label, r in results.items():
        print(f"{label}: deletion {r['deletion']} insertion {r['insertion']}"
              f" overall {r['overall']} spt {r['spt']} "
              f"s/map {r['seconds_per_map']} videos {r['num_videos']}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
