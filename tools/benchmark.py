"""Benchmarks of AOSA (CPU): stages, mask memory, throughput, methods.

    python tools/benchmark.py                     # stages + memory
    python tools/benchmark.py --part stages       # time per stage, R3D-18
    python tools/benchmark.py --part memory       # SlowFast-size masks
    python tools/benchmark.py --part throughput   # 1 vs 2 processes
    python tools/benchmark.py --part methods [-- ARGS]  # every method
                                          # (tools/benchmark_methods.py)
    python tools/benchmark.py --part families [--families tiny|full|all]
        [--batch-sizes 1,8,32] [--strides 8,16] [--approx]
        [--configs NAME,...] [--threads 2] [--amp fp32|bf16]
                                     # time and memory of AOSA (and
                                     # AOSA-approx) per model family
    python tools/benchmark.py --part bf16 [--num-videos 2]
        [--bf16-explainer aosa_approx]  # bf16 vs fp32 maps, tiny families
    python tools/benchmark.py --part memory-format [--repeat 3]
        # channels_last_3d against the default layout, R3D-18 size

stages: AOSA at s=8 (N=196), 16x112x112 clip, on an R3D-18-sized model
(mmaction2 ResNet3d depth 18, 64 base channels, 3x3x3 convolutions, random
weights): seconds for flow, tracking+masks, scoring and the map step, and
the ratio (everything but scoring) / scoring (goal <= 0.05).

memory: flow, tracking, boxes, co-occurrence, integration and dense masks
of every batch for a 32x256x256 clip at s=10 (N=676), no model; peak
resident memory above the baseline after imports (goal < 1 GB), measured in
a fresh process from /proc/self/status.

throughput: tools/explain.py with AOSA (s=8) on the tiny R3D checkpoint
over generated clips, once with 1 process and once with 2 (torchrun, gloo),
one torch thread each: maps per minute (wall clock of the whole command,
and steady state between the first and the last map) and the peak memory of
the largest process (goal: 2 processes >= 1.7x the throughput of 1).

memory-format: the R3D-18-sized model above, one thread: a no-grad forward
pass of a batch of 8 clips of 3x16x112x112 and a forward+backward of 3
clips (AOSA-approx's batch), with the 5-D weights and the input in
torch.channels_last_3d and in the default (contiguous) layout, the two
interleaved ``--repeat`` times; the best time of each and their ratio.

families: AOSA with each config's own settings (anchor stride, box size,
clip size) on the config's model with random weights (no checkpoint, no
download), one fresh process per (config, batch size): peak resident
memory above the process's size after the model is built, and the time
per map. Tiny configs explain whole maps; the full-size configs score
``--full-batches`` batches after a warm-up one and the time per map is
extrapolated as tubes + rounds x ceil(N / batch) x seconds per batch (plus
round 2's evidence batch; the line says so). ``--approx`` also times, per
config, one bare forward pass, one forward+backward and an AOSA-approx map
(``aosa_approx`` on the config's tubes) and prints AOSA's time over its
bare forward passes; ``--configs a,b`` picks configs by name (e.g.
``--configs aosa_slowfast_k400,aosa_timesformer_k400 --families full
--batch-sizes 1 --approx``); ``--amp bf16`` scores everything under
bf16 autocast and adds the Spearman of the bf16 AOSA-approx map with the
float32 one. ``--strides`` repeats the first batch size with other anchor
strides (box 2s), to show that time follows N and memory does not.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


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


def bench_stages(args):
    import torch

    from benchmark_methods import build_r3d18

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


def _timed_run(cmd, env):
    """Run ``cmd``; wall seconds and the largest descendant's peak RSS."""
    probe = ('import resource, subprocess, sys, time; t = time.time(); '
             'r = subprocess.run(sys.argv[1:]); '
             'print(time.time() - t, resource.getrusage('
             'resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)')
    out = subprocess.run([sys.executable, '-c', probe, *cmd], env=env,
                         capture_output=True, text=True)
    seconds, maxrss, rc = out.stdout.strip().splitlines()[-1].split()
    if int(rc) != 0:
        raise RuntimeError(f'{cmd} failed:\n{out.stderr[-3000:]}')
    return float(seconds), int(maxrss) / 1024


