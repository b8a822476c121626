"""Compare explainer variants on generated clips, in one process.

The tuning bench behind AOSA's default (docs/metrics.md, "Choosing AOSA's
default"): for each tiny family, the clips of one generated split are
decoded once with the family's own test pipeline; every variant explains
every clip; each map gets deletion, insertion (28 steps) and the spatial
pointing game against the clips' boxes, exactly as
``tools/eval_saliency.py`` computes them. AOSA variants that differ only in
``map_form`` share their tubes and mask scores, so comparing map forms costs
one scoring pass.

    python tools/tune_aosa.py --seed 1001 --num-videos 24 \
        --families r3d slowfast --variants authors default \
        'mine=aosa:map_form=sum_drop,rounds=1'

A variant is ``NAME=PRESET[:key=value,...]`` (PRESET as
``tools/explain.py --explainer``), or a preset name alone. Writes one JSON
line per clip and variant to ``--out`` and prints a table (mean over clips)
per family. Never tune on the seed you report: the tables of docs/metrics.md
use seed 31337, which this bench was not run on while choosing the default.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

FAMILIES = ('r3d', 'r2plus1d', 'slowfast', 'timesformer', 'tsm')
#: Clips generated per split (the first --num-videos are used).
SPLIT_SIZE = 64


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seed', type=int, required=True,
                   help='dataset seed of the generated clips')
    p.add_argument('--num-videos', type=int, default=24)
    p.add_argument('--families', nargs='+', default=list(FAMILIES),
                   choices=FAMILIES)
    p.add_argument('--variants', nargs='+', required=True)
    p.add_argument('--data-root', default=osp.join('work_dirs', 'tune_data'))
    p.add_argument('--out', default=None,
                   help='JSON lines of per-clip results (default '
                   'work_dirs/tune/seed<SEED>.jsonl)')
    p.add_argument('--steps', type=int, default=28)
    return p.parse_args(argv)


def parse_variant(spec: str):
    from mmengine.config import Config

    from mmaction_aosa.runs import resolve_explainer
    name, eq, rest = spec.partition('=')
    if not eq or ':' in name:
        name, rest = spec, spec
    # the longest name first: one extra form's name may start another's
    extra = [f for f in sorted(EXTRA_FORMS, key=len, reverse=True)
             if f'map_form={f}' in rest][:1]
    for f in extra:  # not known to AOSA yet: set after the check
        rest = rest.replace(f'map_form={f}', 'map_form=sum_drop')
    exp = resolve_explainer(rest, Config())
    if extra:
        exp['map_form'] = extra[0]
    return name, exp


def load_clips(family: str, split: str, num_videos: int):
    """[(clip C×T×H×W, clip boxes, video id)] and the model of a family."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmaction.registry import DATASETS, MODELS
    from mmaction_aosa.compat import load_checkpoint
    from mmaction_aosa.evaluation.pointing_game import (GroundTruthBoxes,
                                                        boxes_in_clip)
    from mmaction_aosa.models.explain_model import preprocess
    from mmaction_aosa.structures import add_geometry_meta_keys
    init_default_scope('mmaction')
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'tiny', f'tiny_{family}_synthetic.py'))
    model = MODELS.build(cfg.model).eval()
    load_checkpoint(model, osp.join(REPO, 'checkpoints',
                                    f'tiny_{family}_synthetic.pth'))
    ds_cfg = cfg.test_dataloader.dataset.to_dict()
    ds_cfg.update(data_root=osp.dirname(split), ann_file=osp.join(
        osp.basename(split), 'ann.txt'), data_prefix=dict(
            video=osp.basename(split)))
    add_geometry_meta_keys(ds_cfg['pipeline'])
    ds = DATASETS.build(ds_cfg)
    gt = GroundTruthBoxes('auto')
    clips = []
    for i in range(min(num_videos, len(ds))):
        data = ds[i]
        path = ds.get_data_info(i)['filename']
        # the view tools/eval_saliency.py explains (a 2D model's segments
        # as frames), with its geometry
        clip, view, geometry = preprocess(model, data['inputs'],
                                          data['data_samples'], 'center')
        boxes = boxes_in_clip(geometry, gt(path), view)
        clips.append((clip, boxes, osp.splitext(osp.basename(path))[0]))
    torch.set_grad_enabled(True)
    return model, clips


#: AOSA arguments that only change the map step (tubes and scores shared).
MAP_STEP_ARGS = ('map_form', 'ridge', 'smoothing')

#: Map forms tried here before they earn a place in tubes/maps.py.
EXTRA_FORMS = ('density_drop', )


