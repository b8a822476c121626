"""Evaluate saliency methods on a config's test set
(``tools/eval_saliency.py``).

For each method, one ``runner.test()`` of mmengine's Runner with the same
run config as an explain run (:func:`~.config.runner_config`): the model
explains each clip (or reads the map a run of ``tools/explain.py`` saved),
and the test evaluator holds every registered saliency metric
(:func:`~mmaction_aosa.evaluation.saliency_metric_classes`), which runs the
model where it must (deletion and insertion, the sanity check). Results are
gathered over ranks by mmengine; rank 0 writes ``metrics.json``,
``curves.json``, ``metrics.md`` and ``curves.png`` in the work dir (merged
with the methods already there) and each method's per-video records in
``WORK_DIR/<method>/``.
"""
import os
import os.path as osp
import re
from typing import Dict, Optional, Sequence

from mmengine.dist import barrier, get_rank

from ..compat import load_state
from ..evaluation.metrics import saliency_metric_classes
from ..evaluation.html_report import OVERLAY_DIR_FILE, write_eval_report
from ..evaluation.report import LABEL_FILE, write_reports
from ..fileio import file_digest
from ..scoring import unwrap
from .config import (RunError, adapter_cfg, check_explainer_fits,
                     check_test_set, explainer_overrides, load_class_names,
                     no_class_names_message, method_label, choose_explainer,
                     run_fingerprint, runner_config)
from .explain import (explainer_text, prepare, recognizer_cfg,
                      weights_text, write_report, writer_totals)
from .runner import EXPLAINER_ARGS, build_runner
from .workdir import WorkDir


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


