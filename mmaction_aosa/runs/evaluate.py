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
from ..fileio import atomic_write_bytes, file_digest, is_temp_name
from ..registry import build_explainer
from ..scoring import unwrap
from ..structures import MapFileError, load_map
from .config import (RunError, adapter_cfg, build_model_early,
                     build_test_set, check_explainer_fits, check_test_set,
                     choose_explainer, explainer_overrides, load_class_names,
                     no_class_names_message, method_label, run_fingerprint,
                     runner_config)
from .explain import (explainer_text, prepare, recognizer_cfg, redo_text,
                      start_error, verify_saved_maps, video_paths,
                      weights_text, write_report, writer_totals)
from .runner import EXPLAINER_ARGS, build_runner
from .workdir import (FINGERPRINT_KEYS, SHARED_MAP_KEYS, MapCheck, WorkDir,
                      fingerprint_parts, releases_work_dirs)


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
        if osp.isdir(c) and any(f.endswith('.npz') and not is_temp_name(f)
                                for f in os.listdir(c)):
            return c
    return None


def refuse_foreign_maps(maps_dir: str, check: MapCheck, label: str) -> int:
    """Refuse ``--maps`` whose maps another run made: every map in
    ``maps_dir`` must carry the provenance of the run this eval reports
    for ``label`` (checkpoint, model, pipeline, explained view and target,
    adapter, method and arguments). A map that cannot be read is left to
    fail its video.

    Returns:
        int: Maps checked.

    Raises:
        RunError: One line naming the map and the field that differs.
    """
    n = 0
    for f in sorted(os.listdir(maps_dir)):
        if not f.endswith('.npz') or is_temp_name(f):
            continue
        path = osp.join(maps_dir, f)
        try:
            fields = load_map(path, ('provenance', 'method', 'params'))
        except MapFileError:
            continue  # that video fails, naming the file
        problem = check.provenance_problem(fields)
        if problem:
            raise RunError(f'--maps: {path} is not a map of the run this '
                           f'eval reports as {label}: {problem}')
        n += 1
    return n


def check_ground_truth(boxes: Optional[str],
                       ucf24_pkl: Optional[str]) -> None:
    """Refuse ground truth that cannot be read before any video: a
    ``--boxes`` path that is neither a folder nor a regular file, a
    ``--ucf24-pkl`` that is not a regular file (a FIFO would block).

    Raises:
        RunError: One line naming the option and the path.
    """
    import stat as stat_

    from ..datasets.explain_dataset import file_kind
    for option, path, folder_ok in (('--boxes', boxes, True),
                                    ('--ucf24-pkl', ucf24_pkl, False)):
        if not path or (option == '--boxes' and path == 'auto'):
            continue
        try:
            mode = os.stat(path).st_mode
        except OSError:
            raise RunError(f'{option} {path} not found') from None
        if not (stat_.S_ISREG(mode) or folder_ok and stat_.S_ISDIR(mode)):
            raise RunError(f'{option} {path} is {file_kind(mode)}, not a '
                           + ('file or folder' if folder_ok else 'file'))


def metric_configs(out_dir: str, options: Dict[str, dict]) -> list:
    """The test evaluator: every registered saliency metric, writing its
    per-video records to ``out_dir``; ``options`` holds arguments by metric
    type. The sanity check is left out unless it checks some video
    (mmengine warns about a metric that saw nothing); a subclass that is
    not in mmaction2's ``METRICS``, such as one a test defines, cannot be
    built from a config: it is left out too."""
    from mmaction.registry import METRICS
    return [dict(type=m.__name__, out_dir=out_dir,
                 **options.get(m.__name__, {}))
            for m in saliency_metric_classes()
            if METRICS.get(m.__name__) is m and (
                m.__name__ != 'CascadeRandomization' or options.get(
                    m.__name__, {}).get('num_videos'))]


def _title(config: str, checkpoint: Optional[str],
           num_videos: Optional[int]) -> str:
    weights = osp.basename(checkpoint) if checkpoint else 'random weights'
    videos = f', first {num_videos} videos' if num_videos else ''
    return f'{osp.basename(config)}, {weights}{videos}'


