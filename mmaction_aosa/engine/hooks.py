"""Hooks that write per-video saliency outputs during ``runner.test()``.

* :class:`SaliencyWriterHook` writes what :class:`SaliencyRecognizer`
  computed (the path of ``tools/explain.py``).
* :class:`SaliencyHook` explains the clips of any ordinary mmaction2 test
  run itself: add ``custom_hooks = [dict(type='SaliencyHook')]`` to a test
  config and ``runner.test()`` writes maps and overlays beside its metrics.
"""
import os.path as osp
import time
from typing import Optional, Sequence, Union

import numpy as np
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mmaction.registry import HOOKS

from .io import append_line, save_map


def _meta(sample, key, default=None):
    meta = sample.metainfo if hasattr(sample, 'metainfo') else sample
    return meta.get(key, default)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [''])[0]


class _WriterMixin:
    """Writes maps, overlays and summary lines for annotated samples."""

    def _setup_writer(self, out_dir, vis, class_names, out_type):
        self.out_dir = out_dir
        self.vis = vis
        self.class_names = list(class_names) if class_names else None
        self.out_type = out_type
        self.counts = dict(ok=0, failed=0, skipped=0)
        self.total = 0

    def _begin(self, runner):
        self.out_dir = self.out_dir or runner.work_dir
        self.counts = dict(ok=0, failed=0, skipped=0)
        self.total = len(runner.test_dataloader.dataset)

    def _visualizer(self, runner):
        from ..visualization import SaliencyVisualizer
        vis = getattr(runner, 'visualizer', None)
        if isinstance(vis, SaliencyVisualizer):
            if self.class_names and not vis.class_names:
                vis.class_names = self.class_names
            return vis
        return SaliencyVisualizer.get_instance(
            'aosa_saliency_visualizer', class_names=self.class_names)

    def write_sample(self, runner, sample, recognizer, method: str,
                     params: dict) -> str:
        """Write one sample's outputs; returns its status."""
        try:
            return self._write(runner, sample, recognizer, method, params)
        except Exception as exc:  # noqa: BLE001 - one video, not the run
            sample.set_metainfo(dict(
                aosa_error=f'writing outputs failed: {type(exc).__name__}: '
                f'{_first_line(exc)}'[:500]))
            return self._write(runner, sample, recognizer, method, params)

    def _write(self, runner, sample, recognizer, method, params) -> str:
        vid = _meta(sample, 'video_id', 'video')
        path = _meta(sample, 'video_path')
        error = _meta(sample, 'aosa_error')
        record = dict(video=vid, path=path, method=method, rank=get_rank(),
                      finished=round(time.time(), 3))
        done = sum(self.counts.values()) + 1
        if _meta(sample, 'aosa_skipped'):
            self.counts['skipped'] += 1
            runner.logger.info(f'[{done}/{self.total}] {vid}: already done')
            return 'skipped'
        summary = osp.join(self.out_dir, 'summary.json')
        if error:
            self.counts['failed'] += 1
            record.update(target=None, score=None, seconds=None,
                          status='failed', error=error)
            append_line(summary, record)
            runner.logger.warning(f'[{done}/{self.total}] {vid}: FAILED: '
                                  f'{error}')
            return 'failed'
        sal = _meta(sample, 'saliency').numpy()
        target = int(_meta(sample, 'aosa_target'))
        score = float(_meta(sample, 'aosa_score'))
        seconds = float(_meta(sample, 'aosa_seconds'))
        probs = _meta(sample, 'aosa_probs')
        if self.vis:
            self._write_overlay(runner, vid, sample, recognizer, sal, target,
                                score)
        # the map is written last: its presence marks the video as done
        save_map(
            osp.join(self.out_dir, 'maps', f'{vid}.npz'), sal,
            target=target, score=score, method=method, params=params,
            view=int(_meta(sample, 'aosa_view', 0)), seconds=seconds,
            video=path or '',
            probs=probs.numpy() if probs is not None else np.zeros(0),
            timings=dict(_meta(sample, 'aosa_timings', {}) or {}),
            geometry=dict(_meta(sample, 'aosa_geometry', {}) or {}))
        record.update(target=target, score=score, seconds=round(seconds, 4),
                      status='ok', error=None)
        append_line(summary, record)
        self.counts['ok'] += 1
        runner.logger.info(f'[{done}/{self.total}] {vid}: target {target} '
                           f'p={score:.3f} in {seconds:.1f}s')
        return 'ok'

    def _write_overlay(self, runner, vid, sample, recognizer, sal, target,
                       score):
        from ..explainers.base import denormalize
        clip = _meta(sample, 'aosa_clip')
        if clip is None:
            return
        frames = denormalize(recognizer, clip)
        self._visualizer(runner).add_saliency(
            vid, frames, sal, target, score,
            out_dir=osp.join(self.out_dir, 'vis'), out_type=self.out_type)