def bench_throughput(args):
    from mmaction_aosa.datasets import generate_dataset
    from mmaction_aosa.runs import read_summary
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    root = os.path.join(repo, 'work_dirs', 'bench_throughput')
    data = os.path.join(root, 'data')
    if not os.path.isfile(os.path.join(data, 'test', 'ann.txt')):
        generate_dataset(os.path.join(data, 'test'), args.num_videos, 4)
    cfg = os.path.join(repo, 'configs', 'aosa_tiny_r3d_synthetic.py')
    ckpt = os.path.join(repo, 'checkpoints', 'tiny_r3d_synthetic.pth')
    explain = os.path.join(repo, 'tools', 'explain.py')
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    rows = []
    for nproc in (1, 2):
        work = os.path.join(root, f'nproc{nproc}')
        subprocess.run(['rm', '-rf', work], check=True)
        tail = [cfg, ckpt, '--work-dir', work, '--no-vis', '--cfg-options',
                f'test_dataloader.dataset.data_root={data}']
        if nproc == 1:
            cmd = [sys.executable, explain, *tail]
        else:
            cmd = [sys.executable, '-m', 'torch.distributed.run',
                   f'--nproc_per_node={nproc}', '--master_port=29577',
                   explain, *tail, '--launcher', 'pytorch']
        seconds, peak_mb = _timed_run(cmd, env)
        n = len(read_summary(os.path.join(work, 'summary.jsonl')))
        # steady state: from the first to the last finished map
        stamps = [r['finished'] for r in read_summary(
            os.path.join(work, 'summary.jsonl')).values()]
        steady = None
        if len(stamps) > 1:
            span = max(stamps) - min(stamps)
            steady = 60 * (len(stamps) - 1) / span if span > 0 else None
        rows.append(dict(nproc=nproc, maps=n, seconds=seconds,
                         maps_per_min=60 * n / seconds,
                         steady_maps_per_min=steady, peak_mb=peak_mb))
    print(f'explain throughput, tiny R3D, AOSA s=8 (N=196), '
          f'{args.num_videos} clips, 1 thread per process')
    for r in rows:
        steady = (f'{r["steady_maps_per_min"]:.1f}'
                  if r['steady_maps_per_min'] else 'n/a')
        print(f'  {r["nproc"]} process(es): {r["maps"]} maps in '
              f'{r["seconds"]:.1f} s = {r["maps_per_min"]:.1f} maps/min '
              f'(steady state {steady}), peak {r["peak_mb"]:.0f} MB per '
              'process')
    ratio = rows[1]['maps_per_min'] / rows[0]['maps_per_min']
    print(f'  speed-up 2 vs 1 process: {ratio:.2f}x wall clock'
          + (f', {rows[1]["steady_maps_per_min"] / rows[0]["steady_maps_per_min"]:.2f}x steady state'  # noqa: E501
             if rows[0]['steady_maps_per_min'] and rows[1][
                 'steady_maps_per_min'] else '') + '  (goal >= 1.7x)')
    return dict(part='throughput', rows=rows, speedup=ratio)


TINY_FAMILIES = ('aosa_tiny_r3d_synthetic', 'aosa_tiny_r2plus1d_synthetic',
                 'aosa_tiny_slowfast_synthetic',
                 'aosa_tiny_timesformer_synthetic')
FULL_FAMILIES = ('aosa_r3d_ucf101', 'aosa_r2plus1d_ucf101',
                 'aosa_slowfast_k400', 'aosa_timesformer_k400')


