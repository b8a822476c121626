"""A model wrapper that explains (or loads maps) and scores the maps.

Metrics never see the recognizer, but deletion and insertion must run it on
perturbed clips. :class:`SaliencyEvaluator` does that in ``test_step``,
where the recognizer is at hand, and hands per-video numbers to the metrics
through the samples' metainfo. It extends :class:`SaliencyRecognizer` (same
data path: data_preprocessor once, one view, the explainer) with:

* maps read from ``maps_dir/<video_id>.npz`` (written by
  ``tools/explain.py``) when they exist, instead of explaining again;
* ``aosa_deletion_curve`` / ``aosa_insertion_curve`` (steps+1 floats each,
  :func:`deletion_insertion`), computed after the map, outside its timing;
* ``aosa_sanity``, the cascading-randomisation check, for the first
  ``sanity_videos`` videos this rank sees.
"""
import os.path as osp
import time
from typing import Optional, Sequence, Union

import torch

from mmaction.registry import MODELS

from ..engine.io import load_map
from ..models.saliency_recognizer import SaliencyRecognizer, pick_view
from ..scoring import Scorer
from .deletion_insertion import DEFAULT_STEPS, deletion_insertion
from .sanity import cascade_randomization


@MODELS.register_module()
class SaliencyEvaluator(SaliencyRecognizer):
    """Explain each test clip (or load its map) and compute its curves.

    Args:
        recognizer (dict): Config of the mmaction2 recognizer.
        explainer (dict, optional): Config of an explainer; may be None when
            every map comes from ``maps_dir``.
        maps_dir (str, optional): Folder of ``<video_id>.npz`` maps; a video
            with a map there is not explained again.
        require_maps (bool): A video without a map in ``maps_dir`` fails
            (recorded in ``aosa_error``) instead of being explained.
        steps (int): Deletion/insertion steps (paper: 28).
        batch_size (int): Perturbed clips per forward pass.
        fill_value (float): Deletion's fill (normalised space).
        curves (bool): Compute deletion/insertion curves.
        sanity_videos (int): Run the cascading randomisation on this many
            videos (per rank); 0 disables it.
        sanity_stages (sequence of str, optional): Subset of stages.
        view (str | int): View of a multi-view sample to explain.
        target (int, optional): Class to explain; default the top-1.
    """

    def __init__(self,
                 recognizer: dict,
                 explainer: Optional[dict] = None,
                 maps_dir: Optional[str] = None,
                 require_maps: bool = False,
                 steps: int = DEFAULT_STEPS,
                 batch_size: int = 16,
                 fill_value: float = 0.0,
                 curves: bool = True,
                 sanity_videos: int = 0,
                 sanity_stages: Optional[Sequence[str]] = None,
                 view: Union[str, int] = 'center',
                 target: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(recognizer, explainer, view=view, target=target,
                         skip_dir=None, init_cfg=init_cfg)
        if explainer is None and (maps_dir is None or not require_maps):
            raise ValueError('SaliencyEvaluator needs an explainer unless '
                             'every map is read (maps_dir, require_maps)')
        if sanity_videos and explainer is None:
            raise ValueError('the sanity check needs an explainer')
        self.maps_dir = maps_dir
        self.require_maps = require_maps
        self.steps = int(steps)
        self.di_batch_size = int(batch_size)
        self.fill_value = float(fill_value)
        self.curves = curves
        self.sanity_videos = int(sanity_videos)
        self.sanity_stages = sanity_stages
        self._sanity_done = 0

    def _map_path(self, vid: str) -> Optional[str]:
        if not self.maps_dir:
            return None
        path = osp.join(self.maps_dir, f'{vid}.npz')
        return path if osp.isfile(path) else None

    def _load_one(self, inputs, sample, path: str):
        start = time.perf_counter()
        batch = self.data_preprocessor(
            dict(inputs=[inputs], data_samples=[sample]), False)
        clip_views = batch['inputs'][0]
        sample = batch['data_samples'][0]
        rec = load_map(path)
        v = int(rec.get('view', pick_view(clip_views.shape[0], self.view)))
        clip = clip_views[v]
        sal = torch.from_numpy(rec['saliency']).float()
        if tuple(sal.shape) != tuple(clip.shape[1:]):
            raise ValueError(f'the map in {path} is {tuple(sal.shape)}, the '
                             f'clip is {tuple(clip.shape[1:])}')
        target = int(rec['target'])
        with torch.no_grad():
            probs = Scorer(self.recognizer).probs(clip[None])[0].cpu()
        sample.set_field(sal, 'saliency', field_type='metainfo')
        sample.set_metainfo(dict(
            aosa_target=target, aosa_score=float(probs[target]),
            aosa_seconds=float(rec.get('seconds', 0.0)), aosa_view=v,
            aosa_timings=rec.get('timings', {}), aosa_probs=probs,
            aosa_map_file=path, aosa_map_loaded=time.perf_counter() - start))
        sample.set_field(clip.detach().cpu(), 'aosa_clip',
                         field_type='metainfo')
        return sample

    def _explain_one(self, inputs, sample):
        vid = sample.metainfo.get('video_id', 'video')
        path = self._map_path(vid)
        if path is not None:
            return self._load_one(inputs, sample, path)
        if self.require_maps or self.explainer is None:
            raise FileNotFoundError(
                f'no map {vid}.npz in {self.maps_dir}')
        return super()._explain_one(inputs, sample)

    def test_step(self, data: dict) -> list:
        outputs = super().test_step(data)
        for sample in outputs:
            meta = sample.metainfo
            if meta.get('aosa_error') or meta.get('saliency') is None:
                continue
            try:
                self._score_one(sample)
            except Exception as exc:  # noqa: BLE001 - recorded per video
                first = (str(exc).strip().splitlines() or [''])[0]
                sample.set_metainfo(dict(
                    aosa_error=f'evaluation failed: {type(exc).__name__}: '
                    f'{first}'[:500]))
        return outputs

    def _score_one(self, sample) -> None:
        meta = sample.metainfo
        clip, sal = meta['aosa_clip'], meta['saliency']
        target = int(meta['aosa_target'])
        start = time.perf_counter()
        if self.curves:
            res = deletion_insertion(
                Scorer(self.recognizer), clip, sal, target, self.steps,
                self.di_batch_size, self.fill_value)
            sample.set_metainfo(dict(
                aosa_deletion_curve=res['deletion_curve'],
                aosa_insertion_curve=res['insertion_curve'],
                aosa_deletion=res['deletion'],
                aosa_insertion=res['insertion']))
        if self._sanity_done < self.sanity_videos:
            self._sanity_done += 1
            rows = cascade_randomization(
                self.explainer, self.recognizer, clip, target, original=sal,
                stages=self.sanity_stages)
            sample.set_metainfo(dict(aosa_sanity=rows))
        sample.set_metainfo(dict(aosa_eval_seconds=time.perf_counter() -
                                 start))
