"""What a map file records (issue 14, item 7): the explained view's
geometry only, and timings that add up to its seconds."""
import numpy as np
import pytest
import torch
from conftest import REPO, moving_square_clip, write_mp4

from mmaction_aosa.explainers.base import denormalize
from mmaction_aosa.models.explain_model import explain_sample, new_record
from mmaction_aosa.structures import add_geometry_meta_keys

CFG = f'{REPO}/configs/aosa_tiny_r3d_synthetic.py'
NUM_CLIPS, CLIP_LEN = 3, 8


def pipeline(crop: bool) -> list:
    """A multi-view test pipeline as I3D's (clips × ThreeCrop), or the same
    without the crop (the full resized frames of every clip)."""
    steps = [dict(type='DecordInit'),
             dict(type='SampleFrames', clip_len=CLIP_LEN, frame_interval=2,
                  num_clips=NUM_CLIPS, test_mode=True),
             dict(type='DecordDecode'),
             dict(type='Resize', scale=(-1, 64))]
    if crop:
        steps.append(dict(type='ThreeCrop', crop_size=64))
    steps += [dict(type='FormatShape', input_format='NCTHW'),
              dict(type='PackActionInputs')]
    return add_geometry_meta_keys(steps)


@pytest.fixture(scope='module')
def recognizer():
    from mmaction.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmaction')
    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(CFG).model).eval()


@pytest.mark.parametrize('view', [0, 5, 7])
def test_geometry_is_the_explained_views(recognizer, tmp_path, view):
    from mmcv.transforms import Compose
    from mmaction_aosa import EXPLAINERS
    frames, _ = moving_square_clip(T=60, H=64, W=112, size=10)
    path = str(tmp_path / 'wide.mp4')
    write_mp4(path, frames)
    info = dict(filename=path, label=0, start_index=0, modality='RGB')
    views = Compose(pipeline(True))(dict(info))
    full = Compose(pipeline(False))(dict(info))
    assert views['inputs'].shape[0] == 3 * NUM_CLIPS
    sample = views['data_samples']
    assert len(sample.metainfo['frame_inds']) == NUM_CLIPS * CLIP_LEN
    assert len(sample.metainfo['crop_bbox']) == 3 * NUM_CLIPS * CLIP_LEN
    sample.set_metainfo(dict(video_id='wide'))
    explainer = EXPLAINERS.build(dict(type='AOSAApprox', anchor_stride=16,
                                      box_size=32))
    rec = explain_sample(recognizer, explainer, views['inputs'], sample,
                         new_record(sample), view=view)
    g = rec.geometry
    crop, clip = divmod(rec.view, NUM_CLIPS)  # crop-major view order
    assert rec.view == view
    all_inds = np.asarray(full['data_samples'].metainfo['frame_inds'])
    assert g['frame_inds'] == all_inds.reshape(NUM_CLIPS, CLIP_LEN)[
        clip].tolist()
    assert g['num_clips'] == 1
    x1, y1, x2, y2 = g['crop_bbox']
    assert (x2 - x1, y2 - y1) == (64, 64)
    # mmaction2's ThreeCrop cuts left, right, middle, in that order
    assert x1 == {0: 0, 1: 112 - 64, 2: (112 - 64) // 2}[crop]
    # the explained clip is exactly those frames, cut at that box
    seen = denormalize(recognizer, rec.clip)  # T×H×W×C
    whole = full['inputs'][clip].permute(1, 2, 3, 0).float().numpy()
    assert np.abs(seen - whole[:, y1:y2, x1:x2]).max() < 1e-3
    assert rec.saliency.shape == (CLIP_LEN, 64, 64)
    # what the map file keeps
    rec.to_npz(str(tmp_path / 'wide.npz'))
    from mmaction_aosa import load_map
    assert load_map(str(tmp_path / 'wide.npz'))['geometry'] == g


@pytest.mark.parametrize('spec', [
    dict(type='AOSA', anchor_stride=28, box_size=56, batch_size=8),
    dict(type='AOSAApprox', anchor_stride=28, box_size=56),
    dict(type='GradCAM'),
    dict(type='Occlusion3D', window=(8, 56, 56)),
    dict(type='SmoothGrad', num_samples=2)])
def test_timings_add_up_to_seconds(recognizer, spec):
    from mmaction_aosa import EXPLAINERS
    from mmaction.structures import ActionDataSample
    frames, _ = moving_square_clip(T=16, H=112, W=112, size=16)
    inputs = torch.from_numpy(frames).permute(3, 0, 1, 2)[None]  # 1 view
    sample = ActionDataSample()
    sample.set_metainfo(dict(video_id='v'))
    rec = explain_sample(recognizer, EXPLAINERS.build(dict(spec)), inputs,
                         sample, new_record(sample))
    stages = {k: v for k, v in rec.timings.items()
              if isinstance(v, float) and not k.startswith('num_')}
    assert {'forward', 'preprocess', 'overhead'} <= set(stages)
    # no stage counted twice: what is left over is not negative
    named = sum(v for k, v in stages.items() if k != 'overhead')
    assert named <= rec.seconds + 1e-6, rec.timings
    assert sum(stages.values()) == pytest.approx(rec.seconds, abs=1e-6)
