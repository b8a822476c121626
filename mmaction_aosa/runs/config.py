"""Everything an explain or eval run decides before mmengine's Runner is
built: the config, the explainer, the test set, class names, the
checkpoint, and the Runner's config itself.

Explainer presets ship inside the package
(``mmaction_aosa/configs/explainers/NAME.py``), so ``--explainer NAME``
works from an installed wheel; in a checkout,
``configs/_base_/explainers`` is the same folder (a link), for configs to
inherit by path.
"""
import ast
import copy
import os
import os.path as osp
import shutil
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, ConfigDict

from ..compat import CheckpointError, load_checkpoint_file
from ..adapters import build_adapter
from ..registry import EXPLAINERS, build_explainer
from ..structures import add_geometry_meta_keys, explainer_misfit

#: The explainer presets (package data).
PRESET_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                      'configs', 'explainers')
VIDEO_DECODERS = ('DecordInit', 'PyAVInit', 'OpenCVInit')


class RunError(ValueError):
    """A config, argument or file that cannot work: the run stops before any
    video (``tools/*.py`` exit with code 2)."""


def preset_path(name: str) -> str:
    """The file of explainer preset ``name`` (``aosa``, ``gradcam``, ...)."""
    return osp.join(PRESET_DIR, f'{name}.py')


def available_explainers() -> List[str]:
    """Names accepted by ``--explainer``: presets and registered types."""
    names = set(EXPLAINERS.module_dict)
    if osp.isdir(PRESET_DIR):
        names |= {f[:-3] for f in os.listdir(PRESET_DIR)
                  if f.endswith('.py') and not f.startswith('_')}
    return sorted(names)


