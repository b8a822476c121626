"""Explain every video of a config's test set (``tools/explain.py``)."""
import os
import os.path as osp
import stat
from typing import Dict, Optional

from mmengine.dist import barrier, broadcast_object_list, get_rank

from ..compat import init_dist_cpu_safe, load_state
from ..engine.hooks import RecordWriterHook
from ..evaluation.html_report import write_explain_report
from ..fileio import file_digest
from ..scoring import unwrap
from .config import (RunError, adapter_cfg, build_model_early,
                     build_test_set, check_explainer_fits, check_test_set,
                     choose_explainer, explainer_overrides, load_class_names,
                     load_config,
                     no_class_names_message, read_checkpoint,
                     run_fingerprint, runner_config,
                     sample_bytes, test_dataset_cfg, workers_for_shm)
from .runner import EXPLAINER_ARGS, build_runner
from .workdir import (MapCheck, WorkDir, fingerprint_parts, lock_work_dir,
                      releases_work_dirs)


def recognizer_cfg(cfg) -> dict:
    """The recognizer of a config (unwrapped from an explain model)."""
    model = cfg.model
    if model.get('type') == 'ExplainModel':
        model = model.recognizer
    return dict(model)


def weights_text(checkpoint: Optional[str]) -> str:
    return f'weights loaded from {checkpoint}' if checkpoint else \
        'RANDOM weights (no checkpoint)'


def explainer_text(exp: dict) -> str:
    """``AOSA(anchor_stride=8, box_size=16, ...)``: the explainer config
    as one line."""
    args = ', '.join(f'{k}={v!r}' for k, v in exp.items() if k != 'type')
    return f"{exp.get('type')}({args})"


def write_report(runner, writer, work_dir: str, **kwargs) -> Optional[str]:
    """Rebuild the work dir's ``report.html`` with ``writer``; a report
    that cannot be written is a warning, never a failed run."""
    try:
        return writer(work_dir, **kwargs)
    except OSError as exc:
        runner.logger.warning(f'report.html not written: {exc}')
        return None


def check_video(video: Optional[str]) -> None:
    """Refuse a ``--video`` that is missing or not a regular file (from
    ``stat``: a FIFO is never opened)."""
    if video is None:
        return
    from ..datasets.explain_dataset import file_kind
    try:
        st = os.stat(video)
    except FileNotFoundError:
        raise RunError(f'video not found: {video}') from None
    except OSError as exc:
        raise RunError(f'cannot read --video {video}: {exc.strerror}') \
            from None
    if not stat.S_ISREG(st.st_mode):
        raise RunError(f'--video must be a file, {video} is '
                       f'{file_kind(st.st_mode)}')


def start_error(exc: OSError, work_dir: str) -> RunError:
    """A write that failed before any video (a full disk, a file-size
    limit) as one line naming the file."""
    where = exc.filename or work_dir
    return RunError(f'cannot write {where} before any video: '
                    f'{exc.strerror or exc}')


def video_paths(test_set) -> Dict[str, str]:
    """Video id → absolute path of a built test set (each map must name
    its own video)."""
    return {vid: osp.abspath(path) for vid, path in zip(test_set.ids,
                                                        test_set.paths)
            if path}


def verify_saved_maps(wd: WorkDir, check: MapCheck):
    """Rank 0 reads every map of ``wd`` (:meth:`WorkDir.verify_maps`) and
    tells the other ranks: (trusted ids, {id: (problem, kind)})."""
    result = [None]
    if get_rank() == 0:
        result = [wd.verify_maps(check)]
    broadcast_object_list(result)
    return result[0]


def redo_notes(wd: WorkDir, bad: dict) -> Dict[str, str]:
    """Video id → why its saved map is explained again, naming the map
    (for the video's summary line)."""
    return {vid: problem if problem.startswith('cannot read map') else
            f'map {wd.map_path(vid)}: {problem}'
            for vid, (problem, _) in bad.items()}


def redo_text(bad: dict) -> str:
    """``2 saved maps failed verification and are explained again (clip1:
    it holds non-finite values ...)``: one line."""
    vid, (problem, _) = next(iter(sorted(bad.items())))
    more = (f'; {len(bad) - 1} more, each said on its summary line'
            if len(bad) > 1 else '')
    return (f'{len(bad)} saved maps failed verification and are explained '
            f'again ({vid}: {problem}{more})')