def approx_figures(model, x, exp, num_masks, rounds, amp=False):
    """Seconds of one bare forward pass, one forward+backward and one
    AOSA-approx map (the ``aosa_approx`` preset on the config's tube
    settings) for the clip x. The forward and the forward+backward are
    each the faster of two runs after a warm-up run of their own (the
    first backward pass of a process also sets up its buffers: timed
    cold it took 8.6 s against 5.8 s warm on the full-size TimeSformer,
    two threads).
    With ``amp='bf16'`` all three run under bf16 autocast, and the
    Spearman of the bf16 map with a float32 map of the same clip (made
    after the timed ones, not timed) comes with them; ``peak_kb`` is the
    process's peak resident memory before that float32 map."""
    import torch

    from mmaction_aosa.explainers.aosa_approx import AOSAApprox
    from mmaction_aosa.scoring import Scorer
    scorer = Scorer(model, amp=amp)

    def forward():
        with torch.no_grad():
            scorer.logits(x[None])

    def forward_backward():
        clip = x[None].clone().requires_grad_(True)
        logits = scorer.logits(clip)
        torch.autograd.grad(logits[0, 0], clip)

    def best_of_two(fn):
        fn()  # warm-up
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    t_fwd = best_of_two(forward)
    t_fb = best_of_two(forward_backward)
    keep = ('anchor_stride', 'box_size', 'num_cooccurring', 'tubes',
            'map_form', 'drop', 'ridge', 'rounds', 'evidence_fraction',
            'fill_value')
    from benchmark_methods import preset
    kw = {k: v for k, v in exp.items() if k in keep}
    approx = preset('aosa_approx', amp=amp, **kw)
    assert isinstance(approx, AOSAApprox)
    t0 = time.perf_counter()
    res = approx.explain_full(model, x)
    t_approx = time.perf_counter() - t0
    extra = dict(peak_kb=_rss_kb('VmHWM'))
    if amp:
        from mmaction_aosa.evaluation import spearman
        ref = preset('aosa_approx', **kw).explain_full(model, x)
        extra['approx_spearman_fp32'] = spearman(
            ref.saliency.numpy(), res.saliency.numpy())
    return dict(forward_s=t_fwd, forward_backward_s=t_fb,
                approx_s=t_approx, approx_over_fb=t_approx / t_fb,
                approx_num_masks=int(res.timings['num_masks']),
                approx_parts={k: res.timings[k] for k in
                              ('forward', 'flow', 'tubes', 'scoring', 'map')
                              if k in res.timings}, **extra)


