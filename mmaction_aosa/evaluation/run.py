"""Evaluate saliency methods on a config's test set (tools/eval_saliency.py).

For each method, one ``runner.test()`` of mmengine's Runner: the test
dataloader with the config's own pipeline (plus the clip's geometry in the
metainfo), :class:`SaliencyEvaluator` (explain or load the map, then the
deletion/insertion curves), and the test evaluator ``SaliencySummary``
(counts), ``TimePerMap``, ``DeletionInsertion``, ``SpatialPointingGame``
and ``CascadeRandomization``. Results are gathered over ranks by mmengine,
and rank 0 writes ``metrics.json``, ``curves.json``, ``metrics.md`` and
``curves.png`` in the work dir (merged with the methods already there).
"""
import ast
import json
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from ..apis import (ExplainConfigError, build_explain_config,
                    check_explainer, ensure_same_run, load_class_names,
                    load_run_config, resolve_explainer)
from ..compat import init_dist_cpu_safe, load_checkpoint
from ..engine.io import file_digest, write_run_file


def _value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_method(spec: str, cfg: Config) -> Tuple[str, dict]:
    """A method's label and explainer config from a ``--explainers`` entry.

    ``NAME`` resolves like ``tools/explain.py --explainer NAME`` (a stem of
    ``configs/_base_/explainers/*.py`` or a registered type);
    ``NAME:key=value,key=value`` overrides arguments (e.g.
    ``aosa:map_form=paper``); a path to a ``.py`` file uses its
    ``explainer`` dict.
    """
    name, _, opts = spec.partition(':')
    if name.endswith('.py'):
        if not osp.isfile(name):
            raise ExplainConfigError(f'explainer config not found: {name}')
        exp = Config.fromfile(name).explainer.to_dict()
        label = osp.splitext(osp.basename(name))[0]
    else:
        exp = resolve_explainer(name, cfg)
        label = name
    for item in filter(None, opts.split(',')):
        key, eq, val = item.partition('=')
        if not eq:
            raise ExplainConfigError(
                f'bad override {item!r} in {spec!r}: use key=value')
        exp[key.strip()] = _value(val.strip())
    if opts:
        label = f'{label}[{opts}]'
    check_explainer(exp)
    return label, exp


#: file in each method's folder with its row label (``aosa[map_form=paper]``)
LABEL_FILE = 'label.txt'


def safe_name(label: str) -> str:
    """A folder name for a method label."""
    return re.sub(r'[^A-Za-z0-9_.=-]+', '_', label).strip('_')


def find_maps_dir(maps: str, label: str, name: str,
                  single: bool) -> Optional[str]:
    """The folder of a method's ``*.npz`` maps under ``--maps DIR``.

    Looks in ``DIR/<label>/maps``, ``DIR/<label>``, ``DIR/<name>/maps``,
    ``DIR/<name>``; with a single method also ``DIR/maps`` and ``DIR``
    (the work dir of one ``tools/explain.py`` run, or its maps folder).
    """
    cands = [osp.join(maps, d, 'maps') for d in (safe_name(label), name)]
    cands += [osp.join(maps, d) for d in (safe_name(label), name)]
    if single:
        cands += [osp.join(maps, 'maps'), maps]
    for c in cands:
        if osp.isdir(c) and any(f.endswith('.npz') for f in os.listdir(c)):
            return c
    return None


def build_eval_config(cfg: Config,
                      method_dir: str,
                      explainer: dict,
                      maps_dir: Optional[str] = None,
                      require_maps: bool = False,
                      launcher: str = 'none',
                      num_videos: Optional[int] = None,
                      boxes: Optional[str] = 'auto',
                      ucf24_pkl: Optional[str] = None,
                      steps: int = 28,
                      batch_size: int = 16,
                      sanity_videos: int = 0,
                      write_maps: bool = True,
                      class_names: Optional[Sequence[str]] = None) -> Config:
    """Turn an mmaction2 test config into one method's evaluation config."""
    ecfg = build_explain_config(cfg, method_dir, explainer, None, launcher,
                                vis=False, class_names=class_names)
    model = ecfg.model
    ecfg.model = dict(
        type='SaliencyEvaluator', recognizer=model['recognizer'],
        explainer=explainer, maps_dir=maps_dir, require_maps=require_maps,
        steps=steps, batch_size=batch_size, sanity_videos=sanity_videos,
        view=model.get('view', 'center'), target=model.get('target'))
    dl = ecfg.test_dataloader
    inner = dl.dataset.dataset  # its pipeline keeps the clip geometry
    if num_videos:
        inner.indices = int(num_videos)
    dl.num_workers = 0
    dl.persistent_workers = False
    ecfg.test_evaluator = [
        dict(type='SaliencySummary'),
        dict(type='TimePerMap'),
        dict(type='DeletionInsertion',
             out_file=osp.join(method_dir, 'deletion_insertion.jsonl')),
        dict(type='SpatialPointingGame', boxes=boxes, ucf24_pkl=ucf24_pkl,
             class_names=class_names,
             out_file=osp.join(method_dir, 'pointing_game.jsonl')),
        dict(type='CascadeRandomization'),
    ]
    if not write_maps:
        ecfg.custom_hooks = [h for h in ecfg.custom_hooks
                             if h.get('type') != 'SaliencyWriterHook']
    ecfg.experiment_name = f'eval_{safe_name(osp.basename(method_dir))}'
    return ecfg


