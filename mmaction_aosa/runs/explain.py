"""Explain every video of a config's test set (``tools/explain.py``)."""
import os.path as osp
from typing import Optional

from mmengine.dist import barrier, get_rank

from ..compat import init_dist_cpu_safe, load_state
from ..engine.hooks import RecordWriterHook
from ..evaluation.html_report import write_explain_report
from ..fileio import file_digest
from ..scoring import unwrap
from .config import (RunError, adapter_cfg, check_explainer_fits,
                     check_test_set, choose_explainer, explainer_overrides,
                     load_class_names, load_config,
                     no_class_names_message, read_checkpoint,
                     run_fingerprint, runner_config,
                     sample_bytes, test_dataset_cfg, workers_for_shm)
from .runner import EXPLAINER_ARGS, build_runner
from .workdir import WorkDir, lock_work_dir


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
    if video is not None and not osp.isfile(video):
        raise RunError(f'video not found: {video}' if not osp.exists(video)
                       else f'--video must be a file, {video} is a folder')


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
        lock_work_dir(work_dir)
    ckpt = read_checkpoint(checkpoint, trust_checkpoint)
    dataset = test_dataset_cfg(cfg, video, work_dir)
    if launcher != 'none':
        init_dist_cpu_safe(launcher)
        if get_rank() == 0:
            lock_work_dir(work_dir)
    return cfg, work_dir, ckpt, dataset


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

    Returns:
        dict: ``{'num_ok', 'num_failed', 'num_skipped', 'seconds_per_map',
        'work_dir'}`` (gathered over ranks).

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
    wd = WorkDir(work_dir)
    fingerprint = run_fingerprint(cfg, exp, file_digest(checkpoint), dataset)
    differs = wd.differs_from(fingerprint)
    if differs:
        raise RunError(
            f'{wd.maps_dir} holds maps of another run (its {differs} '
            'differs): give another --work-dir, or remove that folder to '
            'start over')
    # resume: every rank agrees on the finished videos before sharding
    barrier()
    done = sorted(wd.done_ids())
    barrier()
    class_names = load_class_names(cfg, ckpt, config)
    model = dict(type='ExplainModel', recognizer=recognizer_cfg(cfg),
                 explainer=exp, view=cfg.get('explain_view', 'center'),
                 target=cfg.get('explain_target', None),
                 adapter=adapter_cfg(cfg))
    hooks = [dict(type='RecordWriterHook', out_dir=work_dir, vis=vis,
                  class_names=class_names)]
    workers, shm_note = workers_for_shm(
        int(cfg.test_dataloader.get('num_workers') or 0),
        sample_bytes(dataset.get('pipeline') or []))
    rcfg = runner_config(cfg, work_dir, model, dataset,
                         [dict(type='TimePerMap')], hooks, launcher, done,
                         class_names, num_workers=workers)
    runner = build_runner(rcfg, verbose)
    if shm_note:
        runner.logger.warning(shm_note)
    if ckpt is not None:
        load_state(unwrap(runner.model).recognizer, ckpt, checkpoint,
                   logger=runner.logger)
    if get_rank() == 0:
        runner.logger.info(
            f'explaining {config} ({recognizer_cfg(cfg).get("type")}, '
            f'{weights_text(checkpoint)}) with {choice.describe()}: '
            f'{len(runner.test_dataloader.dataset)} videos to do'
            + (f', {len(done)} already have maps (resuming)' if done else '')
            + f'; full log in {runner.log_dir}')
        runner.logger.info(f'{EXPLAINER_ARGS}{explainer_text(exp)}')
        if ckpt is None:
            runner.logger.warning('no checkpoint given: explaining a model '
                                  'with random weights')
        if not class_names:
            runner.logger.warning(no_class_names_message(cfg, config))
        wd.write_run_file(fingerprint)
    metrics = runner.test() or {}
    totals = writer_totals(runner)
    out = dict(num_ok=totals.get('ok', 0), num_failed=totals.get('failed', 0),
               num_skipped=len(done),
               seconds_per_map=metrics.get('time/seconds_per_map'),
               work_dir=work_dir)
    per_rank = totals.get('per_rank') or []
    if get_rank() == 0:
        ranks = (' (per rank: ' + ', '.join(map(str, per_rank)) + ')'
                 if len(per_rank) > 1 else '')
        report = write_report(
            runner, write_explain_report, work_dir, header=[
                f'{config} ({recognizer_cfg(cfg).get("type")}, '
                f'{weights_text(checkpoint)})',
                f'explainer: {choice.describe()}'],
            class_names=class_names)
        runner.logger.info(
            f"explained {out['num_ok']} videos, {out['num_failed']} failed"
            f"{ranks}, {out['num_skipped']} already done; outputs in "
            f'{work_dir}' + (f', open {report}' if report else ''))
    return out
