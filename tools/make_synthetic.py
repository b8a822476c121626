"""Generate the synthetic ground-truth benchmark (one split per call).

Example (the splits the committed checkpoints were trained/evaluated on)::

    python tools/make_synthetic.py --out data/synthetic/train --num-videos 800 --seed 0
    python tools/make_synthetic.py --out data/synthetic/val --num-videos 200 --seed 1
    python tools/make_synthetic.py --out data/synthetic/test --num-videos 200 --seed 2

See mmaction_aosa/datasets/synthetic.py for what is drawn and written.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))

from mmaction_aosa.datasets.synthetic import generate_dataset  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', required=True, help='output folder of the split')
    p.add_argument('--num-videos', type=int, required=True)
    p.add_argument('--seed', type=int, required=True)
    p.add_argument('--num-distractors', type=int, default=3)
    p.add_argument('--num-frames', type=int, default=32)
    p.add_argument('--unbalanced', action='store_true',
                   help='draw each label at random instead of equal counts')
    return p.parse_args()


def main():
    args = parse_args()
    t0 = time.time()
    meta = generate_dataset(args.out, args.num_videos, args.seed,
                            balanced=not args.unbalanced,
                            num_distractors=args.num_distractors,
                            num_frames=args.num_frames)
    print(f'wrote {args.num_videos} clips (seed {args.seed}, codec '
          f'{",".join(meta["codec"])}) to {args.out} in '
          f'{time.time() - t0:.1f} s')


if __name__ == '__main__':
    main()
