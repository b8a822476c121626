"""Benchmark of AOSA's stages and of mask-generation memory (CPU).

    python tools/benchmark.py                 # both parts
    python tools/benchmark.py --part stages   # time per stage, R3D-18 size
    python tools/benchmark.py --part memory   # SlowFast-size mask memory

stages: AOSA at s=8 (N=196), 16x112x112 clip, on an R3D-18-sized model
(mmaction2 ResNet3d depth 18, 64 base channels, 3x3x3 convolutions, random
weights): seconds for flow, tracking+masks, scoring and the map step, and
the ratio (everything but scoring) / scoring (goal <= 0.05).

memory: flow, tracking, boxes, co-occurrence, integration and dense masks
of every batch for a 32x256x256 clip at s=10 (N=676), no model; peak
resident memory above the baseline after imports (goal < 1 GB), measured in
a fresh process from /proc/self/status.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def synthetic_frames(T, H, W, seed=0):
    """A textured clip with two squares moving in different directions."""
    import cv2
    import numpy as np
    rng = np.random.default_rng(seed)
    bg = cv2.resize(rng.integers(40, 220, (H // 8, W // 8, 3)).astype(
        np.uint8), (W, H))
    frames = np.repeat(bg[None], T, 0).astype(np.float32)
    s = max(H // 6, 8)
    for t in range(T):
        x = int(4 + (W - s - 8) * t / max(T - 1, 1))
        frames[t, H // 3:H // 3 + s, x:x + s] = (230, 30, 30)
        y = int(H - s - 4 - (H - s - 8) * t / max(T - 1, 1))
        frames[t, y:y + s, W // 2:W // 2 + s] = (30, 200, 30)
    return frames


def build_r3d18(num_classes=101):
    import torch
    from mmengine.registry import init_default_scope

    from mmaction.registry import MODELS
    init_default_scope('mmaction')
    cfg = dict(
        type='Recognizer3D',
        backbone=dict(
            type='ResNet3d', depth=18, pretrained=None, pretrained2d=False,
            conv1_kernel=(3, 7, 7), conv1_stride_t=1, pool1_stride_t=1,
            inflate=(1, 1, 1, 1), inflate_style='3x3x3',
            spatial_strides=(1, 2, 2, 2), temporal_strides=(1, 2, 2, 2),
            norm_cfg=dict(type='BN3d')),
        cls_head=dict(type='I3DHead', num_classes=num_classes,
                      in_channels=512, spatial_type='avg',
                      dropout_ratio=0.0),
        data_preprocessor=dict(
            type='ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375], format_shape='NCTHW'))
    torch.manual_seed(0)
    return MODELS.build(cfg).eval()


def bench_stages(args):
    import torch

    import mmaction_aosa  # noqa: F401
    from mmaction_aosa import EXPLAINERS
    model = build_r3d18()
    frames = synthetic_frames(16, 112, 112)
    pre = model.data_preprocessor
    x = (torch.from_numpy(frames).permute(3, 0, 1, 2) - pre.mean) / pre.std
    aosa = EXPLAINERS.build(dict(type='AOSA', anchor_stride=8, box_size=16,
                                 batch_size=args.batch_size))
    aosa.explain_full(model, x[:, :4])  # warm-up (allocator, threads)
    runs = []
    for _ in range(args.repeat):
        runs.append(aosa.explain_full(model, x))
    best = min(runs, key=lambda r: r.seconds)
    tm = best.timings
    other = tm['flow'] + tm['tubes'] + tm['map']
    print(f'AOSA s=8 (N={tm["num_masks"]}), 16x112x112, R3D-18 size, '
          f'CPU threads={torch.get_num_threads()}, batch {args.batch_size}, '
          f'best of {args.repeat}')
    print(f'  flow (Farneback)       {tm["flow"]:8.3f} s')
    print(f'  tracking + masks       {tm["tubes"]:8.3f} s')
    print(f'  scoring (N forwards)   {tm["scoring"]:8.3f} s')
    print(f'  map step               {tm["map"]:8.3f} s')
    print(f'  total per map          {best.seconds:8.3f} s')
    print(f'  ratio (all but scoring) / scoring = {other / tm["scoring"]:.4f}'
          '  (goal <= 0.05)')
    return dict(part='stages', other_over_scoring=other / tm['scoring'],
                **{k: v for k, v in tm.items()}, total=best.seconds)


def _rss_kb(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def memory_child(batch_size):
    import torch

    import mmaction_aosa  # noqa: F401
    from mmaction_aosa.explainers.aosa import AOSA
    frames = synthetic_frames(32, 256, 256)
    torch.zeros(1)  # touch the allocator before the baseline
    base = _rss_kb('VmRSS')
    aosa = AOSA(anchor_stride=10, box_size=20, batch_size=batch_size)
    t0 = time.perf_counter()
    tubes = aosa.build_tubes(frames)
    covered = 0
    for _, occ in tubes.batches(batch_size):
        covered += int(occ.sum())
    seconds = time.perf_counter() - t0
    peak = _rss_kb('VmHWM')
    print(json.dumps(dict(num_masks=tubes.num_masks, seconds=seconds,
                          peak_above_baseline_mb=(peak - base) / 1024,
                          occluded_voxels=covered)))


def bench_memory(args):
    out = subprocess.run(
        [sys.executable, __file__, '--memory-child',
         '--batch-size', str(args.batch_size)],
        capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    print(f'Masks for 32x256x256, s=10 (N={res["num_masks"]}), batch '
          f'{args.batch_size}: {res["seconds"]:.2f} s, peak memory '
          f'{res["peak_above_baseline_mb"]:.0f} MB above baseline '
          '(goal < 1024 MB)')
    return dict(part='memory', **res)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--part', choices=['all', 'stages', 'memory'],
                   default='all')
    p.add_argument('--batch-size', type=int, default=16)
    p.add_argument('--repeat', type=int, default=2)
    p.add_argument('--json', help='also write the figures to this file')
    p.add_argument('--memory-child', action='store_true',
                   help=argparse.SUPPRESS)
    args = p.parse_args()
    import warnings
    warnings.filterwarnings('ignore')
    if args.memory_child:
        memory_child(args.batch_size)
        return
    results = []
    if args.part in ('all', 'stages'):
        results.append(bench_stages(args))
    if args.part in ('all', 'memory'):
        results.append(bench_memory(args))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
