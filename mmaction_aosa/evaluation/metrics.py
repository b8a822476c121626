"""Saliency metrics as mmengine ``BaseMetric``s in mmaction2's METRICS.

Each metric is one unit: :meth:`SaliencyMetric.measure` turns one
:class:`~mmaction_aosa.structures.SaliencyRecord` into a small per-video
row (running the model through the record's context where it must, e.g.
deletion and insertion), :meth:`SaliencyMetric.aggregate` turns rows into
the reported numbers, and :attr:`SaliencyMetric.columns` says which of them
go into the report's table. mmengine gathers every rank's rows before
``compute_metrics`` runs on rank 0, so the metrics work in a config's
``test_evaluator`` and under ``torchrun`` with nothing else to do. Rows are
also written to ``<out_dir>/<prefix>.jsonl``, from which tables are rebuilt
with the same :meth:`~SaliencyMetric.aggregate`
(:func:`~mmaction_aosa.evaluation.report.tables_from_records`).

A new metric is one subclass of :class:`SaliencyMetric` registered in
``METRICS``: ``tools/eval_saliency.py`` runs every registered one, and its
columns appear in the tables.
"""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type

import numpy as np
from mmengine.evaluator import BaseMetric

from mmaction.registry import METRICS

from ..fileio import write_lines
from ..structures import SaliencyRecord
from .deletion_insertion import DEFAULT_STEPS, deletion_insertion
from .pointing_game import (DEFAULT_TOLERANCE, GroundTruthBoxes,
                            boxes_in_clip, pointing_game)
from .sanity import cascade_randomization

#: Every registered SaliencyMetric subclass, in definition order.
_METRIC_CLASSES: List[Type['SaliencyMetric']] = []


def saliency_metric_classes() -> List[Type['SaliencyMetric']]:
    """The saliency metrics an eval run uses and its tables show."""
    return list(_METRIC_CLASSES)