def _value(text: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _as_dict(value) -> dict:
    return copy.deepcopy(value.to_dict() if isinstance(value, ConfigDict)
                         else dict(value))


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Load a config and merge ``--cfg-options``, with one-line errors."""
    if not osp.isfile(path):
        raise RunError(f'config not found: {path}')
    try:
        cfg = Config.fromfile(path)
    except Exception as exc:  # SyntaxError, missing _base_, bad scope ...
        first = (str(exc).strip().splitlines() or [''])[0]
        raise RunError(f'cannot read config {path}: {type(exc).__name__}: '
                       f'{first}') from exc
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise RunError(f'{path} defines no model')
    return cfg


def check_explainer(exp: dict) -> dict:
    """Build the explainer once, so bad arguments fail before any video."""
    try:
        build_explainer(copy.deepcopy(exp))
    except (TypeError, ValueError, KeyError) as exc:
        raise RunError(f'bad explainer config {exp}: {exc}') from exc
    return exp


def adapter_cfg(cfg: Config) -> Optional[dict]:
    """The config's ``adapter`` (the recognizer adapter's type or
    arguments, docs/architecture.md), checked by building it once; None
    when the config has none (the automatic choice)."""
    spec = cfg.get('adapter')
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise RunError(f'adapter must be a dict, got {spec!r}')
    spec = _as_dict(spec)
    try:
        build_adapter(copy.deepcopy(spec))
    except ValueError as exc:
        raise RunError(str(exc)) from exc
    return spec


def explainer_overrides(cfg_options: Optional[dict]) -> dict:
    """The ``explainer.KEY=VALUE`` entries of ``--cfg-options``."""
    return {k.split('.', 1)[1]: v for k, v in (cfg_options or {}).items()
            if k.startswith('explainer.')}


#: Explainer arguments that fit a model and its clip size rather than
#: choose a method: a config's own values survive ``--explainer NAME``
#: (the paper's SlowFast setting, anchors every 10 px with 20×20 boxes at
#: 256 px, stays with ``--explainer aosa_approx``).
MODEL_ARGS = ('anchor_stride', 'box_size', 'batch_size', 'target_layer',
              'amp')


def explainer_args(type_name: str) -> set:
    """The arguments an explainer type takes (its constructors' named
    parameters, through its bases); empty for an unknown type."""
    import inspect
    cls = EXPLAINERS.module_dict.get(str(type_name).split('.')[-1])
    names = set()
    for klass in getattr(cls, '__mro__', ()):
        if klass is object or '__init__' not in vars(klass):
            continue
        for p in inspect.signature(klass.__init__).parameters.values():
            if p.name != 'self' and p.kind not in (p.VAR_POSITIONAL,
                                                   p.VAR_KEYWORD):
                names.add(p.name)
    return names


def _args_text(args: dict) -> str:
    return ', '.join(f'{k}={v!r}' for k, v in args.items())


@dataclass
class ExplainerChoice:
    """The explainer of a run and where each of its settings came from.

    Attributes:
        cfg (dict): The explainer config (``type`` and arguments).
        origin (str): What chose the method: ``'preset NAME'``, ``'type
            NAME'``, ``'file PATH'`` or ``'the config'``.
        from_config (dict): Arguments the config set for its model
            (:data:`MODEL_ARGS`) that replace the preset's.
        from_name (dict): ``NAME:key=value`` arguments.
        from_options (dict): ``--cfg-options explainer.*`` arguments.
    """
    cfg: dict
    origin: str
    from_config: dict = field(default_factory=dict)
    from_name: dict = field(default_factory=dict)
    from_options: dict = field(default_factory=dict)

    def describe(self) -> str:
        """One line a person reads: the method, its model settings
        (:data:`MODEL_ARGS`) and where each came from, e.g.
        ``AOSAApprox (preset aosa_approx; from the config: anchor_stride=10,
        box_size=20; from --cfg-options: batch_size=4)``."""
        moved = {**self.from_config, **self.from_name, **self.from_options}
        own = {k: self.cfg[k] for k in MODEL_ARGS
               if k in self.cfg and k not in moved}
        parts = [self.origin + (f': {_args_text(own)}' if own else '')]
        for where, args in (('the config', self.from_config),
                            ('the name', self.from_name),
                            ('--cfg-options', self.from_options)):
            if args:
                parts.append(f'from {where}: {_args_text(args)}')
        return f"{self.cfg.get('type')} ({'; '.join(parts)})"


def choose_explainer(name: Optional[str], cfg: Config,
                     overrides: Optional[dict] = None) -> ExplainerChoice:
    """The explainer of a run: from ``--explainer NAME`` or the config.

    NAME is a preset (``aosa_approx``), a file with an ``explainer``, or a
    registered type name (built with its defaults, e.g. ``AOSA``). It
    chooses the method; the config's own values of :data:`MODEL_ARGS`
    (anchor grid, box, batch for its model) stay when the chosen type takes
    them. ``NAME:key=value,...`` overrides arguments, and ``overrides``
    (the ``explainer.*`` entries of ``--cfg-options``) apply last, whichever
    way the explainer was named. The result is checked by building it once.
    """
    own = _as_dict(cfg.explainer) if cfg.get('explainer') else {}
    if name is None:
        if not own:
            raise RunError(
                'the config defines no `explainer`; add one (inherit '
                "configs/_base_/explainers/aosa.py) or pass --explainer NAME")
        choice = ExplainerChoice(own, "the config's explainer")
    else:
        base, _, opts = name.partition(':')
        if base.endswith('.py'):
            if not osp.isfile(base):
                raise RunError(f'explainer config not found: {base}')
            exp = _as_dict(Config.fromfile(base).explainer)
            origin = f'file {base}'
        elif osp.isfile(preset_path(base.lower())):
            exp = _as_dict(Config.fromfile(preset_path(base.lower()))
                           .explainer)
            origin = f'preset {base.lower()}'
        elif base in EXPLAINERS.module_dict:
            exp = dict(type=base)
            origin = 'its defaults'
        else:
            raise RunError(f'unknown explainer {base!r}; available: '
                           f"{', '.join(available_explainers())}")
        choice = ExplainerChoice(exp, origin)
        takes = explainer_args(exp.get('type'))
        for key in MODEL_ARGS:
            if key in own and key in takes and own[key] != exp.get(key):
                choice.from_config[key] = exp[key] = own[key]
        for item in filter(None, opts.split(',')):
            key, eq, val = item.partition('=')
            if not eq:
                raise RunError(
                    f'bad override {item!r} in {name!r}: use key=value')
            choice.from_name[key.strip()] = exp[key.strip()] = _value(
                val.strip())
        for key in choice.from_name:
            choice.from_config.pop(key, None)
    for key, val in (overrides or {}).items():
        choice.from_options[key] = choice.cfg[key] = val
        choice.from_config.pop(key, None)
        choice.from_name.pop(key, None)
    check_explainer(choice.cfg)
    return choice


def resolve_explainer(name: Optional[str], cfg: Config,
                      overrides: Optional[dict] = None) -> dict:
    """The explainer config of a run (:func:`choose_explainer`'s
    ``cfg``)."""
    return choose_explainer(name, cfg, overrides).cfg


def method_label(spec: str) -> str:
    """The row label of an eval method spec (``aosa[map_form=eq2]``)."""
    name, _, opts = spec.partition(':')
    if name.endswith('.py'):
        name = osp.splitext(osp.basename(name))[0]
    return f'{name}[{opts}]' if opts else name


def label_map_candidates(path: str,
                         config_path: Optional[str] = None) -> List[str]:
    """Where a config's ``label_map`` is looked for, in order: as given
    (relative to the working directory), relative to the config file's
    folder, and by its last folder and file name among the package's label
    maps (``mmaction_aosa/configs/labels``: ``data/ucf101/label_map.txt``
    is ``labels/ucf101/label_map.txt``; a bare ``label_map.txt`` names no
    dataset)."""
    cands = [path]
    if not osp.isabs(path):
        if config_path:
            cands.append(osp.join(osp.dirname(osp.abspath(config_path)),
                                  path))
        cands.append(osp.join(osp.dirname(PRESET_DIR), 'labels',
                              osp.basename(osp.dirname(path)),
                              osp.basename(path)))
    return cands


def load_class_names(cfg: Config, checkpoint: Optional[dict] = None,
                     config_path: Optional[str] = None
                     ) -> Optional[List[str]]:
    """Class names: ``class_names`` of the config, else its ``label_map``
    file (one name per line, in label order; looked for where
    :func:`label_map_candidates` says), else the checkpoint's
    ``meta.dataset_meta.classes``; None when none of them gives names."""
    if cfg.get('class_names'):
        return list(cfg.class_names)
    path = cfg.get('label_map')
    if path:
        for cand in label_map_candidates(str(path), config_path):
            if osp.isfile(cand):
                with open(cand) as f:
                    return [line.strip() for line in f if line.strip()]
    meta = (checkpoint or {}).get('meta') if isinstance(checkpoint,
                                                        dict) else None
    if isinstance(meta, dict):
        classes = (meta.get('dataset_meta') or {}).get('classes')
        if classes:
            return list(classes)
    return None


def no_class_names_message(cfg: Config,
                           config_path: Optional[str] = None) -> str:
    """The one warning of a run without class names: why, and the keys."""
    path = cfg.get('label_map')
    why = ('label_map {} not found (looked in {})'.format(
        path, ', '.join(label_map_candidates(str(path), config_path)))
           if path else 'the config sets neither label_map nor class_names '
           'and the checkpoint has no dataset_meta.classes')
    return (f'no class names: {why}; overlays and logs say "class N". Set '
            "label_map='FILE' (one name per line) or class_names=[...] in "
            "the config (README, 'Class names')")


def read_checkpoint(path: Optional[str], trust: bool = False
                    ) -> Optional[dict]:
    """The checkpoint file's content (loaded once, before the Runner)."""
    if path is None:
        return None
    ckpt = load_checkpoint_file(path, trust=trust)
    if not isinstance(ckpt, dict):
        raise CheckpointError(f'checkpoint {path} is not a dict')
    return ckpt


