"""Explain every video of a config's test set through mmengine's Runner.

``tools/explain.py`` is a thin command line over :func:`run_explain`.
"""
import copy
import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import Config, ConfigDict

from .compat import CheckpointError, init_dist_cpu_safe, load_checkpoint
from .registry import EXPLAINERS, build_explainer

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
EXPLAINER_CONFIG_DIR = osp.join(REPO_ROOT, 'configs', '_base_', 'explainers')

VIDEO_DECODERS = ('DecordInit', 'PyAVInit', 'OpenCVInit')


class ExplainConfigError(ValueError):
    """A config or command-line choice that cannot work."""


def available_explainers() -> list:
    """Names accepted by ``--explainer``: config stems and registry names."""
    names = set(EXPLAINERS.module_dict)
    if osp.isdir(EXPLAINER_CONFIG_DIR):
        names |= {
            f[:-3] for f in os.listdir(EXPLAINER_CONFIG_DIR)
            if f.endswith('.py') and not f.startswith('_')
        }
    return sorted(names)


def resolve_explainer(name: Optional[str], cfg: Config) -> dict:
    """The explainer config: from ``--explainer NAME`` or the config.

    NAME is the stem of a file in ``configs/_base_/explainers/`` (its
    ``explainer`` dict, e.g. ``aosa_approx``) or a registered type name
    (built with its defaults, e.g. ``AOSA``).
    """
    if name is None:
        if 'explainer' not in cfg:
            raise ExplainConfigError(
                'the config defines no `explainer`; add one (inherit '
                "configs/_base_/explainers/aosa.py) or pass --explainer NAME")
        return copy.deepcopy(cfg.explainer.to_dict() if isinstance(
            cfg.explainer, ConfigDict) else cfg.explainer)
    path = osp.join(EXPLAINER_CONFIG_DIR, f'{name.lower()}.py')
    if osp.isfile(path):
        return Config.fromfile(path).explainer.to_dict()
    if name in EXPLAINERS.module_dict:
        return dict(type=name)
    raise ExplainConfigError(
        f'unknown explainer {name!r}; available: '
        f"{', '.join(available_explainers())}")


def _test_dataset_cfg(cfg: Config, video: Optional[str],
                      work_dir: str) -> dict:
    if 'test_dataloader' not in cfg or cfg.test_dataloader is None:
        raise ExplainConfigError('the config has no test_dataloader')
    ds = copy.deepcopy(cfg.test_dataloader.dataset)
    if video is None:
        return ds
    pipeline = ds.get('pipeline', [])
    if not pipeline or pipeline[0].get('type') not in VIDEO_DECODERS:
        raise ExplainConfigError(
            '--video needs a config whose test pipeline decodes video files '
            f'(first step one of {VIDEO_DECODERS})')
    os.makedirs(work_dir, exist_ok=True)
    ann = osp.join(work_dir, '.video_list.txt')
    with open(ann, 'w') as f:
        f.write(osp.abspath(video) + '\n')
    return dict(type='VideoDataset', ann_file=ann, data_prefix=dict(video=''),
                pipeline=pipeline, test_mode=True)


