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
import stat
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, ConfigDict

from ..compat import load_checkpoint_file, state_dict_of
from ..adapters import build_adapter
from ..errors import RunError
from ..registry import EXPLAINERS, build_explainer
from ..structures import add_geometry_meta_keys, explainer_misfit

#: The explainer presets (package data).
PRESET_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                      'configs', 'explainers')
VIDEO_DECODERS = ('DecordInit', 'PyAVInit', 'OpenCVInit')


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
        raise RunError(f'config not found: {path}' if not osp.exists(path)
                       else f'config {path} is not a file')
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


def explainer_file(path: str) -> dict:
    """The ``explainer`` dict of an explainer config file
    (``--explainer FILE.py``), with one-line errors.

    Raises:
        RunError: The file is missing, cannot be parsed, or defines no
            ``explainer`` dict.
    """
    if not osp.isfile(path):
        raise RunError(f'explainer config not found: {path}'
                       if not osp.exists(path) else
                       f'explainer config {path} is not a file')
    try:
        spec = Config.fromfile(path)
    except Exception as exc:  # SyntaxError, missing _base_, ...
        first = (str(exc).strip().splitlines() or [''])[0]
        raise RunError(f'cannot read explainer config {path}: '
                       f'{type(exc).__name__}: {first}') from exc
    exp = spec.get('explainer')
    if not isinstance(exp, dict) or not exp.get('type'):
        raise RunError(f'explainer config {path} defines no `explainer` '
                       "dict with a type (explainer = dict(type='AOSA', "
                       '...))')
    return _as_dict(exp)


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
            exp = explainer_file(base)
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
    state_dict_of(ckpt, path)  # names → tensors, or one line saying not
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


def semaphore_problem() -> Optional[str]:
    """Why this process cannot make the semaphores a DataLoader's worker
    queues need (None: it can). Python makes them in ``/dev/shm``; with no
    free inode there, creating one fails (``SemLock``)."""
    import multiprocessing
    try:
        multiprocessing.get_context().Lock()
    except (OSError, ImportError) as exc:
        return f'{type(exc).__name__}: {exc}'
    return None


def workers_for_shm(num_workers: int, need_bytes: int,
                    shm_dir: str = SHM_DIR) -> Tuple[int, Optional[str]]:
    """DataLoader workers that can hand clips to the main process.

    Workers pass every decoded clip to the main process through a file in
    ``shm_dir``; when it is full they hang or die (a container started
    without a larger ``--shm-size`` fills with a few clips). The run loads
    videos in the main process instead (``num_workers=0``) when
    ``shm_dir`` has less free space than ``num_workers`` ×
    :data:`PREFETCH` samples of ``need_bytes``, or no free inode, when the
    worker queues' semaphores cannot be made (:func:`semaphore_problem`),
    or when a file-size limit (``ulimit -f``) is below one sample (the
    shared-memory file of a clip could not be sized).

    Returns:
        tuple: (workers to use, one line saying why they changed or None).
    """
    if num_workers <= 0:
        return num_workers, None
    fallback = ('loading videos in the main process (num_workers=0, '
                'slower)')
    if osp.isdir(shm_dir):
        free = shutil.disk_usage(shm_dir).free
        need = num_workers * PREFETCH * need_bytes
        if free < need:
            return 0, (f'{shm_dir} has {free / 2**20:.0f} MB free, '
                       f'{num_workers} DataLoader workers need about '
                       f'{need / 2**20:.0f} MB to pass clips: {fallback}; '
                       'free some or enlarge it (docker run --shm-size) to '
                       'use workers')
        try:
            vfs = os.statvfs(shm_dir)
        except OSError:
            vfs = None
        if vfs is not None and vfs.f_files and not vfs.f_favail:
            return 0, (f'{shm_dir} has no free inode, DataLoader workers '
                       f'cannot pass clips: {fallback}')
    problem = semaphore_problem()
    if problem:
        return 0, ('cannot make the semaphores of DataLoader workers '
                   f'({problem}; /dev/shm full or out of inodes?): '
                   f'{fallback}')
    import resource
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY and limit < need_bytes:
        return 0, (f'a file-size limit of {limit} bytes (ulimit -f) is '
                   f'below one decoded clip ({need_bytes} bytes), which '
                   f'DataLoader workers pass as a file: {fallback}')
    return num_workers, None


def _under_root(path: str, root: Optional[str]) -> str:
    """A path of a dataset config as mmengine's ``BaseDataset`` joins it:
    a relative path under ``data_root`` when there is one."""
    return path if osp.isabs(path) or not root else osp.join(root, path)


def resolved_paths(dataset: dict) -> dict:
    """``ann_file`` and ``data_prefix`` of a dataset config as mmengine's
    ``BaseDataset`` resolves them (joined with ``data_root`` when
    relative), then made absolute (a relative ``data_root`` is relative to
    the working directory, as it is for mmengine)."""
    root = dataset.get('data_root') or None
    out = {}
    if root:
        out['data_root'] = osp.abspath(str(root))
    ann = dataset.get('ann_file')
    if isinstance(ann, str) and ann:
        out['ann_file'] = osp.abspath(_under_root(ann, root))
    prefix = dataset.get('data_prefix')
    if isinstance(prefix, dict):
        out['data_prefix'] = {
            k: osp.abspath(_under_root(str(v), root)) if v or root else v
            for k, v in prefix.items()}
    return out