def family_child(config, batch_size, stride, full_batches, approx=False,
                 amp=False):
    """One (config, batch size, stride) in this fresh process; prints JSON.

    The full-size rows extrapolate AOSA from ``full_batches`` timed batches
    to all of its rounds (N masks, and with ``rounds=2`` the evidence and
    the N masks again); with ``approx``, also the figures of
    :func:`approx_figures` and AOSA's time over its ``rounds·N + rounds − 1``
    bare forward passes of one clip. ``amp``: AOSA (its masks scored
    under bf16 autocast) and the approx figures in bf16.
    """
    import math

    import numpy as np
    import torch
    from mmengine.registry import init_default_scope
    from mmaction.registry import MODELS

    from mmaction_aosa.explainers.aosa import AOSA
    from mmaction_aosa.runs.config import (load_config, pipeline_clip_size,
                                           test_pipeline_of)
    from mmaction_aosa.scoring import Scorer
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cfg = load_config(os.path.join(repo, 'configs', f'{config}.py'))
    init_default_scope('mmaction')
    pipeline = test_pipeline_of(cfg)
    H, W, _ = pipeline_clip_size(pipeline)
    T = next(int(st['clip_len']) for st in pipeline if 'clip_len' in st)
    exp = {k: v for k, v in dict(cfg.explainer).items() if k != 'type'}
    if stride:
        exp.update(anchor_stride=stride, box_size=2 * stride)
    exp['batch_size'] = batch_size
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    pre = model.data_preprocessor
    frames = synthetic_frames(T, H, W)
    x = (torch.from_numpy(frames).permute(3, 0, 1, 2) - pre.mean.view(
        -1, 1, 1, 1)) / pre.std.view(-1, 1, 1, 1)
    aosa = AOSA(**exp, amp=amp)
    base = _rss_kb('VmRSS')
    t0 = time.perf_counter()
    if full_batches == 0:  # the whole map
        res = aosa.explain_full(model, x)
        seconds, n = time.perf_counter() - t0, res.timings['num_masks']
        per_batch, how = None, 'measured'
    else:
        tubes = aosa.build_tubes(frames)
        t_tubes = time.perf_counter() - t0
        scorer = Scorer(model, amp=amp)
        stamps = []
        with torch.no_grad():
            for i, (idx, occ) in enumerate(tubes.batches(batch_size)):
                scorer.probs(aosa.occlude(x, occ, tubes, idx))
                stamps.append(time.perf_counter())
                if i == full_batches:  # a warm-up batch, then the timed ones
                    break
        n = tubes.num_masks
        per_batch = (stamps[-1] - stamps[0]) / max(len(stamps) - 1, 1)
        seconds = t_tubes + math.ceil(n / batch_size) * per_batch
        how = f'extrapolated from {len(stamps) - 1} batches'
    rounds = int(exp.get('rounds', 2))
    if full_batches:  # round 2 scores the evidence and the N masks again
        seconds += (rounds - 1) * (
            math.ceil(n / batch_size) + 1) * per_batch
    extra = {}
    if approx:
        extra = approx_figures(model, x, exp, n, rounds, amp)
        extra['aosa_over_bare_forwards'] = (
            seconds / (extra['forward_s'] * (rounds * n + rounds - 1)))
    # with approx, the peak before its float32 comparison map
    peak = extra.pop('peak_kb') if approx else _rss_kb('VmHWM')
    print(json.dumps(dict(
        rounds=rounds, amp=amp or 'fp32', **extra,
        config=config, clip=f'{T}x{H}x{W}', batch_size=batch_size,
        anchor_stride=exp['anchor_stride'], box_size=exp['box_size'],
        num_masks=int(n), seconds_per_map=seconds,
        seconds_per_batch=per_batch, how=how,
        model_mb=base / 1024, peak_above_model_mb=(peak - base) / 1024,
        threads=torch.get_num_threads(), numpy=np.__version__)))


def bench_families(args):
    names = {'tiny': TINY_FAMILIES, 'full': FULL_FAMILIES,
             'all': TINY_FAMILIES + FULL_FAMILIES}[args.families]
    if args.configs:
        names = tuple(c.strip() for c in args.configs.split(',') if c)
    sizes = [int(b) for b in args.batch_sizes.split(',')]
    strides = [int(s) for s in args.strides.split(',')] if args.strides \
        else []
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               MKL_NUM_THREADS=str(args.threads))
    rows = []
    print(f'AOSA per family: {args.threads} torch thread(s), {args.amp}, '
          'random weights; peak = resident memory above the process after '
          'building the model')
    jobs = [(c, b, 0) for c in names for b in sizes] + [
        (c, sizes[0], s) for c in names for s in strides]
    for config, batch, stride in jobs:
        full = 0 if 'tiny' in config else args.full_batches
        out = subprocess.run(
            [sys.executable, __file__, '--family-child', config,
             '--batch-size', str(batch), '--stride', str(stride),
             '--full-batches', str(full)] +
            (['--approx'] if args.approx else []) +
            (['--amp', args.amp] if args.amp != 'fp32' else []),
            capture_output=True, text=True, env=env)
        if out.returncode != 0:
            print(f'  {config} batch {batch}: FAILED '
                  f'{out.stderr.strip().splitlines()[-1:]}')
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(r)
        print(f'  {r["config"]:32s} {r["clip"]:>10s} '
              f's={r["anchor_stride"]:<3d} N={r["num_masks"]:<4d} batch {r["batch_size"]:<3d} '
              f'{r["seconds_per_map"]:8.1f} s/map ({r["how"]})  peak '
              f'+{r["peak_above_model_mb"]:6.0f} MB  (model process '
              f'{r["model_mb"]:.0f} MB)', flush=True)
        if 'approx_s' in r:
            print(f'    {r["rounds"]} round(s); forward {r["forward_s"]:.2f} s,'
                  f' forward+backward {r["forward_backward_s"]:.2f} s; '
                  f'AOSA-approx {r["approx_s"]:.1f} s/map = '
                  f'{r["approx_over_fb"]:.2f}x forward+backward; AOSA = '
                  f'{r["aosa_over_bare_forwards"]:.2f}x its bare forward '
                  'passes' + (f'; Spearman of the bf16 AOSA-approx map with '
                              f'the fp32 one {r["approx_spearman_fp32"]:.3f}'
                              if 'approx_spearman_fp32' in r else ''),
                  flush=True)
            print('    AOSA-approx parts: ' + ', '.join(
                f'{k} {v:.2f} s' for k, v in r['approx_parts'].items()) +
                ' (scoring: the backward of the clean pass and the '
                'forward+backward clips of both rounds)', flush=True)
    return dict(part='families', rows=rows)