@releases_work_dirs
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
    check_ground_truth(boxes, ucf24_pkl)
    overrides = explainer_overrides(cfg_options)
    chosen = [(method_label(s), choose_explainer(s, cfg, overrides))
              for s in explainers]
    methods = [(label, choice.cfg) for label, choice in chosen]
    for label, exp in methods:
        check_explainer_fits(exp, dataset.get('pipeline') or [], label)
    check_test_set(dataset)
    scope = cfg.get('default_scope', 'mmaction')
    videos = video_paths(build_test_set(dataset, scope))
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
    # maps this run writes must not join maps of another run; maps it
    # reads must be the run's it reports
    digest = file_digest(checkpoint)  # once: model-zoo files are large
    fingerprints, parts, rebuilt, redo = {}, {}, {}, {}
    for label, exp in methods:
        fingerprints[label] = run_fingerprint(cfg, exp, digest, dataset)
        parts[label] = fingerprint_parts(fingerprints[label])
        if label in map_dirs:
            built = build_explainer(dict(exp))
            refuse_foreign_maps(map_dirs[label], MapCheck(
                parts[label], SHARED_MAP_KEYS, built.name, built.params()),
                label)
            continue
        wd = WorkDir(osp.join(work_dir, safe_name(label)))
        rebuilt[label] = wd.check_run(fingerprints[label])
        _, redo[label] = verify_saved_maps(
            wd, MapCheck(parts[label], videos=videos))
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
        wd = WorkDir(method_dir)
        model = dict(type='ExplainModel', recognizer=recognizer_cfg(cfg),
                     explainer=exp, view=cfg.get('explain_view', 'center'),
                     target=cfg.get('explain_target', None),
                     adapter=adapter_cfg(cfg),
                     maps_dir=map_dirs.get(label, wd.maps_dir),
                     require_maps=reads)
        hooks = [] if reads else [dict(type='RecordWriterHook',
                                       out_dir=method_dir, vis=vis,
                                       class_names=class_names)]
        rcfg = runner_config(cfg, method_dir, model, dataset,
                             metric_configs(method_dir, options), hooks,
                             launcher, class_names=class_names,
                             num_workers=0)
        rcfg.experiment_name = f'eval_{safe_name(label)}'
        # unknown types and weights that do not fit: refused before the
        # Runner (random weights: the Runner builds the model, seeded)
        built = None
        if ckpt is not None or label == labels[0]:
            built = build_model_early(model, config, scope)
        if ckpt is not None:
            load_state(built.recognizer, ckpt, checkpoint)
        try:
            if get_rank() == 0:  # the row label, for tables_from_records
                atomic_write_bytes(osp.join(method_dir, LABEL_FILE),
                                   (label + '\n').encode())
                maps_of = map_dirs.get(label, '')
                if osp.basename(osp.normpath(maps_of)) == 'maps':
                    # read from a run's maps/: the report shows its vis/
                    atomic_write_bytes(
                        osp.join(method_dir, OVERLAY_DIR_FILE),
                        (osp.abspath(osp.join(osp.dirname(osp.normpath(
                            maps_of)), 'vis')) + '\n').encode())
                if not reads:
                    wd.check_writable()
                    wd.write_run_file(fingerprints[label])
            runner = build_runner(rcfg, verbose,
                                  built if ckpt is not None else None)
        except OSError as exc:
            raise start_error(exc, method_dir) from exc
        unwrap(runner.model).set_provenance(
            dict(run=parts[label], checkpoint_sha256=digest),
            SHARED_MAP_KEYS if reads else FINGERPRINT_KEYS)
        if not class_names and label == labels[0] and get_rank() == 0:
            runner.logger.warning(no_class_names_message(cfg, config))
        if ckpt is None:
            runner.logger.warning('no checkpoint given: evaluating a model '
                                  'with random weights')
        if get_rank() == 0:
            runner.logger.info(
                f'evaluating {label} = {dict(chosen)[label].describe()} on '
                f'{config} '
                f'({weights_text(checkpoint)}; '
                f'{"maps of " + map_dirs[label] if reads else "new maps"})')
            runner.logger.info(f'{EXPLAINER_ARGS}{explainer_text(exp)}')
            if rebuilt.get(label):
                runner.logger.warning(rebuilt[label])
            if redo.get(label):
                runner.logger.warning(redo_text(redo[label]))
        metrics = runner.test() or {}
        row = {k.split('/', 1)[-1]: v for k, v in metrics.items()}
        totals = writer_totals(runner)
        if totals:  # a map or summary line that could not be written
            row['num_failed'] = totals['failed'] + totals.get('unrecorded',
                                                              0)
        if redo.get(label):
            row['num_redone'] = len(redo[label])
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
