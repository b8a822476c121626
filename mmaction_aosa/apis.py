"""Public entry points.

* :func:`init_recognizer` and :func:`explain_video`: one video to one
  :class:`~mmaction_aosa.structures.SaliencyRecord` in Python, the way
  mmaction2's ``init_recognizer`` / ``inference_recognizer`` give one
  prediction: the config's own test pipeline and data_preprocessor decide
  frames, size and normalisation. :func:`write_overlay` draws the record's
  overlay on the source video.
* :func:`run_explain` (what ``tools/explain.py`` runs) and :func:`run_eval`
  (``tools/eval_saliency.py``): a whole test set into a work dir
  (:mod:`mmaction_aosa.runs`).

Types: a :class:`SaliencyRecord` holds torch tensors (``saliency`` T×H×W
float32 on the CPU, ``probs``, ``clip``), as mmaction2's data samples do,
whether it comes from :func:`explain_video`, a run, or a map file
(:meth:`SaliencyRecord.from_npz`). :func:`~mmaction_aosa.structures.load_map`
is the low-level reader of a map file: a dict of its numpy arrays and
decoded JSON fields.
"""
import copy
import os.path as osp
from typing import Optional, Sequence, Union

import torch
from mmengine.config import Config
from torch import nn

from .runs import RunError, run_eval, run_explain

#: The name this error had before the run layer was unified.
ExplainConfigError = RunError

__all__ = ['ExplainConfigError', 'RunError', 'explain_video',
           'init_recognizer', 'run_eval', 'run_explain', 'write_overlay']


def _config(config: Union[str, Config],
            cfg_options: Optional[dict] = None) -> Config:
    from .runs.config import load_config
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
        if cfg_options:
            cfg.merge_from_dict(cfg_options)
        return cfg
    return load_config(str(config), cfg_options)