def writer_totals(runner) -> dict:
    """Counts of the run's record writer, gathered over ranks."""
    for hook in runner.hooks:
        if isinstance(hook, RecordWriterHook):
            return hook.totals()
    return {}


def prepare(config, checkpoint, work_dir, video, cfg_options, launcher,
            trust_checkpoint, default_dir):
    """The checks every run makes before its Runner: the config, the work
    dir, the checkpoint's content, the dataset; then the process group."""
    check_video(video)
    cfg = load_config(config, cfg_options)
    work_dir = work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', default_dir)
    if get_rank() == 0 and launcher == 'none':
        lock_work_dir(work_dir)  # released by @releases_work_dirs
    ckpt = read_checkpoint(checkpoint, trust_checkpoint)
    try:
        dataset = test_dataset_cfg(cfg, video, work_dir)
    except OSError as exc:
        raise start_error(exc, work_dir) from exc
    if launcher != 'none':
        init_dist_cpu_safe(launcher)
        if get_rank() == 0:
            lock_work_dir(work_dir)
    return cfg, work_dir, ckpt, dataset


@releases_work_dirs
def run_explain(config: str,
                checkpoint: Optional[str] = None,
                work_dir: Optional[str] = None,
                explainer: Optional[str] = None,
                video: Optional[str] = None,
                cfg_options: Optional[dict] = None,
                launcher: str = 'none',
                trust_checkpoint: bool = False,
                vis: bool = True,
                verbose: bool = False,
                num_videos: Optional[int] = None) -> dict:
    """Explain every video of the config's test set (or ``video``).

    Args:
        config (str): mmaction2 test config (inherit one with ``_base_``).
        checkpoint (str, optional): Recognizer weights; random without.
        work_dir (str, optional): Output folder (default
            ``work_dirs/<config name>``).
        explainer (str, optional): A preset, file or registered type,
            optionally ``NAME:key=value,...`` (``tools/explain.py
            --explainer``); default the config's ``explainer``.
        video (str, optional): Explain this one file instead of the test
            set.
        cfg_options (dict, optional): Config overrides (``explainer.KEY``
            overrides the explainer's arguments).
        launcher (str): ``'none'`` or ``'pytorch'`` (torchrun).
        trust_checkpoint (bool): Allow full unpickling of the checkpoint.
        vis (bool): Write overlays.
        verbose (bool): Also print mmengine's environment, config and hook
            table (always in the run's log file).
        num_videos (int, optional): Only the first N videos of the test
            set (a rerun with a larger N resumes).

    The work dir is locked for the run (:mod:`mmaction_aosa.workdir`); a
    rerun skips the videos whose map it can trust (readable, finite, made
    by this run for this video) and explains the others again.

    Returns:
        dict: ``{'num_ok', 'num_failed', 'num_skipped', 'num_redone',
        'num_unrecorded', 'seconds_per_map', 'work_dir'}`` (gathered over
        ranks; ``num_failed`` counts the videos whose summary line could not
        be written, ``num_unrecorded``, too).

    Raises:
        RunError, CheckpointError: bad input, before any video is touched.
    """
    name = osp.splitext(osp.basename(config))[0]
    cfg, work_dir, ckpt, dataset = prepare(
        config, checkpoint, work_dir, video, cfg_options, launcher,
        trust_checkpoint, name)
    choice = choose_explainer(explainer, cfg,
                              explainer_overrides(cfg_options))
    exp = choice.cfg
    check_explainer_fits(exp, dataset.get('pipeline') or [])
    check_test_set(dataset)
    if num_videos is not None:
        if int(num_videos) < 1:
            raise RunError(f'--num-videos must be >= 1, got {num_videos}')
        if video is None:
            dataset['indices'] = int(num_videos)
    scope = cfg.get('default_scope', 'mmaction')
    test_set = build_test_set(dataset, scope)
    wd = WorkDir(work_dir)
    digest = file_digest(checkpoint)
    fingerprint = run_fingerprint(cfg, exp, digest, dataset)
    parts = fingerprint_parts(fingerprint)
    rebuilt = wd.check_run(fingerprint)
    # resume: rank 0 checks every saved map, every rank agrees on the
    # finished videos before sharding
    barrier()
    done, bad = verify_saved_maps(
        wd, MapCheck(parts, videos=video_paths(test_set)))
    barrier()
    class_names = load_class_names(cfg, ckpt, config)
    model = dict(type='ExplainModel', recognizer=recognizer_cfg(cfg),
                 explainer=exp, view=cfg.get('explain_view', 'center'),
                 target=cfg.get('explain_target', None),
                 adapter=adapter_cfg(cfg))
    # an unknown type or weights that do not fit: refused before the
    # Runner (seconds of set-up); with random weights the Runner builds
    # the model itself, after seeding
    built = build_model_early(model, config, scope)
    if ckpt is not None:
        load_state(built.recognizer, ckpt, checkpoint)
    hooks = [dict(type='RecordWriterHook', out_dir=work_dir, vis=vis,
                  class_names=class_names)]
    workers, shm_note = workers_for_shm(
        int(cfg.test_dataloader.get('num_workers') or 0),
        sample_bytes(dataset.get('pipeline') or []))
    rcfg = runner_config(cfg, work_dir, model, dataset,
                         [dict(type='TimePerMap')], hooks, launcher, done,
                         class_names, num_workers=workers)
    recovered = 0
    try:
        if get_rank() == 0:
            wd.check_writable()
            recovered = wd.recover_summary(done)
        runner = build_runner(rcfg, verbose,
                              built if ckpt is not None else None)
        if get_rank() == 0:
            wd.write_run_file(fingerprint)
    except OSError as exc:
        raise start_error(exc, work_dir) from exc
    if shm_note:
        runner.logger.warning(shm_note)
    explain_model = unwrap(runner.model)
    explain_model.set_provenance(dict(run=parts, checkpoint_sha256=digest))
    explain_model.redo_notes = redo_notes(wd, bad)
    if get_rank() == 0:
        runner.logger.info(
            f'explaining {config} ({recognizer_cfg(cfg).get("type")}, '
            f'{weights_text(checkpoint)}) with {choice.describe()}: '
            f'{len(runner.test_dataloader.dataset)} videos to do'
            + (f', {len(done)} already have maps (resuming)' if done else '')
            + f'; full log in {runner.log_dir}')
        runner.logger.info(f'{EXPLAINER_ARGS}{explainer_text(exp)}')
        if rebuilt:
            runner.logger.warning(rebuilt)
        if bad:
            runner.logger.warning(redo_text(bad))
        if recovered:
            runner.logger.warning(
                f'{recovered} finished maps had no summary line: rebuilt '
                f'from the maps in {wd.summary_file}')
        if ckpt is None:
            runner.logger.warning('no checkpoint given: explaining a model '
                                  'with random weights')
        if not class_names:
            runner.logger.warning(no_class_names_message(cfg, config))
    metrics = runner.test() or {}
    totals = writer_totals(runner)
    unrecorded = totals.get('unrecorded', 0)
    out = dict(num_ok=totals.get('ok', 0),
               num_failed=totals.get('failed', 0) + unrecorded,
               num_skipped=len(done), num_redone=len(bad),
               num_unrecorded=unrecorded,
               seconds_per_map=metrics.get('time/seconds_per_map'),
               work_dir=work_dir)
    per_rank = totals.get('per_rank') or []
    if get_rank() == 0:
        ranks = (' (per rank: ' + ', '.join(map(str, per_rank)) + ')'
                 if len(per_rank) > 1 else '')
        lost = (f', {unrecorded} not recorded in {wd.summary_file} (maps '
                'kept; counted as failed)' if unrecorded else '')
        report = write_report(
            runner, write_explain_report, work_dir, header=[
                f'{config} ({recognizer_cfg(cfg).get("type")}, '
                f'{weights_text(checkpoint)})',
                f'explainer: {choice.describe()}'],
            class_names=class_names)
        runner.logger.info(
            f"explained {out['num_ok']} videos, {totals.get('failed', 0)} "
            f"failed{ranks}, {out['num_skipped']} already done{lost}; "
            f'outputs in {work_dir}' + (f', open {report}' if report else ''))
    return out