#: Largest test-set list read (bytes).
MAX_LIST_BYTES = 256 * 2**20
#: Dataset types whose list :func:`check_test_list` parses line by line:
#: a video file and its label(s) per line; a frame folder, its frame count
#: and label(s).
VIDEO_LISTS = ('VideoDataset', )
RAWFRAME_LISTS = ('RawframeDataset', )


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def _line_problem(kind: str, fields: List[str], dataset: dict
                  ) -> Optional[str]:
    """Why one split line of a test-set list cannot be read (None: it
    can), as mmaction2's ``VideoDataset`` / ``RawframeDataset`` parse
    it."""
    if kind in VIDEO_LISTS:
        labels = fields[1:]
        if not dataset.get('multi_class') and len(labels) > 1:
            return (f'{len(fields)} fields, expected a file name and one '
                    'label (a file name with spaces needs '
                    "delimiter='\\t' in the dataset config)")
    else:
        counts = 2 if dataset.get('with_offset') else 1
        if len(fields) < 1 + counts or not all(
                _is_int(f) for f in fields[1:1 + counts]):
            what = 'offset and frame count' if counts == 2 else \
                'frame count'
            return f'expected a frame folder and its {what} (integers)'
        labels = fields[1 + counts:]
        if not dataset.get('multi_class') and len(labels) > 1:
            return f'{len(labels)} labels, expected one'
    bad = [x for x in labels if not _is_int(x)]
    if bad:
        return f'label {bad[0]!r} is not an integer'
    return None


def check_test_list(dataset: dict) -> None:
    """Refuse a test-set list that would not give one sample per line.

    The list must be a regular file (a FIFO would block the run) of UTF-8
    text with at least one line. For ``VideoDataset`` and
    ``RawframeDataset`` lists every line is parsed as mmaction2 parses it:
    a blank line (mmaction2 makes it a video named after the folder), a
    label that is not an integer, too many fields, or a video listed twice
    is refused, naming the line.

    Raises:
        RunError: One line naming the list, the line and what is wrong.
    """
    path = resolved_paths(dataset).get('ann_file')
    if not path:
        return
    try:
        st = os.stat(path)
    except OSError:
        return  # check_test_set names a missing list
    if not stat.S_ISREG(st.st_mode):
        from ..datasets.explain_dataset import file_kind
        raise RunError(f'test set list {path} is {file_kind(st.st_mode)}, '
                       'not a file')
    if st.st_size > MAX_LIST_BYTES:
        raise RunError(f'test set list {path} has {st.st_size} bytes, more '
                       f'than the {MAX_LIST_BYTES} read at most')
    try:
        with open(path, encoding='utf-8') as f:
            lines = [ln.rstrip('\n\r') for ln in f]
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(f'cannot read test set list {path}: '
                       f'{type(exc).__name__}: {exc}') from exc
    if not any(ln.strip() for ln in lines):
        raise RunError(f'test set list {path} is empty: it lists no video')
    kind = str(dataset.get('type', '')).split('.')[-1]
    if kind not in VIDEO_LISTS + RAWFRAME_LISTS:
        return
    delimiter = dataset.get('delimiter', ' ') if kind in VIDEO_LISTS \
        else None
    seen = {}
    for n, line in enumerate(lines, 1):
        where = f'test set list {path}, line {n}'
        if not line.strip():
            raise RunError(f'{where} is blank: remove it (every line names '
                           'a video)')
        fields = line.strip().split(delimiter)
        problem = _line_problem(kind, fields, dataset)
        if problem:
            raise RunError(f'{where}: {problem}')
        name = osp.normpath(fields[0])
        if name in seen:
            raise RunError(f'{where} lists {fields[0]} again (first on line '
                           f'{seen[name]}): each video once')
        seen[name] = n


