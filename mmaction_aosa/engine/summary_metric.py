"""Counts of explained, failed and skipped videos, gathered over ranks."""
from typing import Any, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from mmaction.registry import METRICS


@METRICS.register_module()
class SaliencySummary(BaseMetric):
    """Test 'metric' of an explain run: how many maps, failures, seconds.

    Works under ``torchrun``: results of every rank are gathered before
    :meth:`compute_metrics` runs on rank 0.
    """

    default_prefix = 'explain'

    def __init__(self, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for s in data_samples:
            if s.get('aosa_error'):
                status = 'failed'
            elif s.get('aosa_skipped'):
                status = 'skipped'
            else:
                status = 'ok'
            self.results.append(
                dict(video=s.get('video_id'), status=status,
                     seconds=float(s.get('aosa_seconds') or 0.0)))

    def compute_metrics(self, results: list) -> dict:
        ok = [r for r in results if r['status'] == 'ok']
        return dict(
            num_ok=len(ok),
            num_failed=sum(r['status'] == 'failed' for r in results),
            num_skipped=sum(r['status'] == 'skipped' for r in results),
            seconds_per_map=float(np.mean([r['seconds'] for r in ok]))
            if ok else 0.0)
