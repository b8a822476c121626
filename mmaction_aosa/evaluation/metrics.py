"""Saliency metrics as mmengine ``BaseMetric``s in mmaction2's METRICS.

Each metric keeps one small record per video in :meth:`process` (on every
rank) and aggregates in :meth:`compute_metrics`, which mmengine runs once
on rank 0 after gathering every rank's records; so they work in a config's
``test_evaluator`` and under ``torchrun`` with nothing else to do.

Deletion and insertion need the recognizer, which a metric never sees: the
per-video curves are computed where the model is, by
:class:`~mmaction_aosa.evaluation.SaliencyEvaluator` (its ``test_step``),
and arrive here in the samples' metainfo (``aosa_deletion_curve``,
``aosa_insertion_curve``). The pointing game needs only the map and the
clip's geometry, so it runs in :meth:`SpatialPointingGame.process`.
"""
import json
import os
import os.path as osp
from typing import Any, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from mmaction.registry import METRICS

from .deletion_insertion import auc
from .pointing_game import (DEFAULT_TOLERANCE, GroundTruthBoxes,
                            boxes_in_clip, pointing_game)


def _label(s: dict) -> Optional[int]:
    lab = s.get('gt_label')
    if lab is None:
        return None
    try:
        return int(np.asarray(lab.cpu() if hasattr(lab, 'cpu') else lab)
                   .ravel()[0])
    except (IndexError, TypeError, ValueError):
        return None


def _ok(s: dict) -> bool:
    return not s.get('aosa_error') and not s.get('aosa_skipped')


def _write_lines(path: Optional[str], rows: List[dict]) -> None:
    if not path:
        return
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        for r in rows:
            f.write(json.dumps(r, default=float) + '\n')