def test_pipeline_of(cfg: Config) -> list:
    """The test dataset's pipeline (``test_pipeline`` if it has none)."""
    ds = cfg.get('test_dataloader', {}).get('dataset', {})
    return list(ds.get('pipeline') or cfg.get('test_pipeline') or [])


def test_dataset_cfg(cfg: Config, video: Optional[str],
                     work_dir: str) -> dict:
    """The dataset to explain: the config's test set, or one ``video``."""
    if 'test_dataloader' not in cfg or cfg.test_dataloader is None:
        raise RunError('the config has no test_dataloader')
    ds = _as_dict(cfg.test_dataloader.dataset)
    if video is None:
        return ds
    pipeline = ds.get('pipeline', [])
    if not pipeline or pipeline[0].get('type') not in VIDEO_DECODERS:
        raise RunError(
            '--video needs a config whose test pipeline decodes video files '
            f'(first step one of {VIDEO_DECODERS})')
    os.makedirs(work_dir, exist_ok=True)
    ann = osp.join(work_dir, '.video_list.txt')
    with open(ann, 'w') as f:  # tab-separated: paths may hold spaces
        f.write(osp.abspath(video) + '\n')
    return dict(type='VideoDataset', ann_file=ann, data_prefix=dict(video=''),
                pipeline=pipeline, test_mode=True, delimiter='\t')