@HOOKS.register_module()
class SaliencyWriterHook(_WriterMixin, Hook):
    """Write each explained video's map, overlay and summary line.

    For every sample returned by :class:`SaliencyRecognizer`:
    ``<out_dir>/maps/<video_id>.npz`` (saliency T×H×W, target, score,
    method, params, ...), ``<out_dir>/vis/<video_id>.mp4`` and ``.png``
    (heat-map overlay and frame grid, unless ``vis=False``) and one JSON
    line in ``<out_dir>/summary.json`` (video, target, score, seconds,
    status, error, rank, finished: Unix time). Files are written
    atomically; each rank writes its own videos.

    Args:
        out_dir (str, optional): Output root; default the runner's work_dir.
        vis (bool): Write overlays.
        class_names (Sequence[str], optional): For overlay labels.
        out_type (str): ``'video'`` (mp4) or ``'gif'``.
    """

    priority = 'NORMAL'

    def __init__(self, out_dir: Optional[str] = None, vis: bool = True,
                 class_names: Optional[Sequence[str]] = None,
                 out_type: str = 'video'):
        self._setup_writer(out_dir, vis, class_names, out_type)

    def before_test(self, runner) -> None:
        self._begin(runner)

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        from ..scoring import unwrap
        model = unwrap(runner.model)
        exp = model.explainer
        for sample in outputs or []:
            self.write_sample(runner, sample, model.recognizer, exp.name,
                              exp.params())


@HOOKS.register_module()
class SaliencyHook(_WriterMixin, Hook):
    """Explain the clips of an ordinary mmaction2 test run.

    After each test iteration the hook preprocesses the batch's raw clips
    with the recognizer's own data_preprocessor, explains one view of each
    (by default the class the model predicted), and writes outputs like
    :class:`SaliencyWriterHook` under ``<out_dir>`` (default
    ``<work_dir>/saliency``). The test metrics are unchanged. A failure on
    one video is recorded in ``summary.json`` and the run goes on.

    Args:
        explainer (dict): Explainer config (default AOSA with the paper's
            112-px settings).
        out_dir (str, optional): Output root.
        view (str | int): View to explain (see ``pick_view``).
        target (int, optional): Class to explain; default the prediction.
        vis (bool): Write overlays.
        interval (int): Explain every ``interval``-th test iteration.
        class_names (Sequence[str], optional): For overlay labels.
        out_type (str): ``'video'`` or ``'gif'``.
    """

    priority = 'LOW'

    def __init__(self, explainer: Optional[dict] = None,
                 out_dir: Optional[str] = None,
                 view: Union[str, int] = 'center',
                 target: Optional[int] = None, vis: bool = True,
                 interval: int = 1,
                 class_names: Optional[Sequence[str]] = None,
                 out_type: str = 'video'):
        from ..registry import build_explainer
        self._setup_writer(out_dir, vis, class_names, out_type)
        self.explainer = build_explainer(explainer or dict(type='AOSA'))
        self.view = view
        self.target = target
        self.interval = max(int(interval), 1)

    def before_test(self, runner) -> None:
        self.out_dir = self.out_dir or osp.join(runner.work_dir, 'saliency')
        self._begin(runner)
        # Packed samples do not carry their file name: recover it from the
        # sampler's order (deterministic for test samplers).
        loader = runner.test_dataloader
        try:
            self._order = list(iter(loader.sampler))
        except TypeError:
            self._order = None
        self._batch_size = loader.batch_size or 1

    def _info(self, runner, batch_idx, i, raw) -> dict:
        info = dict(raw.metainfo)
        pos = batch_idx * self._batch_size + i
        if self._order is not None and pos < len(self._order):
            ds = runner.test_dataloader.dataset
            data = ds.get_data_info(self._order[pos])
            for key in ('filename', 'frame_dir'):
                if data.get(key):
                    info.setdefault(key, data[key])
        if not (info.get('filename') or info.get('frame_dir')):
            info['sample_idx'] = f'{get_rank()}_{pos}'
        return info

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        if batch_idx % self.interval or not data_batch:
            return
        from mmaction.structures import ActionDataSample

        from ..engine.explain_dataset import video_id
        from ..models import explain_sample
        from ..scoring import unwrap
        recognizer = unwrap(runner.model)
        outputs = outputs or []
        for i, (inputs, raw) in enumerate(
                zip(data_batch['inputs'], data_batch['data_samples'])):
            info = self._info(runner, batch_idx, i, raw)
            sample = ActionDataSample(metainfo=dict(raw.metainfo))
            vid = video_id(info, self._root(runner))
            sample.set_metainfo(dict(
                video_id=vid,
                video_path=info.get('filename') or info.get('frame_dir')))
            target = self.target
            if target is None and i < len(outputs) and 'pred_score' in \
                    outputs[i]:
                target = int(outputs[i].pred_score.argmax())
            try:
                sample = explain_sample(recognizer, self.explainer, inputs,
                                        sample, self.view, target)
            except Exception as exc:  # noqa: BLE001 - recorded per video
                sample.set_metainfo(dict(
                    aosa_error=f'{type(exc).__name__}: {_first_line(exc)}'
                    [:500]))
            self.write_sample(runner, sample, recognizer,
                              self.explainer.name, self.explainer.params())

    @staticmethod
    def _root(runner) -> Optional[str]:
        ds = runner.test_dataloader.dataset
        prefix = getattr(ds, 'data_prefix', None) or {}
        return prefix.get('video') or prefix.get('img')
