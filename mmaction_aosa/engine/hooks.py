"""Hooks that write per-video saliency outputs during ``runner.test()``.

* :class:`RecordWriterHook` writes the records that
  :class:`~mmaction_aosa.models.ExplainModel` returns (the path of
  ``tools/explain.py`` and ``tools/eval_saliency.py``).
* :class:`SaliencyHook` explains the clips of any ordinary mmaction2 test
  run itself: add ``custom_hooks = [dict(type='SaliencyHook')]`` to a test
  config and ``runner.test()`` writes maps and overlays beside its metrics.

Both write, per video, ``maps/<video>.npz`` (the map last: its presence
marks the video done), ``vis/<video>.mp4`` and ``.png`` (overlays) and one
line of ``summary.jsonl``, in the layout of
:class:`~mmaction_aosa.workdir.WorkDir`. A video whose map cannot be
written is recorded as failed, and counted so; an overlay that cannot be
written is a warning on the video's summary line (the map is the product).
A summary line that cannot be written is counted (``unrecorded``): the run
reports it and fails.
"""
import os
import os.path as osp
import time
from typing import List, Optional, Sequence, Union

import torch
from mmengine.dist import (all_gather, all_reduce, get_rank,
                           get_world_size)
from mmengine.hooks import Hook

from mmaction.registry import HOOKS

from .. import progress
from ..adapters import attach_adapter
from ..explainers.base import denormalize
from ..fileio import append_line, atomic_write_json, read_json
from ..models.explain_model import explain_sample, new_record
from ..registry import build_explainer
from ..scoring import unwrap
from ..datasets.explain_dataset import video_id
from ..structures import (GEOMETRY_META_KEYS, VIDEO_ID_KEY, VIDEO_PATH_KEY,
                          SaliencyRecord)
from ..progress import duration, hms
from ..visualization import class_label, class_name, save_overlay
from ..workdir import SUMMARY_FILE, WorkDir  # noqa: F401 - re-exported

STATUSES = ('ok', 'failed', 'skipped')