def _read_json(path: str) -> dict:
    if osp.isfile(path):
        with open(path) as f:
            try:
                return json.load(f)
            except ValueError:
                return {}
    return {}


def _write_json(path: str, data: dict) -> None:
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=1)
    os.replace(tmp, path)


def write_reports(work_dir: str, new: Dict[str, dict],
                  title: Optional[str] = None) -> Dict[str, dict]:
    """Merge ``new`` results into the work dir's reports and rewrite them.

    Writes ``metrics.json`` (``{method: {deletion, insertion, overall, spt,
    seconds_per_map, num_videos, ...}}``), ``curves.json``, ``metrics.md``,
    ``curves.png`` and, when any method has a sanity check, ``sanity.json``
    and ``sanity.png``.

    Returns:
        dict: The merged ``metrics.json`` content.
    """
    from .report import markdown_table, plot_curves
    from .sanity import plot_cascade
    os.makedirs(work_dir, exist_ok=True)
    metrics = _read_json(osp.join(work_dir, 'metrics.json'))
    curves = _read_json(osp.join(work_dir, 'curves.json'))
    sanity = _read_json(osp.join(work_dir, 'sanity.json'))
    for label, r in new.items():
        r = dict(r)
        curves[label] = dict(deletion_curve=r.pop('deletion_curve', None),
                             insertion_curve=r.pop('insertion_curve', None))
        stages = r.pop('sanity', None)
        if stages:
            sanity[label] = stages
        metrics[label] = r
    _write_json(osp.join(work_dir, 'metrics.json'), metrics)
    _write_json(osp.join(work_dir, 'curves.json'), curves)
    with open(osp.join(work_dir, 'metrics.md'), 'w') as f:
        f.write(markdown_table(metrics, title))
    plot_curves(curves, osp.join(work_dir, 'curves.png'), title)
    if sanity:
        _write_json(osp.join(work_dir, 'sanity.json'), sanity)
        plot_cascade(sanity, osp.join(work_dir, 'sanity.png'))
    return metrics


def _collect(metrics: dict, class_names: Optional[List[str]]) -> dict:
    def get(key):
        return metrics.get(key)

    per_class = get('pointing_game/spt_per_class') or {}
    if class_names:
        per_class = {
            (class_names[int(k)] if k.isdigit() and int(k) < len(class_names)
             else k): v for k, v in per_class.items()}
    return dict(
        deletion=get('deletion_insertion/deletion'),
        insertion=get('deletion_insertion/insertion'),
        overall=get('deletion_insertion/overall'),
        spt=get('pointing_game/spt'),
        seconds_per_map=get('time/seconds_per_map'),
        seconds_per_map_median=get('time/seconds_per_map_median'),
        num_videos=get('deletion_insertion/num_videos'),
        num_failed=get('explain/num_failed') or 0,
        spt_per_class=per_class, spt_frames=get('pointing_game/num_frames'),
        deletion_curve=get('deletion_insertion/deletion_curve'),
        insertion_curve=get('deletion_insertion/insertion_curve'),
        sanity=get('sanity/stages') or None)


def _title(config: str, checkpoint: Optional[str],
           num_videos: Optional[int]) -> str:
    weights = osp.basename(checkpoint) if checkpoint else 'random weights'
    videos = f', first {num_videos} videos' if num_videos else ''
    return f'{osp.basename(config)}, {weights}{videos}'