def bench_bf16(args):
    """bf16 against float32, per tiny family: the same explainer with
    ``amp='bf16'`` (forced) and without, on the family's checkpoint and the
    first ``--num-videos`` clips of ``--data``: Spearman of the two maps
    and the seconds of each (whole maps, one after the other per clip)."""
    import statistics

    import torch

    import tune_aosa
    from mmaction_aosa.evaluation import spearman
    from mmaction_aosa.registry import build_explainer
    from mmaction_aosa.scoring import cpu_bf16_native
    print(f'bf16 vs float32: {args.bf16_explainer}, {args.num_videos} '
          f'clip(s) of {args.data}; torch threads {torch.get_num_threads()}; '
          f'native bf16 on this CPU: {cpu_bf16_native()} '
          f'({torch.backends.cpu.get_cpu_capability()})', flush=True)
    _, exp = tune_aosa.parse_variant(args.bf16_explainer)
    rows = []
    for fam in args.bf16_families.split(','):
        model, clips = tune_aosa.load_clips(fam, args.data, args.num_videos)
        rho, t32, t16 = [], [], []
        for clip, _, vid in clips:
            maps = {}
            for amp, times in ((False, t32), ('bf16', t16)):
                ex = build_explainer(dict(exp, amp=amp))
                t0 = time.perf_counter()
                maps[amp] = ex.explain(model, clip)
                times.append(time.perf_counter() - t0)
            rho.append(spearman(maps[False].numpy(), maps['bf16'].numpy()))
        row = dict(family=fam, clips=len(clips), spearman_min=min(rho),
                   spearman_mean=statistics.mean(rho),
                   fp32_s=statistics.median(t32),
                   bf16_s=statistics.median(t16))
        rows.append(row)
        print(f'  {fam:12s} Spearman(bf16, fp32) mean {row["spearman_mean"]:.4f}'
              f' min {row["spearman_min"]:.4f}; s/map fp32 {row["fp32_s"]:.2f}'
              f', bf16 {row["bf16_s"]:.2f} ({row["bf16_s"] / row["fp32_s"]:.2f}x)',
              flush=True)
    return dict(part='bf16', rows=rows)