def build_explain_config(cfg: Config,
                         work_dir: str,
                         explainer: dict,
                         video: Optional[str] = None,
                         launcher: str = 'none',
                         vis: bool = True,
                         class_names: Optional[Sequence[str]] = None) -> Config:
    """Turn an mmaction2 test config into an explain run's config."""
    cfg = copy.deepcopy(cfg)
    cfg.work_dir = work_dir
    cfg.launcher = launcher
    maps_dir = osp.join(work_dir, 'maps')
    recognizer = cfg.model
    if recognizer.get('type') == 'SaliencyRecognizer':
        recognizer = recognizer.recognizer
    cfg.model = dict(
        type='SaliencyRecognizer', recognizer=recognizer, explainer=explainer,
        view=cfg.get('explain_view', 'center'),
        target=cfg.get('explain_target', None), skip_dir=maps_dir)
    dataset = _test_dataset_cfg(cfg, video, work_dir)
    if dataset.get('pipeline'):
        # keep frame_inds / scale / crop so maps can meet ground-truth boxes
        from .evaluation.pointing_game import add_geometry_meta_keys
        add_geometry_meta_keys(dataset['pipeline'])
    dl = copy.deepcopy(cfg.test_dataloader)
    dl.dataset = dict(type='ExplainDataset', dataset=dataset)
    dl.batch_size = 1
    # no padding of the last round: each video is explained exactly once
    dl.sampler = dict(type='DefaultSampler', shuffle=False, round_up=False)
    if dl.get('num_workers', 0) == 0:
        dl.persistent_workers = False
    cfg.test_dataloader = dl
    cfg.test_evaluator = dict(type='SaliencySummary')
    cfg.test_cfg = dict(type='TestLoop')
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler', 'val_dataloader', 'val_cfg',
                'val_evaluator', 'auto_scale_lr'):
        cfg[key] = None
    cfg.load_from = None
    cfg.resume = False
    # the explain model does the explaining: drop saliency hooks of the
    # config, which would explain every clip a second time
    hooks = [h for h in cfg.get('custom_hooks', []) or []
             if h.get('type') not in ('SaliencyWriterHook', 'SaliencyHook')]
    hooks.append(dict(type='SaliencyWriterHook', out_dir=work_dir, vis=vis,
                      class_names=class_names))
    cfg.custom_hooks = hooks
    import torch
    if not torch.cuda.is_available():
        cfg.env_cfg = dict(cfg.get('env_cfg', {}) or {})
        cfg.env_cfg['dist_cfg'] = dict(backend='gloo')
        # mmengine's default DDP wrapper passes CUDA device_ids
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', broadcast_buffers=False,
            device_ids=None)
    vis_cfg = dict(cfg.get('visualizer') or {})
    cfg.visualizer = dict(
        type='SaliencyVisualizer',
        vis_backends=vis_cfg.get('vis_backends',
                                 [dict(type='LocalVisBackend')]),
        class_names=class_names)
    # reproducible random weights when no checkpoint is given
    cfg.randomness = dict(cfg.get('randomness') or {})
    if cfg.randomness.get('seed') is None:
        cfg.randomness['seed'] = 0
    cfg.setdefault('default_scope', 'mmaction')
    return cfg


def load_class_names(cfg: Config) -> Optional[list]:
    """Class names from ``class_names`` or a ``label_map`` file in the cfg."""
    if cfg.get('class_names'):
        return list(cfg.class_names)
    path = cfg.get('label_map')
    if path and osp.isfile(path):
        with open(path) as f:
            return [line.strip() for line in f if line.strip()]
    return None


def test_pipeline_of(cfg: Config) -> list:
    """The test dataset's pipeline (``test_pipeline`` if it has none)."""
    ds = cfg.get('test_dataloader', {}).get('dataset', {})
    return list(ds.get('pipeline') or cfg.get('test_pipeline') or [])


def check_explainer(exp: dict) -> None:
    """Build the explainer once, so bad arguments fail before any video.

    Raises:
        ExplainConfigError: the registry refuses ``exp``.
    """
    try:
        build_explainer(copy.deepcopy(exp))
    except (TypeError, ValueError, KeyError) as exc:
        raise ExplainConfigError(f'bad explainer config {exp}: {exc}')


def ensure_same_run(maps_dir: str, exp: dict,
                    checkpoint_sha256: Optional[str], cfg: Config) -> dict:
    """The fingerprint of a run writing into ``maps_dir``, after checking
    that maps already there come from the same run.

    Raises:
        ExplainConfigError: the maps there were made by another run (its
            explainer, checkpoint, model or test pipeline differs).
    """
    from .engine.io import check_resume, run_fingerprint
    fingerprint = run_fingerprint(exp, checkpoint_sha256, cfg.model,
                                  test_pipeline_of(cfg))
    differs = check_resume(maps_dir, fingerprint)
    if differs:
        raise ExplainConfigError(
            f'{maps_dir} holds maps of another run (its {differs} differs):'
            ' give another --work-dir, or remove that folder to start over')
    return fingerprint