def extra_form(form, tubes, scores, base):
    """``density_drop``: Σ_{i covers v} (f(x) − f_i) / |occ_i|."""
    import torch

    from mmaction_aosa.tubes.maps import union_box_scatter, union_box_sums
    size = union_box_sums(torch.ones(tubes.num_frames, tubes.height,
                                     tubes.width), tubes).clamp(min=1)
    w = (base - scores.double()) / size
    return union_box_scatter(w, tubes).float()


def evaluate(model, clip, sal, target, steps):
    from mmaction_aosa.evaluation.deletion_insertion import deletion_insertion
    from mmaction_aosa.scoring import Scorer
    res = deletion_insertion(Scorer(model), clip, sal, target, steps, 16)
    return res


def run_family(family, clips, model, variants, steps, out):
    import torch

    from mmaction_aosa.evaluation.pointing_game import pointing_game
    from mmaction_aosa.explainers import AOSA, denormalize
    from mmaction_aosa.registry import build_explainer
    from mmaction_aosa.scoring import Scorer
    # AOSA variants that differ only in the map step share tubes and scores
    shared = {}
    for name, exp in variants:
        key = json.dumps({k: v for k, v in exp.items()
                          if k not in MAP_STEP_ARGS},
                         sort_keys=True, default=str)
        shared.setdefault(key, []).append((name, exp))
    rows = {name: [] for name, _ in variants}
    for key, group in shared.items():
        first = dict(group[0][1])
        if first.get('map_form') in EXTRA_FORMS:
            first['map_form'] = 'sum_drop'
        explainer = build_explainer(first)
        # one round of AOSA: the map forms of a group share tubes and scores
        plain_aosa = type(explainer) is AOSA and explainer.rounds == 1
        for clip, boxes, vid in clips:
            t0 = time.perf_counter()
            if plain_aosa:
                scorer = Scorer(model)
                with torch.no_grad():
                    probs = scorer.probs(clip[None])[0]
                target = int(probs.argmax())
                tubes = explainer.build_tubes(denormalize(model, clip))
                scores = explainer.score_masks(scorer, clip, tubes, target)
                base = explainer.clean_score(scorer, clip, target,
                                             float(probs[target]))
                secs = time.perf_counter() - t0
                maps = {}
                for name, exp in group:
                    form = exp.get('map_form', explainer.map_form)
                    if form in EXTRA_FORMS:
                        maps[name] = extra_form(form, tubes, scores, base)
                    else:
                        maps[name] = build_explainer(exp).make_map(
                            tubes, scores, base)
            else:
                e = explainer.explain_full(model, clip)
                target, secs = e.target, time.perf_counter() - t0
                maps = {group[0][0]: e.saliency}
                for name, _ in group[1:]:
                    maps[name] = e.saliency
            for name, sal in maps.items():
                res = evaluate(model, clip, sal, target, steps)
                d, i = res['deletion'], res['insertion']
                hits = pointing_game(sal, boxes)
                rec = dict(family=family, variant=name, video=vid,
                           deletion=d, insertion=i, overall=i - d,
                           deletion_curve=[round(v, 4) for v in
                                           res['deletion_curve']],
                           hits=int(sum(hits.values())), frames=len(hits),
                           seconds=secs)
                rows[name].append(rec)
                with open(out, 'a') as f:
                    f.write(json.dumps(rec) + '\n')
    return rows


def table(family, rows):
    import numpy as np
    lines = [f'### {family}', '',
             '| variant | deletion | insertion | over-all | S-PT | s/map |',
             '|---|---:|---:|---:|---:|---:|']
    for name, rs in rows.items():
        if not rs:
            continue
        d = np.mean([r['deletion'] for r in rs])
        i = np.mean([r['insertion'] for r in rs])
        spt = sum(r['hits'] for r in rs) / max(sum(r['frames'] for r in rs),
                                              1)
        s = np.mean([r['seconds'] for r in rs])
        lines.append(f'| {name} | {d:.3f} | {i:.3f} | {i - d:.3f} | '
                     f'{spt:.3f} | {s:.2f} |')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    import warnings
    warnings.filterwarnings('ignore')
    args = parse_args(argv)
    import mmaction_aosa  # noqa: F401
    from mmaction_aosa.datasets import generate_dataset
    split = osp.join(args.data_root, f'seed{args.seed}', 'test')
    if not osp.isfile(osp.join(split, 'ann.txt')):
        # at least 64 clips: the labels are a permutation over the whole
        # split, so a split of another size holds other clips
        generate_dataset(split, max(args.num_videos, SPLIT_SIZE), args.seed)
    out = args.out or osp.join('work_dirs', 'tune', f'seed{args.seed}.jsonl')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    variants = [parse_variant(v) for v in args.variants]
    for fam in args.families:
        model, clips = load_clips(fam, split, args.num_videos)
        rows = run_family(fam, clips, model, variants, args.steps, out)
        print(table(fam, rows), flush=True)


if __name__ == '__main__':
    main()