#: Pipeline steps that leave the frame size as it is.
SIZE_KEEPING_STEPS = frozenset((
    'DecordInit', 'DecordDecode', 'PyAVInit', 'PyAVDecode',
    'PyAVDecodeMotionVector',
    'OpenCVInit', 'OpenCVDecode', 'RawFrameDecode', 'SampleFrames',
    'UniformSample', 'UniformSampleFrames', 'DenseSampleFrames',
    'SampleAVAFrames', 'Flip', 'ColorJitter', 'Normalize', 'FormatShape',
    'FormatGCNInput', 'PackActionInputs', 'Collect', 'ToTensor',
    'Transpose'))
#: Crop steps and their size argument (an int, or (w, h) as mmaction2
#: takes it).
CROP_STEPS = {'CenterCrop': 'crop_size', 'ThreeCrop': 'crop_size',
              'TenCrop': 'crop_size', 'RandomCrop': 'size'}


def _wh(value) -> Optional[Tuple[int, int]]:
    if isinstance(value, int) and value > 0:
        return value, value
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, int) and v > 0 for v in value):
        return int(value[0]), int(value[1])
    return None


def pipeline_clip_size(pipeline: Sequence[dict]
                       ) -> Optional[Tuple[int, int, str]]:
    """The (H, W) of the clips a test pipeline makes, when it fixes them.

    A crop (``CenterCrop``, ``ThreeCrop``, ``TenCrop``, ``RandomCrop``) or a
    ``Resize`` to a fixed (w, h) without ``keep_ratio`` sets the size; steps
    in :data:`SIZE_KEEPING_STEPS` keep it; a ``Resize`` that keeps the
    aspect ratio, or any other step, makes it unknown until the next crop.

    Returns:
        tuple | None: (H, W, the step that set them), or None when the size
        depends on the video.
    """
    size = None
    for step in pipeline or []:
        kind = str(step.get('type', '')).split('.')[-1]
        if kind in CROP_STEPS:
            wh = _wh(step.get(CROP_STEPS[kind]))
            size = None if wh is None else (wh[1], wh[0], kind)
        elif kind == 'Resize':
            wh = _wh(step.get('scale'))
            size = (wh[1], wh[0], kind) if wh is not None and not step.get(
                'keep_ratio', True) else None
        elif kind not in SIZE_KEEPING_STEPS:
            size = None
    return size


def check_explainer_fits(exp: dict, pipeline: Sequence[dict],
                         name: Optional[str] = None) -> None:
    """Refuse explainer arguments that cannot fit the test pipeline's clips
    (``anchor_stride`` or ``box_size`` larger than the frame) before any
    video, when the pipeline fixes the clip size; otherwise each video is
    checked when it is explained (``ExplainModel``).

    Args:
        exp (dict): The explainer config.
        pipeline (list): The test pipeline.
        name (str, optional): The method's label in the message (eval
            runs); default the explainer's type.

    Raises:
        RunError: One line naming the argument, the clip size and the
            pipeline step that fixes it.
    """
    size = pipeline_clip_size(pipeline)
    if size is None:
        return
    height, width, step = size
    misfit = explainer_misfit(exp, height, width)
    if misfit:
        raise RunError(f'bad explainer config ({name or exp.get("type")}):'
                       f' {misfit} ({step} of the test pipeline)')


#: Where DataLoader workers hand decoded clips to the main process (torch
#: shares tensors through shared memory files there).
SHM_DIR = '/dev/shm'
#: Batches each worker keeps ready (torch's default ``prefetch_factor``).
PREFETCH = 2
#: The frame size assumed when the pipeline does not fix it (720p).
UNKNOWN_FRAME = (720, 1280)


