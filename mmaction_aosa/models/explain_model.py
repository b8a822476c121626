"""The model of an explain or eval run: a recognizer and an explainer.

:class:`ExplainModel` is what ``tools/explain.py`` and
``tools/eval_saliency.py`` give mmengine's Runner as its model. Its
``test_step`` turns each test sample into a
:class:`~mmaction_aosa.structures.SaliencyRecord`: it runs the recognizer's
own data_preprocessor once, splits the sample into views and picks one
(the recognizer's adapter knows how: a 3D model's clips, a 2D model's
segments), and asks the explainer for the map (or reads the map an earlier
run saved). Failures become records with an error; they never stop the
run.
"""
import contextlib
import os.path as osp
import time
from dataclasses import dataclass
from typing import List, Optional, Union

import torch
from mmengine.model import BaseModel
from torch import nn

from mmaction.registry import MODELS

from .. import progress
from ..adapters import attach_adapter, get_adapter, pick_view
from ..registry import build_explainer
from ..scoring import Scorer
from ..structures import (ERROR_KEY, VIDEO_ID_KEY, VIDEO_PATH_KEY,
                          SaliencyRecord, explainer_misfit)

__all__ = ['ExplainContext', 'ExplainModel', 'explain_sample', 'load_sample',
           'new_record', 'pick_view', 'preprocess']


@dataclass
class ExplainContext:
    """What metrics that run the model need: the recognizer and the
    explainer (None when every map is read from disk)."""
    recognizer: nn.Module
    explainer: Optional[object] = None

    def scorer(self) -> Scorer:
        return Scorer(self.recognizer)


def _label(sample) -> Optional[int]:
    lab = getattr(sample, 'gt_label', None)
    if lab is None:
        return None
    try:
        return int(lab.reshape(-1)[0])
    except (IndexError, TypeError, ValueError, AttributeError):
        return None


def new_record(sample) -> SaliencyRecord:
    """An empty record for a test sample (its id, path, label, error)."""
    meta = sample.metainfo
    rec = SaliencyRecord(video=meta.get(VIDEO_ID_KEY, 'video'),
                         path=meta.get(VIDEO_PATH_KEY), label=_label(sample))
    if meta.get(ERROR_KEY):
        rec.fail(meta[ERROR_KEY])
    return rec


def preprocess(recognizer: nn.Module, inputs, sample, view):
    """The recognizer's data_preprocessor on one raw sample, split into
    views by the recognizer's adapter; one view picked.

    Returns:
        tuple: the chosen view's clip C×T×H×W (normalised), the view index,
        and the view's geometry (source frames, resize, crop).
    """
    batch = recognizer.data_preprocessor(
        dict(inputs=[inputs], data_samples=[sample]), False)
    meta = batch['data_samples'][0].metainfo
    adapter = get_adapter(recognizer)
    views = adapter.split_views(recognizer, batch['inputs'][0], meta)
    v = adapter.pick_view(views, meta, view)
    clip = views[v]
    return clip, v, adapter.view_geometry(meta, v, clip.shape[1])


def explain_sample(recognizer: nn.Module, explainer, inputs, sample,
                   record: SaliencyRecord,
                   view: Union[str, int] = 'center',
                   target: Optional[int] = None) -> SaliencyRecord:
    """Preprocess one raw test sample, explain one view, fill the record.

    Args:
        recognizer: mmaction2 recognizer (its data_preprocessor is used).
        explainer: A built explainer.
        inputs (Tensor): The raw views×C×T×H×W uint8 clip from the pipeline.
        sample (ActionDataSample): Its data sample.
        record (SaliencyRecord): Filled in place and returned.
        view (str | int): See :func:`pick_view`.
        target (int, optional): Class to explain; default the top-1.
    """
    start = time.perf_counter()
    clip, v, geometry = preprocess(recognizer, inputs, sample, view)
    prep = time.perf_counter() - start
    # the clip size is known only now when the pipeline does not fix it
    misfit = explainer_misfit(explainer.params(), *clip.shape[-2:])
    if misfit:
        raise ValueError(misfit)
    exp = explainer.explain_full(recognizer, clip, target)
    seconds = time.perf_counter() - start
    timings = dict(exp.timings, preprocess=prep)
    staged = sum(val for key, val in timings.items()
                 if isinstance(val, float) and not key.startswith('num_'))
    timings['overhead'] = max(seconds - staged, 0.0)
    record.saliency = exp.saliency
    record.target, record.score, record.probs = (exp.target, exp.score,
                                                 exp.probs)
    record.method, record.params = explainer.name, explainer.params()
    record.view, record.seconds, record.timings = v, seconds, timings
    record.geometry = geometry
    record.clip = clip.detach().cpu()
    return record