def init_recognizer(config: Union[str, Config],
                    checkpoint: Optional[str] = None,
                    device: Union[str, torch.device] = 'cpu',
                    cfg_options: Optional[dict] = None,
                    trust_checkpoint: bool = False) -> nn.Module:
    """Build the config's recognizer and load its weights, safely.

    Like mmaction2's ``init_recognizer``, with this package's checkpoint
    loading (weights-only unpickling with an allowlist; README, "Install
    notes") and the config's recognizer adapter. The config is kept as
    ``model.cfg``.

    Args:
        config (str | Config): An mmaction2 config (this package's configs
            or one that inherits mmaction2's).
        checkpoint (str, optional): Local weights; None keeps the random
            initialisation.
        device (str | torch.device): Where the model runs.
        cfg_options (dict, optional): Config overrides.
        trust_checkpoint (bool): Allow full unpickling (trusted files only).

    Returns:
        nn.Module: The recognizer, in eval mode.
    """
    from mmengine.registry import init_default_scope

    from mmaction.registry import MODELS

    from .adapters import attach_adapter
    from .compat import load_state
    from .runs.config import adapter_cfg, read_checkpoint
    from .runs.explain import recognizer_cfg
    cfg = _config(config, cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(recognizer_cfg(cfg))
    ckpt = read_checkpoint(checkpoint, trust_checkpoint)
    if ckpt is not None:
        load_state(model, ckpt, checkpoint)
        meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
        if isinstance(meta, dict) and meta.get('dataset_meta'):
            model.dataset_meta = meta['dataset_meta']
    spec = adapter_cfg(cfg)
    if spec is not None:
        attach_adapter(model, spec)
    model.cfg = cfg
    return model.to(device).eval()


def _explainer(explainer, cfg: Config):
    """A built explainer from a name (as ``--explainer``), a config dict,
    an instance, or None (the config's, else the default preset)."""
    from .registry import build_explainer
    from .runs.config import choose_explainer
    if explainer is not None and not isinstance(explainer, (str, dict)):
        return explainer
    if isinstance(explainer, dict):
        return build_explainer(copy.deepcopy(explainer))
    if explainer is None and not cfg.get('explainer'):
        explainer = 'aosa'
    return build_explainer(choose_explainer(explainer, cfg).cfg)


def _load_video(cfg: Config, video: str) -> dict:
    """The config's test pipeline on one video file, as mmaction2's
    ``inference_recognizer`` feeds it (geometry kept, decord by path)."""
    from mmengine.dataset import Compose

    from .datasets.explain_dataset import by_path, open_by_path
    from .runs.config import test_pipeline_of
    from .structures import add_geometry_meta_keys
    steps = add_geometry_meta_keys(copy.deepcopy(test_pipeline_of(cfg)))
    if not steps:
        raise RunError('the config has no test pipeline')
    pipeline = Compose(steps)
    results = dict(filename=video, label=-1, start_index=0, modality='RGB')
    for t in pipeline.transforms:
        results = open_by_path(t, results) if by_path(t, results) else t(
            results)
        if results is None:
            raise RunError(f'pipeline step {type(t).__name__} dropped '
                           f'{video}')
    return results


def explain_video(config: Union[str, Config],
                  checkpoint: Union[str, nn.Module, None] = None,
                  video: Optional[str] = None,
                  explainer=None,
                  target: Optional[int] = None,
                  device: Union[str, torch.device] = 'cpu',
                  cfg_options: Optional[dict] = None,
                  view: Union[str, int, None] = None,
                  progress: bool = False,
                  trust_checkpoint: bool = False):
    """Explain one video file: config, weights (or a model) and a path in,
    a :class:`~mmaction_aosa.structures.SaliencyRecord` out.

    The video goes through the config's test pipeline and the model's
    data_preprocessor, one view is explained (the config's
    ``explain_view``, by default the centre crop's middle clip), as
    ``tools/explain.py --video`` does, without a work dir.

    Args:
        config (str | Config): An mmaction2 config.
        checkpoint (str | nn.Module, optional): Local weights, or a
            recognizer already built (:func:`init_recognizer`; reuse it
            for many videos). None: random weights.
        video (str): The video file.
        explainer (str | dict | explainer, optional): A preset or type
            name as ``--explainer`` takes it (``'aosa_approx'``,
            ``'aosa:rounds=1'``; the config's model settings are kept), a
            config dict, or a built explainer. Default: the config's
            ``explainer``, else ``'aosa'``.
        target (int, optional): Class to explain; default the model's top-1
            (or the config's ``explain_target``).
        device (str | torch.device): Where a model built here runs.
        cfg_options (dict, optional): Config overrides.
        view (str | int, optional): Which view (default the config's
            ``explain_view``, else ``'center'``).
        progress (bool): Show the progress inside the map on stderr.
        trust_checkpoint (bool): Allow full unpickling of ``checkpoint``.

    Returns:
        SaliencyRecord: ``saliency`` (T×H×W float32 tensor at the model's
        input size), ``target``, ``score``, ``probs``, ``method``,
        ``params``, ``seconds``, ``timings``, ``geometry`` (how the clip
        was cut from the video), ``class_name``, and ``clip`` (the
        explained clip, normalised). ``record.to_npz(path)`` saves it;
        :func:`write_overlay` draws it.

    Raises:
        RunError: bad config, video or explainer (one line).
        ExplainError: the explainer cannot explain this clip.
    """
    from . import progress as progress_
    from .models.explain_model import (ExplainContext, explain_sample,
                                       new_record)
    from .runs.config import load_class_names, read_checkpoint
    from .structures import VIDEO_ID_KEY, VIDEO_PATH_KEY
    if not video or not osp.isfile(video):
        raise RunError(f'video not found: {video}')
    cfg = _config(config, cfg_options)
    if isinstance(checkpoint, nn.Module):
        model, ckpt = checkpoint, None
    else:
        model = init_recognizer(cfg, checkpoint, device,
                                trust_checkpoint=trust_checkpoint)
        ckpt = read_checkpoint(checkpoint, trust_checkpoint) \
            if checkpoint else None
    exp = _explainer(explainer, cfg)
    data = _load_video(cfg, video)
    sample = data['data_samples']
    sample.set_metainfo({
        VIDEO_ID_KEY: osp.splitext(osp.basename(video))[0],
        VIDEO_PATH_KEY: video})
    record = new_record(sample)
    label = getattr(sample, 'gt_label', None)
    if label is not None and int(label.reshape(-1)[0]) < 0:
        record.label = None  # inference: no ground truth
    target = cfg.get('explain_target') if target is None else target
    view = cfg.get('explain_view', 'center') if view is None else view
    rep = progress_.make_reporter(record.video) if progress else None
    try:
        with progress_.reporting(rep):
            explain_sample(model, exp, data['inputs'], sample, record, view,
                           target)
    finally:
        if rep is not None:
            rep.finish()
    names = (load_class_names(cfg, ckpt, config if isinstance(config, str)
                              else None)
             or (getattr(model, 'dataset_meta', None) or {}).get('classes'))
    if names and 0 <= record.target < len(names):
        record.class_name = str(names[record.target])
    record.context = ExplainContext(model, exp)
    return record


def write_overlay(record, path: str,
                  class_names: Optional[Sequence[str]] = None,
                  alpha: float = 0.5) -> dict:
    """Draw ``record``'s overlay into ``path`` (an mp4; its 8-frame grid
    beside it as ``.png``): on the source video at its own size and frame
    rate when ``record.path`` and its geometry are readable, else on the
    explained clip.

    Args:
        record (SaliencyRecord): From :func:`explain_video` (or a run,
            with the recognizer in ``record.context`` for the fallback).
        path (str): The mp4 to write.
        class_names (sequence of str, optional): Default the record's
            ``class_name``.

    Returns:
        dict: ``video`` and ``grid`` paths, ``on_source``, ``why``.
    """
    from .explainers.base import denormalize
    from .visualization import save_overlay
    frames = None
    ctx = getattr(record, 'context', None)
    if record.clip is not None and ctx is not None:
        frames = denormalize(ctx.recognizer, record.clip)
    names = class_names
    if names is None and record.class_name:  # the target's name only
        names = [''] * record.target + [record.class_name]
    out_dir = osp.dirname(osp.abspath(path))
    name = osp.splitext(osp.basename(path))[0]
    return save_overlay(name, frames, record.saliency.numpy(), record.target,
                        record.score, names, alpha=alpha, out_dir=out_dir,
                        source=record.path, geometry=record.geometry,
                        method=record.method)