def metric_configs(out_dir: str, options: Dict[str, dict]) -> list:
    """The test evaluator: every saliency metric, writing its per-video
    records to ``out_dir``; ``options`` holds arguments by metric type.
    The sanity check is left out unless it checks some video (mmengine
    warns about a metric that saw nothing)."""
    return [dict(type=m.__name__, out_dir=out_dir,
                 **options.get(m.__name__, {}))
            for m in saliency_metric_classes()
            if m.__name__ != 'CascadeRandomization' or options.get(
                m.__name__, {}).get('num_videos')]


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
             trust_checkpoint: bool = False,
             verbose: bool = False,
             vis: bool = True) -> Dict[str, dict]:
    """Evaluate each method on the config's test set; write the reports.

    Args:
        config (str): mmaction2 test config (inherit one with ``_base_``).
        checkpoint (str, optional): Recognizer weights.
        explainers (sequence of str): Methods, each as
            ``tools/explain.py --explainer`` takes it, optionally with
            ``:key=value,...`` overrides (``aosa:map_form=eq2``).
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
        verbose (bool): Also print mmengine's environment, config and hook
            table (always in each method's log file).
        vis (bool): Write each new map's overlay (``WORK_DIR/<method>/vis``)
            for the report's side-by-side view.

    Returns:
        dict: ``{method: row}`` of this run (on every rank); each row holds
        every metric's numbers and ``num_failed``.
    """
    if maps is not None and not osp.isdir(maps):
        raise RunError(f'maps folder not found: {maps}')
    if not explainers:
        raise RunError('name at least one method (--explainers)')
    name = 'eval_' + osp.splitext(osp.basename(config))[0]
    cfg, work_dir, ckpt, dataset = prepare(
        config, checkpoint, work_dir, None, cfg_options, launcher,
        trust_checkpoint, name)
    boxes = cfg.get('gt_boxes', boxes)
    ucf24_pkl = ucf24_pkl or cfg.get('ucf24_pkl')
    overrides = explainer_overrides(cfg_options)
    chosen = [(method_label(s), choose_explainer(s, cfg, overrides))
              for s in explainers]
    methods = [(label, choice.cfg) for label, choice in chosen]
    for label, exp in methods:
        check_explainer_fits(exp, dataset.get('pipeline') or [], label)
    check_test_set(dataset)
    labels = [m[0] for m in methods]
    if len(set(labels)) != len(labels):
        raise RunError(f'methods named twice: {labels}')
    map_dirs = {}
    if maps is not None:
        for spec, label in zip(explainers, labels):
            d = find_maps_dir(maps, label, spec.partition(':')[0],
                              len(methods) == 1)
            if d is None:
                raise RunError(f'no maps (*.npz) for {label} under {maps}')
            map_dirs[label] = d
    if num_videos:
        dataset['indices'] = int(num_videos)
    # maps this run writes must not join maps of another run
    digest = file_digest(checkpoint)  # once: model-zoo files are large
    fingerprints = {}
    for label, exp in methods:
        if label in map_dirs:
            continue
        wd = WorkDir(osp.join(work_dir, safe_name(label)))
        fingerprints[label] = run_fingerprint(cfg, exp, digest, dataset)
        differs = wd.differs_from(fingerprints[label])
        if differs:
            raise RunError(
                f'{wd.maps_dir} holds maps of another run (its {differs} '
                'differs): give another --work-dir, or remove that folder '
                'to start over')
    class_names = load_class_names(cfg, ckpt, config)
    options = dict(
        DeletionInsertion=dict(steps=steps, batch_size=batch_size),
        SpatialPointingGame=dict(boxes=boxes, ucf24_pkl=ucf24_pkl,
                                 class_names=class_names),
        CascadeRandomization=dict(num_videos=sanity_videos))
    results = {}
    for label, exp in methods:
        method_dir = osp.join(work_dir, safe_name(label))
        reads = label in map_dirs
        model = dict(type='ExplainModel', recognizer=recognizer_cfg(cfg),
                     explainer=exp, view=cfg.get('explain_view', 'center'),
                     target=cfg.get('explain_target', None),
                     adapter=adapter_cfg(cfg),
                     maps_dir=map_dirs.get(label,
                                           osp.join(method_dir, 'maps')),
                     require_maps=reads)
        hooks = [] if reads else [dict(type='RecordWriterHook',
                                       out_dir=method_dir, vis=vis,
                                       class_names=class_names)]
        rcfg = runner_config(cfg, method_dir, model, dataset,
                             metric_configs(method_dir, options), hooks,
                             launcher, class_names=class_names,
                             num_workers=0)
        rcfg.experiment_name = f'eval_{safe_name(label)}'
        runner = build_runner(rcfg, verbose)
        if not class_names and label == labels[0] and get_rank() == 0:
            runner.logger.warning(no_class_names_message(cfg, config))
        if ckpt is not None:
            load_state(unwrap(runner.model).recognizer, ckpt, checkpoint,
                       logger=runner.logger)
        else:
            runner.logger.warning('no checkpoint given: evaluating a model '
                                  'with random weights')
        if get_rank() == 0:
            runner.logger.info(
                f'evaluating {label} = {dict(chosen)[label].describe()} on '
                f'{config} '
                f'({weights_text(checkpoint)}; '
                f'{"maps of " + map_dirs[label] if reads else "new maps"})')
            runner.logger.info(f'{EXPLAINER_ARGS}{explainer_text(exp)}')
        if get_rank() == 0:  # the row label, for tables_from_records
            os.makedirs(method_dir, exist_ok=True)
            with open(osp.join(method_dir, LABEL_FILE), 'w') as f:
                f.write(label + '\n')
            maps_of = map_dirs.get(label, '')
            if osp.basename(osp.normpath(maps_of)) == 'maps':
                # read from a run's maps/: the report shows its vis/
                with open(osp.join(method_dir, OVERLAY_DIR_FILE), 'w') as f:
                    f.write(osp.abspath(osp.join(
                        osp.dirname(osp.normpath(maps_of)), 'vis')) + '\n')
            if label in fingerprints:
                WorkDir(method_dir).write_run_file(fingerprints[label])
        metrics = runner.test() or {}
        row = {k.split('/', 1)[-1]: v for k, v in metrics.items()}
        totals = writer_totals(runner)
        if totals:  # a map that could not be written failed too
            row['num_failed'] = totals['failed']
        results[label] = row
        if get_rank() == 0:  # after each method: a long run keeps its part
            write_reports(work_dir, {label: row},
                          _title(config, checkpoint, num_videos))
            report = write_report(
                runner, write_eval_report, work_dir, header=[
                    f'{config} ({recognizer_cfg(cfg).get("type")}, '
                    f'{weights_text(checkpoint)})'] + [
                    f'{lab}: {choice.describe()}' for lab, choice in chosen],
                class_names=class_names)
            if report and label == labels[-1]:
                runner.logger.info(f'metrics and overlays side by side: '
                                   f'open {report}')
        barrier()
    return results