@METRICS.register_module()
class DeletionInsertion(BaseMetric):
    """Deletion, insertion and over-all AUC (RISE), mean over videos.

    Reads the curves that :class:`SaliencyEvaluator` put in each sample's
    metainfo; samples without curves (failed videos) are counted apart.

    ``compute_metrics`` returns ``deletion``, ``insertion``, ``overall``
    (= insertion − deletion), ``num_videos``, ``num_missing`` and the mean
    curves ``deletion_curve``, ``insertion_curve`` (lists, steps+1 points).

    Args:
        out_file (str, optional): Write one JSON line per video here (rank 0,
            after gathering).
        collect_device (str): ``'cpu'`` or ``'gpu'`` (mmengine).
        prefix (str, optional): Metric name prefix; default
            ``'deletion_insertion'``.
    """

    default_prefix = 'deletion_insertion'

    def __init__(self, out_file: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.out_file = out_file

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for s in data_samples:
            dc = s.get('aosa_deletion_curve')
            ic = s.get('aosa_insertion_curve')
            if not _ok(s) or dc is None or ic is None:
                self.results.append(dict(video=s.get('video_id'),
                                         missing=True))
                continue
            dc = [float(v) for v in np.asarray(dc).ravel()]
            ic = [float(v) for v in np.asarray(ic).ravel()]
            self.results.append(dict(
                video=s.get('video_id'), label=_label(s),
                target=s.get('aosa_target'), deletion=auc(dc),
                insertion=auc(ic), deletion_curve=dc, insertion_curve=ic,
                missing=False))

    def compute_metrics(self, results: list) -> dict:
        ok = [r for r in results if not r['missing']]
        _write_lines(self.out_file, ok)
        out = dict(num_videos=len(ok), num_missing=len(results) - len(ok))
        if not ok:
            out.update(deletion=None, insertion=None, overall=None,
                       deletion_curve=None, insertion_curve=None)
            return out
        d = float(np.mean([r['deletion'] for r in ok]))
        i = float(np.mean([r['insertion'] for r in ok]))
        out.update(
            deletion=d, insertion=i, overall=i - d,
            deletion_curve=np.mean([r['deletion_curve'] for r in ok],
                                   0).round(5).tolist(),
            insertion_curve=np.mean([r['insertion_curve'] for r in ok],
                                    0).round(5).tolist())
        return out


@METRICS.register_module()
class SpatialPointingGame(BaseMetric):
    """Spatial pointing game (S-PT): per-frame hit rate of the map's argmax.

    Ground-truth boxes are found per video by :class:`GroundTruthBoxes`
    (the generated dataset's JSON next to the videos, or UCF101-24's
    ``pyannot.pkl``) and mapped through the clip's sampling, resize and crop
    (``frame_inds``, ``scale_factor``, ``crop_bbox`` in the metainfo: keep
    them with :func:`add_geometry_meta_keys`). Frames without a box are
    skipped; the rate is pooled over all evaluated frames of the dataset,
    and per class (the video's ground-truth label).

    ``compute_metrics`` returns ``spt`` (None if no frame had a box),
    ``spt_per_class`` (``{class: rate}``), ``num_frames``,
    ``num_videos_with_boxes``, ``num_videos``.

    Args:
        boxes (str, optional): See :class:`GroundTruthBoxes`; ``'auto'``.
        ucf24_pkl (str, optional): UCF101-24 ``pyannot.pkl``.
        tolerance (float): Radius of the disk around the argmax (7 px).
        class_names (sequence of str, optional): Names for the per-class
            rates (default: the label indices as strings).
        out_file (str, optional): One JSON line per video (rank 0).
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str, optional): Default ``'pointing_game'``.
    """

    default_prefix = 'pointing_game'

    def __init__(self,
                 boxes: Optional[str] = 'auto',
                 ucf24_pkl: Optional[str] = None,
                 tolerance: float = DEFAULT_TOLERANCE,
                 class_names: Optional[Sequence[str]] = None,
                 out_file: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.source = GroundTruthBoxes(boxes, ucf24_pkl)
        self.tolerance = float(tolerance)
        self.class_names = list(class_names) if class_names else None
        self.out_file = out_file

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for s in data_samples:
            rec = dict(video=s.get('video_id'), label=_label(s), hits=0,
                       frames=0, has_boxes=False, ok=_ok(s))
            sal = s.get('saliency')
            if rec['ok'] and sal is not None:
                boxes = self.source(s.get('video_path'))
                if boxes:
                    clip_boxes = boxes_in_clip(s, boxes,
                                               int(s.get('aosa_view') or 0))
                    hits = pointing_game(sal, clip_boxes, self.tolerance)
                    rec.update(has_boxes=True, hits=int(sum(hits.values())),
                               frames=len(hits))
            self.results.append(rec)

    def _name(self, label: int) -> str:
        if self.class_names and 0 <= label < len(self.class_names):
            return self.class_names[label]
        return str(label)

    def compute_metrics(self, results: list) -> dict:
        _write_lines(self.out_file, results)
        frames = sum(r['frames'] for r in results)
        per_class = {}
        for lab in sorted({r['label'] for r in results
                           if r['frames'] and r['label'] is not None}):
            rs = [r for r in results if r['label'] == lab]
            n = sum(r['frames'] for r in rs)
            per_class[self._name(lab)] = sum(r['hits'] for r in rs) / n
        return dict(
            spt=sum(r['hits'] for r in results) / frames if frames else None,
            spt_per_class=per_class, num_frames=frames,
            num_videos_with_boxes=sum(r['has_boxes'] for r in results),
            num_videos=sum(r['ok'] for r in results))


@METRICS.register_module()
class CascadeRandomization(BaseMetric):
    """Mean Spearman correlation per randomised stage (sanity check).

    Reads ``aosa_sanity`` (``[{'stage', 'spearman'}]``) that
    :class:`SaliencyEvaluator` computes for its first ``sanity_videos``
    videos; returns ``{'stages': [{'stage', 'spearman', 'num_videos'}]}``
    (empty when no video was checked).
    """

    default_prefix = 'sanity'

    def __init__(self, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for s in data_samples:
            rows = s.get('aosa_sanity')
            if rows and _ok(s):
                self.results.append(dict(video=s.get('video_id'),
                                         rows=list(rows)))

    def compute_metrics(self, results: list) -> dict:
        order, vals = [], {}
        for r in results:
            for row in r['rows']:
                if row['stage'] not in vals:
                    order.append(row['stage'])
                    vals[row['stage']] = []
                vals[row['stage']].append(float(row['spearman']))
        return dict(stages=[
            dict(stage=st, spearman=float(np.mean(vals[st])),
                 num_videos=len(vals[st])) for st in order])


@METRICS.register_module()
class TimePerMap(BaseMetric):
    """Wall time per map (``aosa_seconds``), mean and median over videos.

    The mean includes each rank's first map, which pays one-time costs
    (allocations, lazy initialisation); the median does not depend on it
    nor on short stalls of a shared machine. Maps read from disk report the
    seconds recorded when they were computed.
    """

    default_prefix = 'time'

    def __init__(self, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for s in data_samples:
            if _ok(s) and s.get('aosa_seconds') is not None:
                self.results.append(float(s['aosa_seconds']))

    def compute_metrics(self, results: list) -> dict:
        if not results:
            return dict(seconds_per_map=None, seconds_per_map_median=None)
        return dict(seconds_per_map=float(np.mean(results)),
                    seconds_per_map_median=float(np.median(results)))