class _RecordWriter:
    """Writes maps, overlays and summary lines of records; counts them."""

    def _setup_writer(self, out_dir, vis, class_names, out_type):
        self.out_dir = out_dir
        self.vis = vis
        self.class_names = list(class_names) if class_names else None
        self.out_type = out_type
        self.counts = dict.fromkeys(STATUSES, 0)
        self.unrecorded = 0
        self.total = 0
        self._world = 1

    def _begin(self, runner, out_dir):
        self.out_dir = self.out_dir or out_dir
        self.counts = dict.fromkeys(STATUSES, 0)
        self.unrecorded = 0
        self._vis_warned = False
        self.total = len(runner.test_dataloader.dataset)
        self._start = time.perf_counter()
        # under torchrun each rank shares its count through a small file,
        # so that rank 0's lines show the progress of all ranks without a
        # collective per video (ranks hold different numbers of videos)
        self._world = get_world_size()
        self._run = str(getattr(runner, 'timestamp', ''))
        self._share_progress()

    def _progress_file(self, rank: int) -> str:
        return osp.join(self.out_dir, f'.progress_rank{rank}.json')

    def _share_progress(self) -> None:
        if self._world > 1:
            try:
                atomic_write_json(self._progress_file(get_rank()), dict(
                    run=self._run, done=sum(self.counts.values())),
                    indent=None)
            except OSError:  # progress is a courtesy, never a failure
                pass

    def _done_all(self) -> int:
        """Videos done on every rank of this run (rank 0 reads the others'
        files; a file of an earlier run does not count)."""
        done = sum(self.counts.values())
        if self._world == 1 or get_rank() != 0:
            return done
        for rank in range(1, self._world):
            rec = read_json(self._progress_file(rank)) or {}
            if rec.get('run') == self._run:
                done += int(rec.get('done', 0))
        return done

    def after_test(self, runner) -> None:
        """Remove this rank's progress file (a mmengine hook point)."""
        if self._world > 1 and osp.exists(self._progress_file(get_rank())):
            try:
                os.remove(self._progress_file(get_rank()))
            except OSError:
                pass

    def _class_names(self, runner) -> Optional[List[str]]:
        """The hook's class names, else the runner visualizer's (a
        SaliencyVisualizer's, or the dataset's that mmengine gives every
        visualizer as ``dataset_meta``)."""
        if self.class_names:
            return self.class_names
        vis = getattr(runner, 'visualizer', None)
        names = getattr(vis, 'class_names', None) or (
            getattr(vis, 'dataset_meta', None) or {}).get('classes')
        return list(names) if names else None

    def write(self, runner, rec: SaliencyRecord, recognizer) -> str:
        """Write one record's outputs; returns its final status."""
        wd = WorkDir(self.out_dir)
        if rec.status == 'ok':
            if self.vis and rec.clip is not None:
                try:
                    # whatever visualizer the config has (mmaction2's
                    # ActionVisualizer too) gets the overlay
                    vis = getattr(runner, 'visualizer', None)
                    drawn = save_overlay(
                        rec.video, denormalize(recognizer, rec.clip),
                        rec.saliency.numpy(), rec.target, rec.score,
                        self._class_names(runner),
                        alpha=getattr(vis, 'alpha', 0.5),
                        fps=getattr(vis, 'fps', 8.0),
                        out_dir=wd.vis_dir,
                        out_type=self.out_type, visualizer=vis,
                        source=rec.path, geometry=rec.geometry,
                        method=rec.method)
                    self._note_clip_overlay(runner, drawn.get('why'))
                except Exception as exc:  # noqa: BLE001 - the map is kept
                    rec.warning = (f'overlay not written: '
                                   f'{type(exc).__name__}: {exc}')[:500]
                    if not self._vis_warned:  # once: it is every video's
                        self._vis_warned = True
                        runner.logger.warning(
                            f'{rec.video}: {rec.warning} (maps are written;'
                            " each video's summary line says so)")
            try:
                # the map last: its presence marks the video as done
                rec.to_npz(wd.map_path(rec.video))
            except Exception as exc:  # noqa: BLE001 - one video, not the run
                rec.fail(f'writing the map failed: {type(exc).__name__}: '
                         f'{exc}')
        status = rec.status
        self.counts[status] += 1
        if status != 'skipped':
            line = dict(rec.summary(), rank=get_rank(),
                        finished=round(time.time(), 3))
            if status == 'ok':  # for report.html and people reading it
                line['class_name'] = class_name(
                    rec.target, self._class_names(runner))
            try:
                append_line(wd.summary_file, line)
            except OSError as exc:
                self.unrecorded += 1
                runner.logger.error(f'{rec.video}: cannot append to '
                                    f'{wd.summary_file}: {exc}')
        self._share_progress()
        self._log(runner, rec)
        return status

    def _note_clip_overlay(self, runner, why: Optional[str]) -> None:
        """Say once per run when overlays fall back to the model's clip
        (the source video could not be read)."""
        if why and not getattr(self, '_told_clip_overlay', False):
            self._told_clip_overlay = True
            runner.logger.warning(f'overlays drawn on the model\'s clip, not '
                                  f'on the source video: {why}')

    def _log(self, runner, rec: SaliencyRecord) -> None:
        done = self._done_all()
        elapsed = time.perf_counter() - self._start
        eta = elapsed / done * max(self.total - done, 0) if done else None
        ranks = f' on {self._world} ranks' if self._world > 1 else ''
        head = f'[{done}/{self.total}{ranks}, ETA {hms(eta)}] {rec.video}'
        if rec.status == 'ok':
            runner.logger.info(
                f'{head}: {class_label(rec.target, self._class_names(runner))}'
                f' p={rec.score:.3f}, map in {duration(rec.seconds)}')
        elif rec.status == 'failed':
            runner.logger.warning(f'{head}: FAILED: {rec.error}')

    def totals(self) -> dict:
        """Counts of every rank, ``unrecorded`` (summary lines that could
        not be written), and ``per_rank``: the videos each rank finished
        (a collective: call it on every rank)."""
        t = torch.tensor([self.counts[s] for s in STATUSES],
                         dtype=torch.float64)
        per_rank = [int(x.sum()) for x in all_gather(t)]
        t = torch.cat([t, torch.tensor([float(self.unrecorded)],
                                       dtype=torch.float64)])
        all_reduce(t)
        out = {s: int(v) for s, v in zip(STATUSES, t.tolist())}
        out['unrecorded'] = int(t[-1])
        out['per_rank'] = per_rank
        return out


def keep_geometry(dataset) -> None:
    """Make the PackActionInputs of ``dataset``'s pipeline keep the clip
    geometry (frame indices, resize, crop; :data:`GEOMETRY_META_KEYS`), so
    that overlays are drawn on the source video, in an ordinary test run
    whose config does not ask for them."""
    for t in getattr(getattr(dataset, 'pipeline', None), 'transforms', []):
        keys = getattr(t, 'meta_keys', None)
        if type(t).__name__ == 'PackActionInputs' and keys is not None:
            t.meta_keys = tuple(keys) + tuple(
                k for k in GEOMETRY_META_KEYS if k not in keys)