def sample_bytes(pipeline: Sequence[dict]) -> int:
    """Bytes of one decoded test sample (uint8 views × T × H × W × 3).

    Views are ``num_clips`` of the sampler times the crops of a
    ``ThreeCrop`` (3) or ``TenCrop`` (10); the size is
    :func:`pipeline_clip_size`, or :data:`UNKNOWN_FRAME` when the pipeline
    does not fix it.
    """
    frames, views = 32, 1
    for step in pipeline or []:
        kind = str(step.get('type', '')).split('.')[-1]
        if 'clip_len' in step:
            frames = int(step.get('clip_len') or 1) * int(
                step.get('num_clips', 1) or 1)
        views *= {'ThreeCrop': 3, 'TenCrop': 10}.get(kind, 1)
    size = pipeline_clip_size(pipeline)
    height, width = size[:2] if size else UNKNOWN_FRAME
    return views * frames * height * width * 3


def workers_for_shm(num_workers: int, need_bytes: int,
                    shm_dir: str = SHM_DIR) -> Tuple[int, Optional[str]]:
    """DataLoader workers that fit the free shared memory.

    Workers pass every decoded clip to the main process through
    ``shm_dir``; when it is full they hang or die (a container started
    without a larger ``--shm-size`` fills with a few clips). With less
    free space than
    ``num_workers`` × :data:`PREFETCH` samples of ``need_bytes`` the run
    loads videos in the main process instead.

    Returns:
        tuple: (workers to use, one line saying why they changed or None).
    """
    if num_workers <= 0 or not osp.isdir(shm_dir):
        return num_workers, None
    free = shutil.disk_usage(shm_dir).free
    need = num_workers * PREFETCH * need_bytes
    if free >= need:
        return num_workers, None
    return 0, (f'{shm_dir} has {free / 2**20:.0f} MB free, {num_workers} '
               f'DataLoader workers need about {need / 2**20:.0f} MB to pass '
               'clips: loading videos in the main process (num_workers=0, '
               'slower); free some or enlarge it (docker run --shm-size) to '
               'use workers')


def _under_root(path: str, root: Optional[str]) -> str:
    """A path of a dataset config as mmengine's ``BaseDataset`` joins it."""
    return path if osp.isabs(path) or not root else osp.join(root, path)


def check_test_set(dataset: dict) -> None:
    """Stop before the Runner when the test set's list file or video folder
    is missing, with one line naming the options that point elsewhere.

    Checks ``ann_file`` and ``data_prefix.video`` / ``data_prefix.img``
    (joined with ``data_root`` as mmengine does) of a dataset that has
    them; datasets without a list file (the generated benchmark) pass.
    """
    root = dataset.get('data_root') or None
    ann = dataset.get('ann_file')
    prefix = dataset.get('data_prefix')
    key = 'video'
    if isinstance(prefix, dict) and 'video' not in prefix and 'img' in prefix:
        key = 'img'
    hint = ('point the config at your copy with --cfg-options '
            'test_dataloader.dataset.ann_file=LIST '
            f'test_dataloader.dataset.data_prefix.{key}=DIR')
    if root:
        hint += ' (or test_dataloader.dataset.data_root=DIR)'
    hint += "; README, 'Test sets'"
    if isinstance(ann, str) and ann:
        path = _under_root(ann, root)
        if not osp.isfile(path):
            raise RunError(f'test set list not found: {path} '
                           f'(ann_file, from {os.getcwd()}): {hint}')
    if isinstance(prefix, dict) and isinstance(prefix.get(key), str):
        folder = _under_root(prefix[key], root) if prefix[key] else root
        if folder and not osp.isdir(folder):
            raise RunError(f'test set folder not found: {folder} '
                           f'(data_prefix.{key}, from {os.getcwd()}): '
                           f'{hint}')


def data_identity(dataset: dict) -> dict:
    """Where a dataset's videos come from, for the run's fingerprint."""
    out = {}
    for key in ('data_root', 'ann_file'):
        if dataset.get(key):
            out[key] = osp.abspath(str(dataset[key]))
    ann = dataset.get('ann_file')
    if ann and osp.isfile(str(ann)):
        # the list's content: another --video (same list path) or an edited
        # list is another run
        from ..fileio import file_digest
        out['ann_sha256'] = file_digest(str(ann))
    prefix = dataset.get('data_prefix')
    if isinstance(prefix, dict):
        out['data_prefix'] = {k: osp.abspath(str(v)) if v else v
                              for k, v in prefix.items()}
    return out


