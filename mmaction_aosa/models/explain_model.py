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
from typing import List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModel
from torch import nn

from mmaction.registry import MODELS

from .. import progress
from ..adapters import attach_adapter, get_adapter, pick_view
from ..registry import build_explainer
from ..scoring import Scorer
from ..structures import (ERROR_KEY, VIDEO_DIGEST_KEY, VIDEO_ID_KEY,
                          VIDEO_PATH_KEY, VIDEO_STAT_KEY, MapFileError,
                          SaliencyRecord, explainer_misfit)
from ..workdir import (FINGERPRINT_KEYS, MapCheck, MapMismatch, plain,
                       saliency_problem)

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


def sample_provenance(sample, run: Optional[dict] = None) -> dict:
    """A map's provenance for a test sample: the run's (``run``: the
    digests of its fingerprint parts, ``checkpoint_sha256``) and the
    video's (absolute path, content digest)."""
    meta = sample.metainfo
    path = meta.get(VIDEO_PATH_KEY)
    return dict(run or {}, video=osp.abspath(path) if path else None,
                video_digest=meta.get(VIDEO_DIGEST_KEY),
                video_stat=meta.get(VIDEO_STAT_KEY))


def explain_sample(recognizer: nn.Module, explainer, inputs, sample,
                   record: SaliencyRecord,
                   view: Union[str, int] = 'center',
                   target: Optional[int] = None,
                   provenance: Optional[dict] = None) -> SaliencyRecord:
    """Preprocess one raw test sample, explain one view, fill the record.

    Args:
        recognizer: mmaction2 recognizer (its data_preprocessor is used).
        explainer: A built explainer.
        inputs (Tensor): The raw views×C×T×H×W uint8 clip from the pipeline.
        sample (ActionDataSample): Its data sample.
        record (SaliencyRecord): Filled in place and returned.
        view (str | int): See :func:`pick_view`.
        target (int, optional): Class to explain; default the top-1.
        provenance (dict, optional): The run's part of the map's
            provenance (:func:`sample_provenance`).
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
    record.provenance = sample_provenance(sample, provenance)
    record.clip = clip.detach().cpu()
    return record


def _geometry_difference(saved: dict, now: dict) -> Optional[str]:
    saved, now = plain(saved or {}), plain(now or {})
    for key in sorted(set(saved) | set(now)):
        if saved.get(key) != now.get(key):
            return key
    return None


def load_sample(recognizer: nn.Module, inputs, sample, record: SaliencyRecord,
                path: str, view: Union[str, int, None] = None,
                check: Optional[MapCheck] = None) -> SaliencyRecord:
    """Fill ``record`` from a saved map of this sample (``path``), after
    checking that the map belongs to it.

    The map must be readable and finite, have the clip's shape, and (with
    ``check``) carry the run's provenance, and the content digest of this
    sample's video; with ``view``, the view it explains (index and
    geometry: frames, resize, crop) must be the one this run explains. The
    clip is preprocessed again (metrics need it) and the target's
    probability is scored again on it; the map's recorded seconds are kept.

    Args:
        view (str | int, optional): The view this run explains; None: the
            map's own.
        check (MapCheck, optional): The provenance the map must carry.

    Raises:
        MapFileError: The file is not a readable map.
        MapMismatch: The map belongs to another run, video or view, or is
            not finite. Both name the file.
    """
    saved = SaliencyRecord.from_npz(path, record.video)
    problem = saliency_problem(saved.saliency.numpy())
    if problem is None and check is not None:
        problem = check.provenance_problem(dict(
            provenance=saved.provenance, method=saved.method,
            params=saved.params))
    digest = sample.metainfo.get(VIDEO_DIGEST_KEY)
    if problem is None and check is not None and digest and \
            saved.provenance.get('video_digest') != digest:
        problem = ('it is the map of another video (the content of '
                   f"{sample.metainfo.get(VIDEO_PATH_KEY)} differs)")
    if problem:
        raise MapMismatch(f'map {path}: {problem}')
    clip, v, geometry = preprocess(
        recognizer, inputs, sample, saved.view if view is None else view)
    if v != saved.view:
        raise MapMismatch(f'map {path}: its explained view differs (view '
                          f'{saved.view} there, {v} here)')
    key = None if view is None else _geometry_difference(saved.geometry,
                                                         geometry)
    if key:
        raise MapMismatch(f"map {path}: its explained view differs (its "
                          f'geometry.{key})')
    if tuple(saved.saliency.shape) != tuple(clip.shape[1:]):
        raise MapMismatch(f'the map in {path} is '
                          f'{tuple(saved.saliency.shape)}, the clip is '
                          f'{tuple(clip.shape[1:])}')
    with torch.no_grad():
        probs = Scorer(recognizer).probs(clip[None])[0].cpu()
    record.saliency, record.target = saved.saliency, saved.target
    record.score, record.probs = float(probs[saved.target]), probs
    record.method, record.params = saved.method, saved.params
    record.view, record.seconds, record.timings = (v, saved.seconds,
                                                   saved.timings)
    record.geometry = geometry
    record.provenance = saved.provenance
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
        require_maps (bool): A video without a map there, or with a map
            that does not pass :func:`load_sample`'s checks, fails instead
            of being explained (again).
        provenance (dict, optional): The run's provenance, saved in every
            map it makes: ``run`` (the digests of its fingerprint parts,
            ``mmaction_aosa/workdir.py``) and ``checkpoint_sha256``. Given,
            a saved map is read only if it carries the same parts
            (``verify_keys``), the explainer's method and arguments and
            this video's content digest.
        verify_keys (sequence of str, optional): The parts of ``run`` a
            saved map must share (default all).
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
                 provenance: Optional[dict] = None,
                 verify_keys: Optional[Sequence[str]] = None,
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
        #: video id → why its saved map was not trusted (set by the run
        #: that checked the maps; the video's summary line says it)
        self.redo_notes = {}
        self.set_provenance(provenance, verify_keys)

    def set_provenance(self, provenance: Optional[dict],
                       verify_keys: Optional[Sequence[str]] = None) -> None:
        """Set the run's provenance (see the class's arguments). The run
        layer sets it on the built model rather than in its config: the
        digests would make the Runner's config dump slow to format."""
        self.provenance = dict(provenance) if provenance else None
        self.check = None
        if self.provenance is not None:
            self.check = MapCheck(
                parts=dict(self.provenance.get('run') or {}),
                keys=tuple(FINGERPRINT_KEYS if verify_keys is None
                           else verify_keys),
                method=getattr(self.explainer, 'name', None),
                params=None if self.explainer is None else
                self.explainer.params())

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
                    try:
                        load_sample(self.recognizer, inputs, sample, rec,
                                    path, self.view, self.check)
                        continue
                    except (MapFileError, MapMismatch) as exc:
                        if self.require_maps or self.explainer is None:
                            raise
                        redo = f'saved map explained again: {exc}'
                elif self.require_maps or self.explainer is None:
                    raise FileNotFoundError(
                        f'no map {rec.video}.npz in {self.maps_dir}')
                else:
                    redo = self.redo_notes.get(rec.video)
                    redo = redo and f'saved map explained again: {redo}'
                with self._progress(rec.video):
                    explain_sample(self.recognizer, self.explainer, inputs,
                                   sample, rec, self.view, self.target,
                                   self.provenance)
                rec.warning = redo
            except Exception as exc:  # noqa: BLE001 - recorded per video
                rec.fail(f'{type(exc).__name__}: {exc}')
        return records