@HOOKS.register_module()
class RecordWriterHook(_RecordWriter, Hook):
    """Write each record of an explain run: map, overlay, summary line.

    For every :class:`SaliencyRecord` returned by the model's
    ``test_step``: ``<out_dir>/maps/<video>.npz`` (:meth:`SaliencyRecord.
    to_npz`), ``<out_dir>/vis/<video>.mp4`` and ``.png`` (unless
    ``vis=False``) and one line of ``<out_dir>/summary.jsonl``
    (:meth:`SaliencyRecord.summary` plus ``rank`` and ``finished``, Unix
    time). Files are written atomically; each rank writes its own videos.

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
        self._begin(runner, runner.work_dir)
        model = unwrap(runner.model)
        if hasattr(model, 'progress_logger'):  # an ExplainModel
            model.progress_logger = runner.logger

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None) -> None:
        recognizer = unwrap(runner.model).recognizer
        for rec in outputs or []:
            self.write(runner, rec, recognizer)


@HOOKS.register_module()
class SaliencyHook(_RecordWriter, Hook):
    """Explain the clips of an ordinary mmaction2 test run.

    After each test iteration the hook preprocesses the batch's raw clips
    with the recognizer's own data_preprocessor, explains one view of each
    (by default the class the model predicted), and writes outputs like
    :class:`RecordWriterHook` under ``<out_dir>`` (default
    ``<work_dir>/saliency``). The test metrics are unchanged. A failure on
    one video is recorded in ``summary.jsonl`` and the run goes on.

    Args:
        explainer (dict): Explainer config (default AOSA with its default
            settings).
        out_dir (str, optional): Output root.
        view (str | int): View to explain (see ``pick_view``).
        target (int, optional): Class to explain; default the prediction.
        vis (bool): Write overlays.
        interval (int): Explain every ``interval``-th test iteration.
        class_names (Sequence[str], optional): For overlay labels.
        out_type (str): ``'video'`` or ``'gif'``.
        adapter (dict, optional): The recognizer's adapter (type or
            arguments, see :func:`mmaction_aosa.adapters.build_adapter`);
            default the automatic choice.
    """

    priority = 'LOW'

    def __init__(self, explainer: Optional[dict] = None,
                 out_dir: Optional[str] = None,
                 view: Union[str, int] = 'center',
                 target: Optional[int] = None, vis: bool = True,
                 interval: int = 1,
                 class_names: Optional[Sequence[str]] = None,
                 out_type: str = 'video',
                 adapter: Optional[dict] = None):
        self._setup_writer(out_dir, vis, class_names, out_type)
        self.explainer = build_explainer(explainer or dict(type='AOSA'))
        self.adapter = adapter
        self.view = view
        self.target = target
        self.interval = max(int(interval), 1)

    def before_test(self, runner) -> None:
        self._begin(runner, osp.join(runner.work_dir, 'saliency'))
        keep_geometry(runner.test_dataloader.dataset)
        if self.adapter is not None:
            attach_adapter(unwrap(runner.model), self.adapter)
        if self.vis and not self._class_names(runner):
            runner.logger.warning(
                'SaliencyHook: no class names, overlays say "class N"; '
                'give the hook class_names=[...] or set them on the '
                "config's visualizer (README, 'Class names')")
        # Packed samples do not carry their file name: recover it from the
        # sampler's order (deterministic for test samplers).
        loader = runner.test_dataloader
        try:
            self._order = list(iter(loader.sampler))
        except TypeError:
            self._order = None
        self._batch_size = loader.batch_size or 1
        ds = loader.dataset
        prefix = getattr(ds, 'data_prefix', None) or {}
        self._root = prefix.get('video') or prefix.get('img')

    def _info(self, runner, batch_idx, i, raw) -> dict:
        info = dict(raw.metainfo)
        pos = batch_idx * self._batch_size + i
        if self._order is not None and pos < len(self._order):
            data = runner.test_dataloader.dataset.get_data_info(
                self._order[pos])
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
        recognizer = unwrap(runner.model)
        outputs = outputs or []
        for i, (inputs, raw) in enumerate(
                zip(data_batch['inputs'], data_batch['data_samples'])):
            info = self._info(runner, batch_idx, i, raw)
            sample = raw.clone()
            sample.set_metainfo({
                VIDEO_ID_KEY: video_id(info, self._root),
                VIDEO_PATH_KEY: info.get('filename') or info.get('frame_dir')
            })
            rec = new_record(sample)
            target = self.target
            if target is None and i < len(outputs) and 'pred_score' in \
                    outputs[i]:
                target = int(outputs[i].pred_score.argmax())
            try:
                with progress.for_map(rec.video, runner.logger):
                    explain_sample(recognizer, self.explainer, inputs,
                                   sample, rec, self.view, target)
            except Exception as exc:  # noqa: BLE001 - recorded per video
                rec.fail(f'{type(exc).__name__}: {exc}')
            self.write(runner, rec, recognizer)