def load_sample(recognizer: nn.Module, inputs, sample, record: SaliencyRecord,
                path: str) -> SaliencyRecord:
    """Fill ``record`` from a saved map of this sample (``path``).

    The clip is preprocessed again (metrics need it) and the target's
    probability is scored again on it; the map's recorded seconds are kept.
    """
    saved = SaliencyRecord.from_npz(path, record.video)
    clip, v, geometry = preprocess(recognizer, inputs, sample, saved.view)
    if tuple(saved.saliency.shape) != tuple(clip.shape[1:]):
        raise ValueError(f'the map in {path} is {tuple(saved.saliency.shape)}'
                         f', the clip is {tuple(clip.shape[1:])}')
    with torch.no_grad():
        probs = Scorer(recognizer).probs(clip[None])[0].cpu()
    record.saliency, record.target = saved.saliency, saved.target
    record.score, record.probs = float(probs[saved.target]), probs
    record.method, record.params = saved.method, saved.params
    record.view, record.seconds, record.timings = (v, saved.seconds,
                                                   saved.timings)
    record.geometry = geometry
    record.clip = clip.detach().cpu()
    return record


@MODELS.register_module()
class ExplainModel(BaseModel):
    """Explain (or read the map of) each test clip; return records.

    ``test_step`` returns one :class:`SaliencyRecord` per input sample;
    records carry an :class:`ExplainContext` for metrics that run the model
    (deletion/insertion, the sanity check).

    Args:
        recognizer (dict): Config of the mmaction2 recognizer.
        explainer (dict, optional): Config of an explainer in
            ``EXPLAINERS``; may be None when every map is read.
        view (str | int): Which view of a multi-view sample to explain.
        target (int, optional): Class to explain; default the top-1.
        maps_dir (str, optional): Read ``<maps_dir>/<video_id>.npz`` when
            it exists instead of explaining.
        require_maps (bool): A video without a map there fails instead of
            being explained.
        adapter (dict, optional): The recognizer's adapter
            (``dict(type=...)`` of a registered one, or arguments of the
            automatic choice, e.g. ``dict(cam_layer='backbone.layer3')``);
            default the automatic choice (docs/architecture.md).
    """

    def __init__(self,
                 recognizer: dict,
                 explainer: Optional[dict] = None,
                 view: Union[str, int] = 'center',
                 target: Optional[int] = None,
                 maps_dir: Optional[str] = None,
                 require_maps: bool = False,
                 adapter: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if explainer is None and not (maps_dir and require_maps):
            raise ValueError('ExplainModel needs an explainer unless every '
                             'map is read (maps_dir and require_maps)')
        self.recognizer = MODELS.build(recognizer)
        if adapter is not None:
            attach_adapter(self.recognizer, adapter)
        # share the recognizer's preprocessor (normalisation, NCTHW stacking)
        self.data_preprocessor = self.recognizer.data_preprocessor
        self.explainer = None if explainer is None else build_explainer(
            explainer)
        self.view = view
        self.target = target
        self.maps_dir = maps_dir
        self.require_maps = require_maps
        #: Where the progress inside each map goes (the runner's logger,
        #: set by RecordWriterHook); None: silent (mmaction_aosa.progress)
        self.progress_logger = None

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        return self.recognizer(inputs, data_samples, mode=mode)

    def _saved_map(self, video: str) -> Optional[str]:
        if not self.maps_dir:
            return None
        path = osp.join(self.maps_dir, f'{video}.npz')
        return path if osp.isfile(path) else None

    def _progress(self, video: str):
        if self.progress_logger is None:
            return contextlib.nullcontext()
        return progress.for_map(video, self.progress_logger)

    def test_step(self, data: dict) -> List[SaliencyRecord]:
        context = ExplainContext(self.recognizer, self.explainer)
        records = []
        for inputs, sample in zip(data['inputs'], data['data_samples']):
            rec = new_record(sample)
            rec.context = context
            records.append(rec)
            if rec.error is not None:
                continue
            try:
                path = self._saved_map(rec.video)
                if path is not None:
                    load_sample(self.recognizer, inputs, sample, rec, path)
                elif self.require_maps or self.explainer is None:
                    raise FileNotFoundError(
                        f'no map {rec.video}.npz in {self.maps_dir}')
                else:
                    with self._progress(rec.video):
                        explain_sample(self.recognizer, self.explainer,
                                       inputs, sample, rec, self.view,
                                       self.target)
            except Exception as exc:  # noqa: BLE001 - recorded per video
                rec.fail(f'{type(exc).__name__}: {exc}')
        return records