def run_fingerprint(cfg: Config, explainer: dict,
                    checkpoint_sha256: Optional[str], dataset: dict) -> dict:
    """What decides a run's maps (``WORK_DIR/run.json``): the explainer,
    the checkpoint's bytes, the model, the test pipeline, where the videos
    come from, the explained view and target, the recognizer adapter."""
    return dict(explainer=explainer, checkpoint_sha256=checkpoint_sha256,
                model=_as_dict(cfg.model), pipeline=test_pipeline_of(cfg),
                data=data_identity(dataset),
                view=cfg.get('explain_view', 'center'),
                target=cfg.get('explain_target', None),
                adapter=adapter_cfg(cfg))


def runner_config(cfg: Config, work_dir: str, model: dict, dataset: dict,
                  evaluator: list, hooks: Sequence[dict],
                  launcher: str = 'none',
                  skip_ids: Sequence[str] = (),
                  class_names: Optional[Sequence[str]] = None,
                  num_workers: Optional[int] = None) -> Config:
    """The Runner's config of an explain or eval run.

    The test loop only: the config's dataset wrapped in ``ExplainDataset``
    (finished ``skip_ids`` left out, clip geometry kept), one video per
    batch, no padding of the last round (each video exactly once), the
    given model, evaluator and hooks (saliency hooks of the config are
    dropped: the run does the explaining), and on CPU the gloo backend.
    """
    rcfg = copy.deepcopy(cfg)
    rcfg.work_dir = work_dir
    rcfg.launcher = launcher
    rcfg.model = model
    dataset = copy.deepcopy(dataset)
    if dataset.get('pipeline'):
        # keep frame_inds / scale / crop so maps can meet ground-truth boxes
        add_geometry_meta_keys(dataset['pipeline'])
    dl = _as_dict(cfg.test_dataloader)
    dl['dataset'] = dict(type='ExplainDataset', dataset=dataset,
                         skip_ids=list(skip_ids))
    dl['batch_size'] = 1
    dl['sampler'] = dict(type='DefaultSampler', shuffle=False,
                         round_up=False)
    if num_workers is not None:
        dl['num_workers'] = num_workers
    if not dl.get('num_workers'):
        dl['persistent_workers'] = False
    rcfg.test_dataloader = dl
    rcfg.test_evaluator = evaluator
    rcfg.test_cfg = dict(type='TestLoop')
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper',
                'param_scheduler', 'val_dataloader', 'val_cfg',
                'val_evaluator', 'auto_scale_lr'):
        rcfg[key] = None
    rcfg.load_from = None
    rcfg.resume = False
    kept = [h for h in cfg.get('custom_hooks', []) or []
            if h.get('type') not in ('RecordWriterHook', 'SaliencyHook')]
    rcfg.custom_hooks = kept + list(hooks)
    if not torch.cuda.is_available():
        rcfg.env_cfg = dict(cfg.get('env_cfg', {}) or {})
        rcfg.env_cfg['dist_cfg'] = dict(backend='gloo')
        # mmengine's default DDP wrapper passes CUDA device_ids
        rcfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', broadcast_buffers=False,
            device_ids=None)
    vis_cfg = dict(cfg.get('visualizer') or {})
    rcfg.visualizer = dict(
        type='SaliencyVisualizer',
        vis_backends=vis_cfg.get('vis_backends',
                                 [dict(type='LocalVisBackend')]),
        class_names=list(class_names) if class_names else None)
    # reproducible random weights when no checkpoint is given
    rcfg.randomness = dict(cfg.get('randomness') or {})
    if rcfg.randomness.get('seed') is None:
        rcfg.randomness['seed'] = 0
    rcfg.setdefault('default_scope', 'mmaction')
    return rcfg


def split_spec(spec: str) -> Tuple[str, Dict[str, object]]:
    """``'NAME:k=v,k=v'`` → (NAME, {k: v})."""
    name, _, opts = spec.partition(':')
    out = {}
    for item in filter(None, opts.split(',')):
        key, _, val = item.partition('=')
        out[key.strip()] = _value(val.strip())
    return name, out