class SaliencyMetric(BaseMetric):
    """Base of the saliency metrics: per-video rows, then an aggregate.

    Subclasses set ``default_prefix`` and :attr:`columns`, and implement
    :meth:`measure` and :meth:`aggregate`.

    Args:
        out_dir (str, optional): Write the per-video rows to
            ``<out_dir>/<prefix>.jsonl`` (rank 0, after gathering).
        collect_device (str): ``'cpu'`` or ``'gpu'`` (mmengine).
        prefix (str, optional): Metric name prefix.
    """

    #: Report columns: (key of the aggregate, heading, 'max' | 'min' |
    #: None: which value is best).
    columns: Sequence[Tuple[str, str, Optional[str]]] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _METRIC_CLASSES.append(cls)

    def __init__(self, out_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.out_dir = out_dir

    @classmethod
    def records_file(cls) -> str:
        return f'{cls.default_prefix}.jsonl'

    def measure(self, record: SaliencyRecord) -> Optional[dict]:
        """The per-video row of one record (None: nothing to keep)."""
        raise NotImplementedError

    @classmethod
    def aggregate(cls, rows: List[dict]) -> Dict[str, Any]:
        """The metric's numbers from per-video rows."""
        raise NotImplementedError

    def process(self, data_batch: Any, data_samples: Sequence) -> None:
        for rec in data_samples:
            row = self.measure(rec)
            if row is not None:
                self.results.append(row)

    def compute_metrics(self, results: list) -> dict:
        if self.out_dir:
            write_lines(osp.join(self.out_dir, self.records_file()), results)
        return self.aggregate(results)


def _mean(rows, key):
    return float(np.mean([r[key] for r in rows])) if rows else None


@METRICS.register_module()
class SaliencySummary(SaliencyMetric):
    """How many maps were made, failed, or done by an earlier run.

    Returns ``num_ok``, ``num_failed``, ``num_skipped``.
    """

    default_prefix = 'explain'

    def measure(self, record):
        return dict(video=record.video, status=record.status,
                    error=record.error)

    @classmethod
    def aggregate(cls, rows):
        return {f'num_{s}': sum(r['status'] == s for r in rows)
                for s in ('ok', 'failed', 'skipped')}


@METRICS.register_module()
class DeletionInsertion(SaliencyMetric):
    """Deletion, insertion and over-all AUC (RISE), mean over videos.

    Each map's curves are computed here, with the recognizer of the
    record's context (:func:`deletion_insertion`): after the map was made,
    outside its timing.

    Returns ``deletion``, ``insertion``, ``overall`` (insertion −
    deletion), ``num_videos`` and the mean curves ``deletion_curve``,
    ``insertion_curve`` (steps+1 points each).

    Args:
        steps (int): Steps per curve (paper: 28).
        batch_size (int): Perturbed clips per forward pass.
        fill_value (float): Deleted voxels' value (normalised space).
        **kwargs: See :class:`SaliencyMetric`.
    """

    default_prefix = 'deletion_insertion'
    columns = (('deletion', 'Deletion ↓', 'min'),
               ('insertion', 'Insertion ↑', 'max'),
               ('overall', 'Over-all ↑', 'max'))

    def __init__(self, steps: int = DEFAULT_STEPS, batch_size: int = 16,
                 fill_value: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.steps = int(steps)
        self.batch_size = int(batch_size)
        self.fill_value = float(fill_value)

    def measure(self, record):
        if not record.ok or record.context is None or record.clip is None:
            return None
        res = deletion_insertion(
            record.context.scorer(), record.clip, record.saliency,
            record.target, self.steps, self.batch_size, self.fill_value)
        return dict(video=record.video, label=record.label,
                    target=record.target, deletion=res['deletion'],
                    insertion=res['insertion'],
                    deletion_curve=res['deletion_curve'],
                    insertion_curve=res['insertion_curve'])

    @classmethod
    def aggregate(cls, rows):
        out = dict(num_videos=len(rows), deletion=_mean(rows, 'deletion'),
                   insertion=_mean(rows, 'insertion'))
        out['overall'] = (out['insertion'] - out['deletion']
                          if rows else None)
        for key in ('deletion_curve', 'insertion_curve'):
            out[key] = (np.mean([r[key] for r in rows], 0).round(5).tolist()
                        if rows else None)
        return out


@METRICS.register_module()
class SpatialPointingGame(SaliencyMetric):
    """Spatial pointing game (S-PT): per-frame hit rate of the map's argmax.

    Ground-truth boxes are found per video by :class:`GroundTruthBoxes`
    (the generated dataset's JSON next to the videos, or UCF101-24's
    ``pyannot.pkl``) and mapped through the explained view's sampling,
    resize and crop (the record's ``geometry``). Frames without a box are
    skipped; the rate is pooled over all evaluated frames of the dataset,
    and per class (the video's ground-truth label).

    Returns ``spt`` (None if no frame had a box), ``spt_per_class``
    (``{class: rate}``), ``spt_frames`` and ``spt_videos`` (videos with
    boxes).

    Args:
        boxes (str, optional): See :class:`GroundTruthBoxes`; ``'auto'``.
        ucf24_pkl (str, optional): UCF101-24 ``pyannot.pkl``.
        tolerance (float): Radius of the disk around the argmax (7 px).
        class_names (sequence of str, optional): Names for the per-class
            rates (default: the label indices as strings).
        **kwargs: See :class:`SaliencyMetric`.
    """

    default_prefix = 'pointing_game'
    columns = (('spt', 'S-PT ↑', 'max'), )

    def __init__(self,
                 boxes: Optional[str] = 'auto',
                 ucf24_pkl: Optional[str] = None,
                 tolerance: float = DEFAULT_TOLERANCE,
                 class_names: Optional[Sequence[str]] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.source = GroundTruthBoxes(boxes, ucf24_pkl)
        self.tolerance = float(tolerance)
        self.class_names = list(class_names) if class_names else None

    def measure(self, record):
        row = dict(video=record.video, label=record.label, hits=0, frames=0)
        if record.ok:
            boxes = self.source(record.path)
            if boxes:
                hits = pointing_game(
                    record.saliency,
                    boxes_in_clip(record.geometry, boxes, record.view),
                    self.tolerance)
                row.update(hits=int(sum(hits.values())), frames=len(hits))
        if self.class_names and row['label'] is not None and \
                0 <= row['label'] < len(self.class_names):
            row['class_name'] = self.class_names[row['label']]
        return row

    @classmethod
    def aggregate(cls, rows):
        frames = sum(r['frames'] for r in rows)
        per_class = {}
        for lab in sorted({r['label'] for r in rows
                           if r['frames'] and r['label'] is not None}):
            rs = [r for r in rows if r['label'] == lab]
            name = rs[0].get('class_name', str(lab))
            per_class[name] = (sum(r['hits'] for r in rs) /
                               sum(r['frames'] for r in rs))
        return dict(
            spt=sum(r['hits'] for r in rows) / frames if frames else None,
            spt_per_class=per_class, spt_frames=frames,
            spt_videos=sum(r['frames'] > 0 for r in rows))


@METRICS.register_module()
class TimePerMap(SaliencyMetric):
    """Wall time per map (the record's ``seconds``), mean and median.

    The mean includes each rank's first map, which pays one-time costs
    (allocations, lazy initialisation); the median does not depend on it
    nor on short stalls of a shared machine. Maps read from disk report the
    seconds recorded when they were computed.

    Returns ``seconds_per_map`` and ``seconds_per_map_median``.
    """

    default_prefix = 'time'
    columns = (('seconds_per_map', 'Time / map (s) ↓', 'min'), )

    def measure(self, record):
        if record.ok and record.seconds is not None:
            return dict(video=record.video, seconds=float(record.seconds))
        return None

    @classmethod
    def aggregate(cls, rows):
        secs = [r['seconds'] for r in rows]
        return dict(seconds_per_map=float(np.mean(secs)) if secs else None,
                    seconds_per_map_median=float(np.median(secs))
                    if secs else None)


@METRICS.register_module()
class CascadeRandomization(SaliencyMetric):
    """The sanity check: Spearman correlation per randomised stage.

    For the first ``num_videos`` videos each rank sees, the model is
    randomised from the head down (:func:`cascade_randomization`, on a
    copy) and the map made again with the record's explainer.

    Returns ``sanity``: ``[{'stage', 'spearman', 'num_videos'}]`` (mean
    over the checked videos; empty when none was checked).

    Args:
        num_videos (int): Videos to check per rank (0: none).
        stages (sequence of str, optional): Subset of stages.
        **kwargs: See :class:`SaliencyMetric`.
    """

    default_prefix = 'sanity'

    def __init__(self, num_videos: int = 0,
                 stages: Optional[Sequence[str]] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_videos = int(num_videos)
        self.stages = stages
        self._done = 0

    def measure(self, record):
        if (self._done >= self.num_videos or not record.ok
                or record.context is None
                or record.context.explainer is None):
            return None
        self._done += 1
        rows = cascade_randomization(
            record.context.explainer, record.context.recognizer, record.clip,
            record.target, original=record.saliency, stages=self.stages)
        return dict(video=record.video, rows=rows)

    @classmethod
    def aggregate(cls, rows):
        order, vals = [], {}
        for r in rows:
            for row in r['rows']:
                if row['stage'] not in vals:
                    order.append(row['stage'])
                    vals[row['stage']] = []
                vals[row['stage']].append(float(row['spearman']))
        return dict(sanity=[
            dict(stage=st, spearman=float(np.mean(vals[st])),
                 num_videos=len(vals[st])) for st in order])

