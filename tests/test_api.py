"""The one-call Python API (mmaction_aosa/apis.py): config, checkpoint (or
a model) and a video path in, a SaliencyRecord out; the same map as
tools/explain.py --video."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from conftest import REPO, moving_square_clip, run_tool, shared_data, \
    write_mp4

import mmaction_aosa
from mmaction_aosa import SaliencyRecord, load_map
from mmaction_aosa.apis import RunError

CONFIG = osp.join(REPO, 'configs', 'aosa_tiny_r3d_synthetic.py')
CKPT = osp.join(REPO, 'checkpoints', 'tiny_r3d_synthetic.pth')


@pytest.fixture(scope='module')
def square(tmp_path_factory):
    """A red square moving right: the tiny model's class 0
    (axis_horizontal)."""
    frames, boxes = moving_square_clip(T=32, H=128, W=128, start=(4, 40),
                                       velocity=(3, 0), size=20)
    path = str(tmp_path_factory.mktemp('api') / 'square.mp4')
    write_mp4(path, frames)
    return path, boxes


def test_explain_video_gives_the_tools_map(square, tmp_path, capfd):
    path, boxes = square
    capfd.readouterr()
    rec = mmaction_aosa.explain_video(CONFIG, CKPT, path,
                                      explainer='aosa_approx')
    # nothing printed (no registry-scope note, no deprecation warnings)
    out, err = capfd.readouterr()
    assert out == '' and err == ''
    assert isinstance(rec, SaliencyRecord) and rec.ok
    assert isinstance(rec.saliency, torch.Tensor)
    assert rec.saliency.shape == (16, 112, 112)
    assert rec.target == 0 and rec.class_name == 'axis_horizontal'
    assert rec.score > 0.5 and rec.method == 'AOSAApprox'
    assert rec.params['anchor_stride'] == 8 and rec.label is None
    assert rec.geometry['frame_inds'] == list(range(0, 32, 2))
    # the map points at the square: argmax inside its box (mapped into the
    # 112 px centre crop of the 128 px frame) in most frames
    hits = 0
    for t in range(16):
        y, x = np.unravel_index(int(rec.saliency[t].argmax()), (112, 112))
        bx, by, w, h = boxes[2 * t] - np.array([8, 8, 0, 0])
        hits += bx - 7 <= x < bx + w + 7 and by - 7 <= y < by + h + 7
    assert hits >= 12
    # tools/explain.py --video with the same settings: the same map
    code = run_tool('explain.py', [CONFIG, CKPT, '--video', path,
                                   '--work-dir', tmp_path / 'run',
                                   '--no-vis', '--explainer', 'aosa_approx'])
    assert code == 0
    saved = load_map(str(tmp_path / 'run' / 'maps' / 'square.npz'))
    assert isinstance(saved['saliency'], np.ndarray)
    np.testing.assert_allclose(saved['saliency'], rec.saliency.numpy(),
                               atol=1e-5)
    # a map file read back as a record holds tensors too
    back = SaliencyRecord.from_npz(str(tmp_path / 'run' / 'maps' /
                                       'square.npz'))
    assert isinstance(back.saliency, torch.Tensor)


def test_a_model_built_once_and_another_explainer(square, tmp_path):
    path, _ = square
    model = mmaction_aosa.init_recognizer(CONFIG, CKPT)
    assert not model.training and model.cfg.filename.endswith(
        'aosa_tiny_r3d_synthetic.py')
    rec = mmaction_aosa.explain_video(CONFIG, model, path,
                                      explainer='gradcam', target=1)
    assert rec.method == 'GradCAM' and rec.target == 1
    assert rec.class_name == 'axis_vertical'
    assert torch.isfinite(rec.saliency).all()
    # the overlay, on the source video at its size (128 px, shown ×2)
    out = mmaction_aosa.write_overlay(rec, str(tmp_path / 'o.mp4'))
    assert out['on_source'] and osp.isfile(out['grid'])
    cap = cv2.VideoCapture(out['video'])
    ok, img = cap.read()
    assert ok and img.shape[1] == 256
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 32


def test_bad_input_is_one_line(square):
    with pytest.raises(RunError, match='video not found'):
        mmaction_aosa.explain_video(CONFIG, CKPT, '/no/such.mp4')
    with pytest.raises(RunError, match="unknown explainer 'nope'"):
        mmaction_aosa.explain_video(CONFIG, CKPT, square[0],
                                    explainer='nope')


def test_real_clip(tmp_path):
    """A real Kinetics clip through the tiny model's pipeline: the map and
    its geometry describe the source (340×256 frames, 30 fps)."""
    video = shared_data('videos', 'mmaction2_test.mp4')
    rec = mmaction_aosa.explain_video(CONFIG, CKPT, video,
                                      explainer='gradcam')
    g = rec.geometry
    assert g['original_shape'] == [256, 340] and g['avg_fps'] == 30.0
    assert len(g['frame_inds']) == 16 and g['crop_bbox'][2] - \
        g['crop_bbox'][0] == 112