def bench_memory_format(args):
    """channels_last_3d against the default layout (module docstring)."""
    import torch

    from benchmark_methods import build_r3d18
    torch.manual_seed(0)
    model = build_r3d18().eval()
    x = torch.randn(8, 3, 16, 112, 112)
    layouts = dict(contiguous=torch.contiguous_format,
                   channels_last_3d=torch.channels_last_3d)

    def net(clips):  # backbone and head, the layout kept
        return model.cls_head(model.backbone(clips))

    def run(fmt):
        for p in model.parameters():  # only 5-D tensors have this layout
            if p.dim() == 5:
                p.data = p.data.contiguous(memory_format=fmt)
        xi = x.contiguous(memory_format=fmt)
        with torch.no_grad():
            net(xi[:1])  # warm-up
            t0 = time.perf_counter()
            net(xi)
            t_fwd = time.perf_counter() - t0
        clip = xi[:3].clone().requires_grad_(True)
        t0 = time.perf_counter()
        logits = net(clip)
        torch.autograd.grad(logits[:, 0].sum(), clip)
        return t_fwd, time.perf_counter() - t0

    best = {name: [float('inf'), float('inf')] for name in layouts}
    for _ in range(args.repeat):
        for name, fmt in layouts.items():
            for i, t in enumerate(run(fmt)):
                best[name][i] = min(best[name][i], t)
    print(f'memory format, R3D-18 size, torch threads '
          f'{torch.get_num_threads()}, best of {args.repeat}')
    for name, (f, fb) in best.items():
        print(f'  {name:17s} forward x8 {f:6.2f} s   forward+backward x3 '
              f'{fb:6.2f} s')
    c, cl = best['contiguous'], best['channels_last_3d']
    print(f'  channels_last_3d / contiguous: forward {cl[0] / c[0]:.2f}, '
          f'forward+backward {cl[1] / c[1]:.2f}')
    return dict(part='memory-format', best=best)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--part', choices=['all', 'stages', 'memory',
                                      'throughput', 'methods', 'families',
                                      'bf16', 'memory-format'],
                   default='all')
    p.add_argument('--num-videos', type=int, default=16,
                   help='clips of the throughput part')
    p.add_argument('--batch-size', type=int, default=16)
    p.add_argument('--repeat', type=int, default=2)
    p.add_argument('--json', help='also write the figures to this file')
    p.add_argument('--memory-child', action='store_true',
                   help=argparse.SUPPRESS)
    p.add_argument('--families', choices=['tiny', 'full', 'all'],
                   default='tiny', help='configs of the families part')
    p.add_argument('--batch-sizes', default='1,8,32',
                   help='AOSA batch sizes of the families part')
    p.add_argument('--strides', default='',
                   help='also these anchor strides (box 2s) at the first '
                   'batch size, families part')
    p.add_argument('--full-batches', type=int, default=2,
                   help='timed batches per full-size config (families)')
    p.add_argument('--threads', type=int, default=1,
                   help='torch threads of the families part')
    p.add_argument('--approx', action='store_true',
                   help='families part: also time one bare forward, one '
                   'forward+backward and an AOSA-approx map per config')
    p.add_argument('--amp', choices=['fp32', 'bf16'], default='fp32',
                   help='families part: score in float32 or under bf16 '
                   'autocast (native on CPUs with AVX512-BF16 or AMX)')
    p.add_argument('--configs', default='',
                   help='families part: these configs (comma-separated '
                   'names under configs/) instead of --families')
    p.add_argument('--bf16-explainer', default='aosa_approx',
                   help='bf16 part: preset (as --explainer NAME[:k=v])')
    p.add_argument('--bf16-families',
                   default='r3d,r2plus1d,slowfast,timesformer,tsm',
                   help='bf16 part: tiny families')
    p.add_argument('--data', default='work_dirs/eval_data/synthetic/test',
                   help='bf16 part: generated split (tools/make_synthetic.py)')
    p.add_argument('--family-child', help=argparse.SUPPRESS)
    p.add_argument('--stride', type=int, default=0, help=argparse.SUPPRESS)
    args, rest = p.parse_known_args()
    import warnings
    warnings.filterwarnings('ignore')
    if args.memory_child:
        memory_child(args.batch_size)
        return
    if args.family_child:
        family_child(args.family_child, args.batch_size, args.stride,
                     args.full_batches, args.approx,
                     'bf16' if args.amp == 'bf16' else False)
        return
    results = []
    if args.part in ('all', 'stages'):
        results.append(bench_stages(args))
    if args.part in ('all', 'memory'):
        results.append(bench_memory(args))
    if args.part == 'throughput':
        results.append(bench_throughput(args))
    if args.part == 'families':
        results.append(bench_families(args))
    if args.part == 'bf16':
        results.append(bench_bf16(args))
    if args.part == 'memory-format':
        results.append(bench_memory_format(args))
    if args.part == 'methods':
        import benchmark_methods
        benchmark_methods.main([a for a in rest if a != '--'])
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