def check_test_set(dataset: dict) -> None:
    """Stop before the Runner when the test set's list file or video folder
    is missing, with one line naming the options that point elsewhere, or
    when its list cannot be read (:func:`check_test_list`).

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
        if not osp.lexists(path):
            raise RunError(f'test set list not found: {path} '
                           f'(ann_file, from {os.getcwd()}): {hint}')
    if isinstance(prefix, dict) and isinstance(prefix.get(key), str):
        folder = _under_root(prefix[key], root) if prefix[key] else root
        if folder and not osp.isdir(folder):
            raise RunError(f'test set folder not found: {folder} '
                           f'(data_prefix.{key}, from {os.getcwd()}): '
                           f'{hint}')
    check_test_list(dataset)


def build_test_set(dataset: dict, default_scope: str = 'mmaction'):
    """Build the test set once before the Runner (as
    :class:`~mmaction_aosa.datasets.ExplainDataset` wraps it), so that a
    list the dataset cannot read, an empty set, or a video listed twice
    stops the run at once.

    Returns:
        ExplainDataset: The wrapped set (its ``ids`` and paths).

    Raises:
        RunError: One line.
    """
    from mmengine.registry import DefaultScope

    from ..datasets import ExplainDataset
    kind = dataset.get('type')
    try:
        with DefaultScope.overwrite_default_scope(default_scope):
            wrapped = ExplainDataset(copy.deepcopy(dataset))
    except Exception as exc:  # noqa: BLE001 - whatever the dataset raises
        first = (str(exc).strip().splitlines() or [''])[0]
        raise RunError(f'cannot read the test set ({kind}): '
                       f'{type(exc).__name__}: {first[:300]}') from exc
    if len(wrapped.dataset) == 0:
        raise RunError(f'the test set ({kind}) has no videos')
    return wrapped


def build_model_early(model: dict, config: str,
                      default_scope: str = 'mmaction'):
    """Build the run's model once before the Runner, so that an unknown
    type (a typo, a plugin not imported) stops the run at once.

    Raises:
        RunError: One line naming the config.
    """
    from mmaction.registry import MODELS
    from mmengine.registry import DefaultScope
    try:
        with DefaultScope.overwrite_default_scope(default_scope):
            return MODELS.build(copy.deepcopy(model))
    except Exception as exc:  # noqa: BLE001 - KeyError, TypeError, ...
        first = (str(exc).strip().strip('"').splitlines() or [''])[0]
        raise RunError(f'cannot build the model of {config}: '
                       f'{type(exc).__name__}: {first[:300]}') from exc


def data_identity(dataset: dict) -> dict:
    """Where a dataset's videos come from, for the run's fingerprint:
    ``data_root``, ``ann_file`` and ``data_prefix`` resolved as mmengine
    resolves them (:func:`resolved_paths`: the same from any working
    directory), and the list's content (``ann_sha256``: an edited list, or
    another ``--video`` with the same list path, is another run)."""
    out = resolved_paths(dataset)
    ann = out.get('ann_file')
    if ann and osp.isfile(ann):
        from ..fileio import file_digest
        out['ann_sha256'] = file_digest(ann)
    return out


def run_fingerprint(cfg: Config, explainer: dict,
                    checkpoint_sha256: Optional[str], dataset: dict) -> dict:
    """What decides a run's maps (``WORK_DIR/run.json``): the explainer,
    the checkpoint's bytes, the model, the test pipeline, where the videos
    come from, the explained view and target, the recognizer adapter."""
    model = _as_dict(cfg.model)
    if model.get('type') == 'ExplainModel':  # the recognizer it wraps
        model = _as_dict(model['recognizer'])
    return dict(explainer=explainer, checkpoint_sha256=checkpoint_sha256,
                model=model, pipeline=test_pipeline_of(cfg),
                data=data_identity(dataset),
                view=cfg.get('explain_view', 'center'),
                target=cfg.get('explain_target', None),
                adapter=adapter_cfg(cfg))


def read_limits(cfg: Config) -> dict:
    """The bounds on reading one video: ``explain_max_video_bytes`` and
    ``explain_read_timeout`` (seconds) of the config, or the defaults of
    :class:`~mmaction_aosa.datasets.ExplainDataset`; None or 0 lifts one.

    Raises:
        RunError: A bound that is not a number >= 0.
    """
    from ..datasets.explain_dataset import MAX_VIDEO_BYTES, READ_TIMEOUT_S
    out = {}
    for key, arg, default in (
            ('explain_max_video_bytes', 'max_bytes', MAX_VIDEO_BYTES),
            ('explain_read_timeout', 'read_timeout', READ_TIMEOUT_S)):
        value = cfg.get(key, default)
        if value is not None and (isinstance(value, bool) or not isinstance(
                value, (int, float)) or value < 0):
            raise RunError(f'{key} must be a number >= 0 (0 or None: no '
                           f'bound), got {value!r}')
        out[arg] = value or None
    return out


#: Seconds a DataLoader worker may take over its read bound before the
#: main process gives up on it.
LOADER_GRACE_S = 60.0


def loader_timeout(read_timeout: Optional[float]) -> float:
    """The DataLoader's ``timeout`` with workers: a worker decodes the
    video asked for after at most one other, each within ``read_timeout``
    (:data:`LOADER_GRACE_S` more for the rest of the pipeline); without a
    read bound, 30 minutes."""
    if not read_timeout:
        return 1800.0
    return 2 * float(read_timeout) + LOADER_GRACE_S


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
    limits = read_limits(cfg)
    dl['dataset'] = dict(type='ExplainDataset', dataset=dataset,
                         skip_ids=list(skip_ids), **limits)
    dl['batch_size'] = 1
    dl['sampler'] = dict(type='DefaultSampler', shuffle=False,
                         round_up=False)
    if num_workers is not None:
        dl['num_workers'] = num_workers
    if not dl.get('num_workers'):
        dl['persistent_workers'] = False
        dl.pop('timeout', None)
    else:  # never wait forever for a worker (a worker that hangs)
        dl.setdefault('timeout', loader_timeout(limits['read_timeout']))
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
