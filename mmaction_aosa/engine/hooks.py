"""Hooks that write per-video saliency outputs during ``runner.test()``."""
import os.path as osp
from typing import Optional, Sequence

import numpy as np
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mmaction.registry import HOOKS

from .io import append_line, save_map


def _meta(sample, key, default=None):
    meta = sample.metainfo if hasattr(sample, 'metainfo') else sample
    return meta.get(key, default)


@HOOKS.register_module()
class SaliencyWriterHook(Hook):
    """Write each explained video's map, overlay and summary line.

    For every sample returned by :class:`SaliencyRecognizer`:
    ``<out_dir>/maps/<video_id>.npz`` (saliency T×H×W, target, score,
    method, params, ...), ``<out_dir>/vis/<video_id>.mp4`` (heat-map
    overlay, unless ``vis=False``) and one JSON line in
    ``<out_dir>/summary.json`` (video, target, score, seconds, status,
    error). Files are written atomically; each rank writes its own videos.

    Args:
        out_dir (str, optional): Output root; default the runner's work_dir.
        vis (bool): Write overlay videos.
        class_names (Sequence[str], optional): For overlay labels.
        fps (float): Frame rate of overlay videos.
    """

    priority = 'NORMAL'

    def __init__(self, out_dir: Optional[str] = None, vis: bool = True,
                 class_names: Optional[Sequence[str]] = None,
                 fps: float = 8.0):
        self.out_dir = out_dir
        self.vis = vis
        self.class_names = list(class_names) if class_names else None
        self.fps = fps
        self.counts = dict(ok=0, failed=0, skipped=0)

    def before_test(self, runner) -> None:
        self.out_dir = self.out_dir or runner.work_dir
        self.counts = dict(ok=0, failed=0, skipped=0)
        self.total = len(runner.test_dataloader.dataset)

    def _explainer_info(self, runner):
        from ..scoring import unwrap
        model = unwrap(runner.model)
        exp = getattr(model, 'explainer', None)
        return (exp.name if exp else 'unknown',
                exp.params() if exp else {})

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        method, params = self._explainer_info(runner)
        for sample in outputs or []:
            try:
                self.write_sample(runner, sample, method, params)
            except Exception as exc:  # noqa: BLE001 - one video, not the run
                first = (str(exc).strip().splitlines() or [''])[0]
                sample.set_metainfo(dict(
                    aosa_error=f'writing outputs failed: '
                    f'{type(exc).__name__}: {first}'[:500]))
                self.write_sample(runner, sample, method, params)

    def write_sample(self, runner, sample, method: str,
                     params: dict) -> str:
        """Write one sample's outputs; returns its status."""
        vid = _meta(sample, 'video_id', 'video')
        path = _meta(sample, 'video_path')
        error = _meta(sample, 'aosa_error')
        record = dict(video=vid, path=path, method=method, rank=get_rank())
        done = sum(self.counts.values()) + 1
        if _meta(sample, 'aosa_skipped'):
            self.counts['skipped'] += 1
            runner.logger.info(f'[{done}/{self.total}] {vid}: already done')
            return 'skipped'
        if error:
            self.counts['failed'] += 1
            record.update(target=None, score=None, seconds=None,
                          status='failed', error=error)
            append_line(osp.join(self.out_dir, 'summary.json'), record)
            runner.logger.warning(f'[{done}/{self.total}] {vid}: FAILED: '
                                  f'{error}')
            return 'failed'
        sal = _meta(sample, 'saliency').numpy()
        target = int(_meta(sample, 'aosa_target'))
        score = float(_meta(sample, 'aosa_score'))
        seconds = float(_meta(sample, 'aosa_seconds'))
        probs = _meta(sample, 'aosa_probs')
        if self.vis:
            self._write_overlay(runner, vid, sample, sal, target, score)
        save_map(
            osp.join(self.out_dir, 'maps', f'{vid}.npz'), sal,
            target=target, score=score, method=method, params=params,
            view=int(_meta(sample, 'aosa_view', 0)), seconds=seconds,
            video=path or '',
            probs=probs.numpy() if probs is not None else np.zeros(0),
            timings=dict(_meta(sample, 'aosa_timings', {}) or {}))
        record.update(target=target, score=score, seconds=round(seconds, 4),
                      status='ok', error=None)
        append_line(osp.join(self.out_dir, 'summary.json'), record)
        self.counts['ok'] += 1
        runner.logger.info(f'[{done}/{self.total}] {vid}: target {target} '
                           f'p={score:.3f} in {seconds:.1f}s')
        return 'ok'

    def _write_overlay(self, runner, vid, sample, sal, target, score):
        from ..explainers.base import denormalize
        from ..scoring import unwrap
        from ..visualization import label_text, overlay_frames, write_video
        clip = _meta(sample, 'aosa_clip')
        if clip is None:
            return
        model = unwrap(runner.model)
        frames = denormalize(getattr(model, 'recognizer', model), clip)
        video = overlay_frames(frames, sal,
                               text=label_text(target, score,
                                               self.class_names))
        write_video(osp.join(self.out_dir, 'vis', f'{vid}.mp4'), video,
                    self.fps)
