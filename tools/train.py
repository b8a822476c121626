"""Train a recognizer with mmengine's Runner (mmaction2's tools/train.py
interface), optionally test it and export a small checkpoint.

    python tools/train.py configs/tiny/tiny_r3d_synthetic.py \
        --data-root work_dirs/synthetic --test \
        --export checkpoints/tiny_r3d_synthetic.pth

``--export`` writes ``{'state_dict': ..., 'meta': {...}}`` holding only
tensors and plain Python values (floating tensors in float16 unless
``--export-fp32``), so that :func:`mmaction_aosa.compat.load_checkpoint`
loads it with ``weights_only=True``.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.join(osp.dirname(__file__), '..'))

import mmaction_aosa  # noqa: E402,F401  (patches the mmaction2 wheel first)
import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmaction_aosa.compat import init_dist_cpu_safe  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Train a recognizer')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the latest checkpoint in the '
                        'work dir, or from the given checkpoint')
    parser.add_argument('--data-root',
                        help='set data_root of the train/val/test datasets')
    parser.add_argument('--seed', type=int, default=None,
                        help='random seed (overrides randomness.seed)')
    parser.add_argument('--test', action='store_true',
                        help='run the test loop after training')
    parser.add_argument('--export', metavar='PTH',
                        help='after training, save the final state_dict '
                        '(float16) with plain metadata to this path')
    parser.add_argument('--export-fp32', action='store_true',
                        help='keep float32 in the exported checkpoint')
    parser.add_argument('--num-threads', type=int, default=None,
                        help='torch intra-op threads (1 is fastest when '
                        'other processes share the CPU cores)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'])
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_cfg(args) -> Config:
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if args.data_root is not None:
        for split in ('train', 'val', 'test'):
            loader = cfg.get(f'{split}_dataloader', None)
            if loader is not None:
                loader.dataset.data_root = args.data_root
        cfg.data_root = args.data_root
    if args.seed is not None:
        cfg.randomness = dict(cfg.get('randomness', {}), seed=args.seed)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def export(model: torch.nn.Module, path: str, fp32: bool, meta: dict):
    """Save a weights-only-loadable checkpoint."""
    while hasattr(model, 'module'):
        model = model.module
    state = {}
    for k, v in model.state_dict().items():
        v = v.detach().cpu().clone()
        if v.is_floating_point() and not fp32:
            v = v.half()
        state[k] = v
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    # plain JSON types only (torch.__version__ is a str subclass the
    # weights-only unpickler refuses)
    meta = json.loads(json.dumps(meta, default=str))
    torch.save({'state_dict': state, 'meta': meta}, path)
    return osp.getsize(path)


def main():
    args = parse_args()
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    if args.launcher == 'pytorch':
        init_dist_cpu_safe(args.launcher)
    cfg = build_cfg(args)
    runner = Runner.from_cfg(cfg)

    t0 = time.time()
    runner.train()
    train_s = time.time() - t0
    runner.logger.info(f'training took {train_s:.1f} s (wall clock)')
    summary = dict(config=args.config, train_seconds=round(train_s, 1),
                   randomness_seed=cfg.get('randomness', {}).get('seed'),
                   max_epochs=cfg.train_cfg.get('max_epochs'),
                   num_threads=torch.get_num_threads())

    if args.test:
        metrics = runner.test()
        summary['test_metrics'] = {k: float(v) for k, v in metrics.items()}

    if args.export and runner.rank == 0:
        meta = dict(summary, command=' '.join([osp.basename(sys.executable)]
                                              + sys.argv),
                    torch_version=str(torch.__version__),
                    dtype='float32' if args.export_fp32 else 'float16')
        size = export(runner.model, args.export, args.export_fp32, meta)
        runner.logger.info(f'exported {args.export} ({size} bytes)')
        summary['export'] = dict(path=args.export, bytes=size)

    if runner.rank == 0:
        with open(osp.join(cfg.work_dir, 'summary.json'), 'w') as f:
            json.dump(summary, f, indent=1)
        print(json.dumps(summary))


if __name__ == '__main__':
    main()