def load_run_config(config: str, checkpoint: Optional[str] = None,
                    cfg_options: Optional[dict] = None) -> Config:
    """Check the config and checkpoint paths, load the config, merge options.

    Raises:
        FileNotFoundError, CheckpointError, ExplainConfigError: before any
            video is touched.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config not found: {config}')
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise CheckpointError(f'checkpoint not found: {checkpoint}')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise ExplainConfigError(f'{config} defines no model')
    return cfg


def run_explain(config: str,
                checkpoint: Optional[str] = None,
                work_dir: Optional[str] = None,
                explainer: Optional[str] = None,
                video: Optional[str] = None,
                cfg_options: Optional[dict] = None,
                launcher: str = 'none',
                trust_checkpoint: bool = False,
                vis: bool = True) -> dict:
    """Explain every video of the config's test set (or ``video``).

    Returns:
        dict: ``{'num_ok', 'num_failed', 'num_skipped', 'seconds_per_map',
        'work_dir'}`` (gathered over ranks).

    Raises:
        ExplainConfigError, CheckpointError, FileNotFoundError: bad input,
            before any video is touched.
    """
    if video is not None and not osp.exists(video):
        raise FileNotFoundError(f'video not found: {video}')
    cfg = load_run_config(config, checkpoint, cfg_options)
    work_dir = work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(config))[0])
    exp_cfg = resolve_explainer(explainer, cfg)
    check_explainer(exp_cfg)
    from .engine.io import done_ids, file_digest, write_run_file
    maps_dir = osp.join(work_dir, 'maps')
    fingerprint = ensure_same_run(maps_dir, exp_cfg, file_digest(checkpoint),
                                  cfg)
    cfg = build_explain_config(cfg, work_dir, exp_cfg, video, launcher, vis,
                               load_class_names(cfg))

    from mmengine.dist import barrier, get_rank
    from mmengine.runner import Runner

    from .scoring import unwrap
    if launcher != 'none':
        init_dist_cpu_safe(launcher)
    runner = Runner.from_cfg(cfg)
    if checkpoint is not None:
        ckpt = load_checkpoint(
            unwrap(runner.model).recognizer, checkpoint,
            trust=trust_checkpoint, logger=runner.logger)
        meta_classes = (ckpt.get('meta') or {}).get('dataset_meta', {}).get(
            'classes') if isinstance(ckpt.get('meta'), dict) else None
        if meta_classes and not cfg.custom_hooks[-1].get('class_names'):
            for h in runner.hooks:
                if type(h).__name__ == 'SaliencyWriterHook':
                    h.class_names = list(meta_classes)
            runner.visualizer.class_names = list(meta_classes)
    else:
        runner.logger.warning('no checkpoint given: explaining a model with '
                              'random weights')
    # Resume: every rank agrees on the finished videos before sharding.
    barrier()
    skip = sorted(done_ids(maps_dir))
    barrier()
    if get_rank() == 0:
        write_run_file(maps_dir, fingerprint)
    runner._test_dataloader['dataset']['skip_ids'] = skip
    if skip and get_rank() == 0:
        runner.logger.info(f'resuming: {len(skip)} videos already have maps')
    metrics = runner.test() or {}
    out = {k.split('/')[-1]: v for k, v in metrics.items()}
    out['num_skipped'] = out.get('num_skipped', 0) + len(skip)
    out['work_dir'] = work_dir
    if get_rank() == 0:
        runner.logger.info(
            f"explained {out.get('num_ok', 0)} videos, "
            f"{out.get('num_failed', 0)} failed, "
            f"{out['num_skipped']} already done; outputs in {work_dir}")
    return out