def run_eval(config: str,
             checkpoint: Optional[str],
             explainers: Sequence[str],
             work_dir: Optional[str] = None,
             maps: Optional[str] = None,
             launcher: str = 'none',
             cfg_options: Optional[dict] = None,
             num_videos: Optional[int] = None,
             boxes: Optional[str] = 'auto',
             ucf24_pkl: Optional[str] = None,
             steps: int = 28,
             batch_size: int = 16,
             sanity_videos: int = 0,
             trust_checkpoint: bool = False) -> Dict[str, dict]:
    """Evaluate each method on the config's test set; write the reports.

    Args:
        config (str): mmaction2 test config (inherit one with ``_base_``).
        checkpoint (str, optional): Recognizer weights.
        explainers (sequence of str): Methods, see :func:`parse_method`.
        work_dir (str, optional): Output folder (default
            ``work_dirs/eval_<config name>``).
        maps (str, optional): Read maps written by ``tools/explain.py``
            from here (see :func:`find_maps_dir`) instead of computing them.
        launcher (str): ``'none'`` or ``'pytorch'`` (torchrun).
        cfg_options (dict, optional): Config overrides.
        num_videos (int, optional): Only the first N videos of the test set.
        boxes (str, optional): Ground-truth boxes, ``'auto'`` by default
            (see :class:`GroundTruthBoxes`); the config key ``gt_boxes``
            is used when set.
        ucf24_pkl (str, optional): UCF101-24 ``pyannot.pkl`` (or the config
            key ``ucf24_pkl``).
        steps (int): Deletion/insertion steps.
        batch_size (int): Perturbed clips per forward pass.
        sanity_videos (int): Cascading randomisation on this many videos.
        trust_checkpoint (bool): Allow full unpickling of the checkpoint.

    Returns:
        dict: ``{method: {deletion, insertion, overall, spt,
        seconds_per_map, num_videos, ...}}`` of this run (on every rank).
    """
    if maps is not None and not osp.isdir(maps):
        raise FileNotFoundError(f'maps folder not found: {maps}')
    if not explainers:
        raise ExplainConfigError('name at least one method (--explainers)')
    cfg = load_run_config(config, checkpoint, cfg_options)
    work_dir = work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', 'eval_' + osp.splitext(osp.basename(config))[0])
    boxes = cfg.get('gt_boxes', boxes)
    ucf24_pkl = ucf24_pkl or cfg.get('ucf24_pkl')
    methods = [parse_method(s, cfg) for s in explainers]
    labels = [m[0] for m in methods]
    if len(set(labels)) != len(labels):
        raise ExplainConfigError(f'methods named twice: {labels}')
    map_dirs = {}
    if maps is not None:
        for spec, (label, _) in zip(explainers, methods):
            d = find_maps_dir(maps, label, spec.partition(':')[0],
                              len(methods) == 1)
            if d is None:
                raise FileNotFoundError(
                    f'no maps (*.npz) for {label} under {maps}')
            map_dirs[label] = d
    # maps this run writes must not join maps of another run
    digest = file_digest(checkpoint)  # once: model-zoo files are large
    fingerprints = {
        label: ensure_same_run(osp.join(work_dir, safe_name(label), 'maps'),
                               exp, digest, cfg)
        for label, exp in methods if label not in map_dirs}
    class_names = load_class_names(cfg)

    from mmengine.dist import barrier, get_rank
    from mmengine.runner import Runner

    from ..scoring import unwrap
    if launcher != 'none':
        init_dist_cpu_safe(launcher)
    results = {}
    for label, exp in methods:
        method_dir = osp.join(work_dir, safe_name(label))
        ecfg = build_eval_config(
            cfg, method_dir, exp,
            maps_dir=map_dirs.get(label, osp.join(method_dir, 'maps')),
            require_maps=label in map_dirs, launcher=launcher,
            num_videos=num_videos, boxes=boxes, ucf24_pkl=ucf24_pkl,
            steps=steps, batch_size=batch_size,
            sanity_videos=sanity_videos, write_maps=label not in map_dirs,
            class_names=class_names)
        runner = Runner.from_cfg(ecfg)
        if get_rank() == 0:  # the row label, for tables_from_records
            os.makedirs(method_dir, exist_ok=True)
            with open(osp.join(method_dir, LABEL_FILE), 'w') as f:
                f.write(label + '\n')
            if label in fingerprints:
                write_run_file(osp.join(method_dir, 'maps'),
                               fingerprints[label])
        names = class_names
        if checkpoint is not None:
            ckpt = load_checkpoint(unwrap(runner.model).recognizer,
                                   checkpoint, trust=trust_checkpoint,
                                   logger=runner.logger)
            meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
            if not names and isinstance(meta, dict):
                names = (meta.get('dataset_meta') or {}).get('classes')
        else:
            runner.logger.warning('no checkpoint given: evaluating a model '
                                  'with random weights')
        metrics = runner.test() or {}
        results[label] = _collect(metrics, list(names) if names else None)
        if get_rank() == 0:  # after each method: a long run keeps its part
            write_reports(work_dir, {label: results[label]},
                          _title(config, checkpoint, num_videos))
        barrier()
    return results
