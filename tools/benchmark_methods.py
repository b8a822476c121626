"""Time per map of every saliency method on one model and one clip.

Default workload: an R3D-18-sized model (mmaction2 ResNet3d, depth 18, 64
base channels, 3×3×3 convolutions everywhere, random weights, 101 classes)
and one 3×16×112×112 clip with a moving square, as in the paper's R3D
timing (docs/methods.md). Also times one forward and one forward+backward
pass, the yardsticks of AOSA-approx (goals: ≤ 5× one forward+backward, and
≥ 30× faster than AOSA at s=8, N=196).

Examples::

    python tools/benchmark_methods.py                       # everything
    python tools/benchmark_methods.py --methods gradcam,aosa_approx,aosa
    python tools/benchmark_methods.py --size 64 --frames 8 --base-channels 16 \
        --smoothgrad-samples 4 --step-iterations 5           # a quick run

Methods that need a transformer (AttentionRollout) are reported as not
applicable to the CNN. Times are wall-clock seconds per map, the median of
``--repeats`` runs; before each run one forward+backward pass is timed
again, and the ratio to it is reported, because on a shared machine the
speed changes from minute to minute.
"""
import argparse
import statistics
import sys
import time

import torch

ALL_METHODS = ('gradcam', 'aosa_approx', 'aosa_approx_cells',
               'aosa_approx_paper', 'smoothgrad',
               'step', 'occlusion3d', 'aosa', 'rollout')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--methods', default=','.join(ALL_METHODS),
                   help='comma-separated subset of ' + ','.join(ALL_METHODS))
    p.add_argument('--size', type=int, default=112, help='H = W of the clip')
    p.add_argument('--frames', type=int, default=16, help='T of the clip')
    p.add_argument('--base-channels', type=int, default=64,
                   help='ResNet3d base channels (64: R3D-18)')
    p.add_argument('--num-classes', type=int, default=101)
    p.add_argument('--anchor-stride', type=int, default=8,
                   help='AOSA s (box 2s); s=8 at 112 px gives N=196')
    p.add_argument('--batch-size', type=int, default=16,
                   help='occluded clips per forward pass (AOSA, OSA)')
    p.add_argument('--smoothgrad-samples', type=int, default=50)
    p.add_argument('--step-iterations', type=int, default=100)
    p.add_argument('--repeats', type=int, default=1,
                   help='runs per method (median reported)')
    p.add_argument('--amp', default='off', choices=['off', 'bf16'],
                   help='bf16: bf16 autocast forced, for the methods and '
                   'the yardstick passes alike')
    p.add_argument('--threads', type=int, default=0,
                   help='torch threads (0: leave the default)')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available()
                   else 'cpu')
    return p.parse_args(argv)


def build_r3d18(base_channels=64, num_classes=101):
    from mmengine.registry import init_default_scope
    from mmaction.registry import MODELS

    import mmaction_aosa  # noqa: F401

    init_default_scope('mmaction')
    cfg = dict(
        type='Recognizer3D',
        backbone=dict(
            type='ResNet3d',
            depth=18,
            pretrained=None,
            pretrained2d=False,
            base_channels=base_channels,
            conv1_kernel=(3, 7, 7),
            conv1_stride_t=1,
            pool1_stride_t=1,
            inflate=(1, 1, 1, 1),
            inflate_style='3x3x3',
            spatial_strides=(1, 2, 2, 2),
            temporal_strides=(1, 2, 2, 2),
            norm_cfg=dict(type='BN3d', requires_grad=True),
            zero_init_residual=False),
        cls_head=dict(
            type='I3DHead',
            num_classes=num_classes,
            in_channels=base_channels * 8,
            spatial_type='avg',
            dropout_ratio=0.0,
            init_std=0.01,
            average_clips='prob'),
        data_preprocessor=dict(
            type='ActionDataPreprocessor',
            mean=[123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375],
            format_shape='NCTHW'))
    torch.manual_seed(0)
    return MODELS.build(cfg).eval()


