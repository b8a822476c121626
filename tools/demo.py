"""The offline demo behind `make demo`: AOSA on a tiny trained model.

1. Generates a few held-out clips of the ground-truth benchmark (dataset
   seed 3: training used 0, validation 1, test 2) with per-frame boxes of
   the discriminative object.
2. Runs tools/explain.py's pipeline (mmengine Runner, mmaction2 test
   pipeline) with AOSA on the committed tiny R3D checkpoint: maps, overlay
   videos and a summary in the work dir.
3. Prints where they are, and the spatial pointing-game hit rate of the
   maps against the ground-truth boxes.

No network, no GPU. `python tools/demo.py --help` for options.
"""
import argparse
import os
import os.path as osp
import shutil
import sys
import time
import warnings

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

FAMILIES = ('r3d', 'r2plus1d', 'slowfast', 'timesformer')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--family', choices=FAMILIES, default='r3d')
    p.add_argument('--num-videos', type=int, default=4)
    p.add_argument('--seed', type=int, default=3,
                   help='dataset seed of the generated clips')
    p.add_argument('--explainer', default=None,
                   help='as tools/explain.py --explainer (default AOSA)')
    p.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'))
    return p.parse_args(argv)


def pointing_game_rate(work_dir: str) -> tuple:
    """Hits and frames of the S-PT over the maps of ``work_dir``."""
    from mmaction_aosa import load_map
    from mmaction_aosa.runs import read_summary
    from mmaction_aosa.evaluation.pointing_game import (GroundTruthBoxes,
                                                        boxes_in_clip,
                                                        pointing_game)
    gt = GroundTruthBoxes('auto')
    hits = frames = 0
    for vid, rec in read_summary(osp.join(work_dir, 'summary.jsonl')).items():
        if rec.get('status') != 'ok':
            continue
        m = load_map(osp.join(work_dir, 'maps', f'{vid}.npz'))
        boxes = gt(rec['path'])
        if boxes is None:
            continue
        res = pointing_game(m['saliency'], boxes_in_clip(m['geometry'],
                                                         boxes))
        hits += sum(res.values())
        frames += len(res)
    return hits, frames


def _same_data(split: str, num_videos: int, seed: int) -> bool:
    """Whether ``split`` holds the clips this generator would write now."""
    import json

    from mmaction_aosa.datasets.synthetic import GENERATOR_VERSION
    try:
        with open(osp.join(split, 'meta.json')) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return False
    return (meta.get('seed'), meta.get('num_videos'),
            meta.get('version')) == (seed, num_videos, GENERATOR_VERSION) \
        and osp.isfile(osp.join(split, 'ann.txt'))


def main(argv=None) -> int:
    warnings.filterwarnings('ignore')
    args = parse_args(argv)
    import mmaction_aosa  # noqa: F401
    from mmaction_aosa.apis import run_explain
    from mmaction_aosa.datasets import generate_dataset

    start = time.time()
    data_root = osp.join(args.work_dir, 'data')
    split = osp.join(data_root, 'test')
    if not _same_data(split, args.num_videos, args.seed):
        print(f'[demo] generating {args.num_videos} held-out clips '
              f'(seed {args.seed}) in {split}')
        shutil.rmtree(split, ignore_errors=True)
        generate_dataset(split, args.num_videos, args.seed)
    config = osp.join(REPO, 'configs',
                      f'aosa_tiny_{args.family}_synthetic.py')
    ckpt = osp.join(REPO, 'checkpoints',
                    f'tiny_{args.family}_synthetic.pth')
    if not osp.isfile(ckpt):
        print(f'[demo] {ckpt} is missing: explaining random weights')
        ckpt = None
    out = osp.join(args.work_dir, f'aosa_tiny_{args.family}')
    # a fresh run each time (seconds): maps left by an earlier run may come
    # from another checkpoint, explainer or dataset version
    shutil.rmtree(out, ignore_errors=True)
    print(f'[demo] explaining with {osp.relpath(config, REPO)} and '
          f'{osp.relpath(ckpt, REPO) if ckpt else "random weights"}')
    result = run_explain(
        config, ckpt, work_dir=out, explainer=args.explainer,
        cfg_options={'test_dataloader.dataset.data_root': data_root})
    hits, frames = pointing_game_rate(out)
    print('\n[demo] done in {:.0f} s: {} maps, {} failed'.format(
        time.time() - start, result.get('num_ok', 0) +
        result.get('num_skipped', 0), result.get('num_failed', 0)))
    print(f'  saliency maps : {osp.join(out, "maps")}/<video>.npz')
    print(f'  overlays      : {osp.join(out, "vis")}/<video>.mp4 and .png')
    print(f'  summary       : {osp.join(out, "summary.jsonl")}')
    print(f'  in a browser  : {osp.join(out, "report.html")}')
    if frames:
        print(f'  pointing game : {hits}/{frames} frames hit the object '
              f'({hits / frames:.1%}, 7-px tolerance)')
    return 1 if result.get('num_failed', 0) else 0


if __name__ == '__main__':
    sys.exit(main())
