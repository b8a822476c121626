"""A recognizer wrapper that explains each test clip as it is predicted."""
import os.path as osp
import time
from typing import Optional, Union

from mmengine.model import BaseModel

from mmaction.registry import MODELS

from ..registry import build_explainer


def pick_view(num_views: int, view: Union[str, int]) -> int:
    """Index of the view to explain among a multi-view test sample.

    ``'center'`` takes ``num_views // 2``: with mmaction2's crop-major view
    order (FormatShape stacks crops × clips) that is the middle crop of the
    middle clip for ThreeCrop × an odd or even number of clips, and the only
    view of a single-view pipeline.
    """
    if view == 'center':
        return num_views // 2
    view = int(view)
    if not -num_views <= view < num_views:
        raise ValueError(f'view {view} out of range for {num_views} views')
    return view % num_views


@MODELS.register_module()
class SaliencyRecognizer(BaseModel):
    """Run a recognizer's data_preprocessor once, predict, and explain.

    ``test_step`` returns one data sample per input whose metainfo holds
    ``saliency`` (T×H×W float32, CPU), ``aosa_target``, ``aosa_score``,
    ``aosa_probs`` (class probabilities of the explained view),
    ``aosa_seconds``, ``aosa_view``, ``aosa_timings``, ``aosa_geometry``
    (frame indices, resize, crop) and ``aosa_clip`` (the explained clip,
    normalised); a failed video carries ``aosa_error`` instead, a finished
    one ``aosa_skipped``.

    Args:
        recognizer (dict): Config of the mmaction2 recognizer.
        explainer (dict): Config of an explainer in ``EXPLAINERS``.
        view (str | int): Which view of a multi-view sample to explain.
        target (int, optional): Class to explain; default the top-1.
        skip_dir (str, optional): If set, samples whose
            ``<skip_dir>/<video_id>.npz`` exists are not explained again
            (resume across ranks).
    """

    def __init__(self,
                 recognizer: dict,
                 explainer: dict,
                 view: Union[str, int] = 'center',
                 target: Optional[int] = None,
                 skip_dir: Optional[str] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.recognizer = MODELS.build(recognizer)
        # share the recognizer's preprocessor (normalisation, NCTHW stacking)
        self.data_preprocessor = self.recognizer.data_preprocessor
        self.explainer = build_explainer(explainer)
        self.view = view
        self.target = target
        self.skip_dir = skip_dir

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        return self.recognizer(inputs, data_samples, mode=mode)

    def _done(self, vid: str) -> bool:
        return bool(self.skip_dir) and osp.exists(
            osp.join(self.skip_dir, f'{vid}.npz'))

    def test_step(self, data: dict) -> list:
        outputs = []
        for inputs, sample in zip(data['inputs'], data['data_samples']):
            vid = sample.metainfo.get('video_id', 'video')
            if sample.metainfo.get('aosa_error'):
                outputs.append(sample)
                continue
            if self._done(vid):
                sample.set_metainfo(dict(aosa_skipped=True))
                outputs.append(sample)
                continue
            try:
                outputs.append(self._explain_one(inputs, sample))
            except Exception as exc:  # noqa: BLE001 - recorded per video
                first = (str(exc).strip().splitlines() or [''])[0]
                sample.set_metainfo(
                    dict(aosa_error=f'{type(exc).__name__}: {first}'[:500]))
                outputs.append(sample)
        return outputs

    def _explain_one(self, inputs, sample):
        return explain_sample(self.recognizer, self.explainer, inputs, sample,
                              self.view, self.target)


def explain_sample(recognizer, explainer, inputs, sample,
                   view: Union[str, int] = 'center',
                   target: Optional[int] = None):
    """Preprocess one raw test sample, explain one view, annotate the sample.

    Args:
        recognizer: mmaction2 recognizer (its data_preprocessor is used).
        explainer: A built explainer.
        inputs (Tensor): The raw views×C×T×H×W uint8 clip from the pipeline.
        sample (ActionDataSample): Its data sample.
        view, target: See :class:`SaliencyRecognizer`.

    Returns:
        ActionDataSample: ``sample`` with ``saliency`` and ``aosa_*`` fields.
    """
    start = time.perf_counter()
    batch = recognizer.data_preprocessor(
        dict(inputs=[inputs], data_samples=[sample]), False)
    clip_views = batch['inputs'][0]  # views × C × T × H × W
    sample = batch['data_samples'][0]
    v = pick_view(clip_views.shape[0], view)
    exp = explainer.explain_full(recognizer, clip_views[v], target)
    sample.set_field(exp.saliency, 'saliency', field_type='metainfo')
    # the clip's geometry, to map ground-truth boxes onto the map later
    from ..evaluation.pointing_game import GEOMETRY_META_KEYS
    geometry = {}
    for key in GEOMETRY_META_KEYS:
        if key in sample.metainfo:
            val = sample.metainfo[key]
            geometry[key] = val.tolist() if hasattr(val, 'tolist') else val
    sample.set_metainfo(
        dict(aosa_target=exp.target, aosa_score=exp.score,
             aosa_seconds=time.perf_counter() - start, aosa_view=v,
             aosa_timings=exp.timings, aosa_probs=exp.probs,
             aosa_geometry=geometry))
    sample.set_field(clip_views[v].detach().cpu(), 'aosa_clip',
                     field_type='metainfo')
    return sample