def moving_clip(T, H, W, seed=0):
    """A normalised clip: textured background and a square moving right."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(3, T, H, W, generator=g) * 80 + 60
    side = max(4, H // 6)
    for t in range(T):
        x0 = (H // 8 + 2 * t) % max(1, W - side)
        x[:, t, H // 3:H // 3 + side, x0:x0 + side] = 230
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1, 1)
    return (x - mean) / std


def preset(name, **overrides):
    """The explainer preset ``name`` with ``overrides``."""
    from mmengine.config import Config

    from mmaction_aosa.registry import build_explainer
    from mmaction_aosa.runs import resolve_explainer
    return build_explainer(dict(resolve_explainer(name, Config()),
                                **overrides))


def make_explainers(args):
    from mmaction_aosa.explainers import (AOSA, STEP, AOSAApprox,
                                          AttentionRollout, GradCAM,
                                          Occlusion3D, SmoothGrad)
    s = args.anchor_stride
    amp = 'bf16' if args.amp == 'bf16' else False
    return dict(
        gradcam=lambda: GradCAM(amp=amp),
        # the presets as --explainer NAME gives them, on this clip's tubes
        aosa_approx=lambda: preset('aosa_approx', anchor_stride=s,
                                   box_size=2 * s, amp=amp),
        # the default before 2026-12-07: round 2 on the checkerboard too,
        # no sign check (three forward+backward clips per round)
        aosa_approx_cells=lambda: AOSAApprox(
            anchor_stride=s, box_size=2 * s, path='cells', amp=amp),
        # the paper's one-gradient form
        aosa_approx_paper=lambda: preset('aosa_approx_paper', anchor_stride=s,
                                         box_size=2 * s, amp=amp),
        smoothgrad=lambda: SmoothGrad(
            num_samples=args.smoothgrad_samples, batch_size=4),
        step=lambda: STEP(num_iterations=args.step_iterations),
        occlusion3d=lambda: Occlusion3D(batch_size=args.batch_size),
        aosa=lambda: AOSA(anchor_stride=s, box_size=2 * s,
                          batch_size=args.batch_size, amp=amp),
        rollout=lambda: AttentionRollout())


def sync(device):
    if str(device).startswith('cuda'):
        torch.cuda.synchronize()


def time_it(fn, repeats, device):
    times = []
    out = None
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        out = fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    methods = [m.strip() for m in args.methods.split(',') if m.strip()]
    unknown = set(methods) - set(ALL_METHODS)
    if unknown:
        sys.exit(f'unknown methods {sorted(unknown)}; choose from '
                 f'{ALL_METHODS}')
    from mmaction_aosa.explainers import ExplainError
    from mmaction_aosa.scoring import Scorer

    device = torch.device(args.device)
    model = build_r3d18(args.base_channels, args.num_classes).to(device)
    x = moving_clip(args.frames, args.size, args.size).to(device)
    scorer = Scorer(model, amp='bf16' if args.amp == 'bf16' else False)
    print(f'model: ResNet3d-18 (base {args.base_channels}, 3x3x3), '
          f'{sum(p.numel() for p in model.parameters()) / 1e6:.1f} M '
          f'params; clip 3x{args.frames}x{args.size}x{args.size}; '
          f'device {device}; torch threads {torch.get_num_threads()}; '
          f'amp {args.amp}')

    with torch.no_grad():  # warm-up
        scorer.logits(x[None])

    def forward():
        with torch.no_grad():
            return scorer.logits(x[None])

    def forward_backward():
        clip = x[None].clone().requires_grad_(True)
        p = torch.softmax(scorer.logits(clip), -1)[0, 0]
        return torch.autograd.grad(p, clip)[0]

    t_fwd, _ = time_it(forward, max(3, args.repeats), device)
    t_fb, _ = time_it(forward_backward, max(3, args.repeats), device)
    rows = [('forward (1 clip)', t_fwd, ''),
            ('forward+backward (1 clip)', t_fb, '')]
    results = {}
    ratios = {}
    factories = make_explainers(args)
    for name in methods:
        ex = factories[name]()
        times, rel = [], []
        try:
            for _ in range(args.repeats):
                # the yardstick right before each run: other processes on a
                # shared machine change the speed from minute to minute
                t_ref, _ = time_it(forward_backward, 2, device)
                t, exp = time_it(lambda: ex.explain_full(model, x), 1, device)
                times.append(t)
                rel.append(t / t_ref)
        except ExplainError as e:
            rows.append((name, float('nan'), f'n/a: {e}'))
            print(f'{name:>28s}: n/a ({e})', flush=True)
            continue
        t = statistics.median(times)
        results[name] = t
        ratios[name] = statistics.median(rel)
        note = ', '.join(f'{k}={v:.3g}' if isinstance(v, float) else
                         f'{k}={v}' for k, v in exp.timings.items())
        rows.append((name, t, note))
        print(f'{name:>28s}: {t:8.3f} s/map, {ratios[name]:6.2f}x the '
              f'adjacent forward+backward  ({note})', flush=True)

    print('\n| method | s / map | x fwd+bwd (adjacent) | notes |')
    print('|---|---:|---:|---|')
    for name, t, note in rows:
        if t != t:
            ratio, tt = '', 'n/a'
        else:
            ratio = f'{ratios.get(name, t / t_fb):.2f}'
            tt = f'{t:.3f}'
        print(f'| {name} | {tt} | {ratio} | {note} |')
    if 'aosa_approx' in results:
        ra = ratios['aosa_approx']
        print(f'\nAOSA-approx / (forward+backward) = {ra:.2f} (goal <= 5)')
        if 'aosa' in results:
            sp = results['aosa'] / results['aosa_approx']
            print(f'AOSA / AOSA-approx = {sp:.1f}x (goal >= 30 at s=8)')


if __name__ == '__main__':
    main()
