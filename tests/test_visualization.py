"""The saliency visualizer and the hook for ordinary mmaction2 test runs."""
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from conftest import REPO, moving_square_clip, write_mp4

from mmaction_aosa import load_map
from mmaction_aosa.runs import read_summary
from mmaction_aosa.visualization import display_scale


def read_frames(path):
    """The frames of a video file (BGR, as OpenCV decodes them)."""
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        out.append(img)
    return out


def test_visualizer_writes_playable_mp4_and_png_grid(tmp_path):
    from mmaction.registry import VISUALIZERS
    vis = VISUALIZERS.build(dict(
        type='SaliencyVisualizer', name='test_vis', save_dir=str(tmp_path),
        vis_backends=[dict(type='LocalVisBackend')],
        class_names=['right', 'left']))
    frames, boxes = moving_square_clip(T=10, H=48, W=64)
    sal = np.zeros((10, 48, 64), np.float32)
    for t, (x, y, w, h) in enumerate(boxes):
        sal[t, y:y + h, x:x + w] = 1.0
    out = vis.add_saliency('clip', frames, sal, target=1, score=0.75,
                           out_dir=str(tmp_path / 'vis'))
    assert not out['on_source'] and out['why'] == 'no source video'
    decoded = read_frames(out['video'])
    # 48 px frames are enlarged ×5 (a readable label), a band under them
    k = int(display_scale(48, 64))
    assert k == 5
    assert len(decoded) == 10 and decoded[0].shape[1] == 64 * k
    band = decoded[0].shape[0] - 48 * k
    assert band >= 40
    # the heat map is hot (red in BGR) on the square, cold elsewhere
    t = 5
    x, y, w, h = boxes[t] * k
    on = decoded[t][y + 8:y + h - 8, x + 8:x + w - 8].mean((0, 1))
    assert on[2] > on[0] + 40
    off = decoded[t][2:20, 2:20].mean((0, 1))
    assert off[0] > off[2]  # blue: low saliency
    grid = cv2.imread(out['grid'])
    # 8 frames, 4 per row, each with its band
    assert grid.shape == (2 * (48 * k + band), 4 * 64 * k, 3)
    # the local vis backend got the grid too
    found = [f for _, _, fs in os.walk(tmp_path) for f in fs
             if f.startswith('clip') and f.endswith('.png')]
    assert len(found) >= 2
    gif = vis.add_saliency('clip', frames, sal, 0, 0.5,
                           out_dir=str(tmp_path / 'gif'), out_type='gif',
                           grid=False)
    assert osp.getsize(gif['gif']) > 0


def video_backend():
    """A vis backend that takes videos (as mmaction2's TensorBoard and W&B
    backends do, which need moviepy): it saves what it gets as .npy."""
    from mmengine.visualization import BaseVisBackend
    from mmengine.visualization.vis_backend import force_init_env

    from mmaction.registry import VISBACKENDS

    @VISBACKENDS.register_module(name='NpyVideoVisBackend', force=True)
    class NpyVideoVisBackend(BaseVisBackend):

        @property
        def experiment(self):
            return self

        def _init_env(self):
            os.makedirs(self._save_dir, exist_ok=True)

        @force_init_env
        def add_video(self, name, frames, step=0, fps=4, **kwargs):
            np.save(osp.join(self._save_dir, f'{name}_video.npy'), frames)

        @force_init_env
        def add_image(self, name, image, step=0, **kwargs):
            np.save(osp.join(self._save_dir, f'{name}_image.npy'), image)
    return 'NpyVideoVisBackend'


def test_saliency_hook_in_an_ordinary_test_run(tmp_path, recwarn):
    """The README's two lines in a config whose visualizer is mmaction2's
    ActionVisualizer: the overlays reach its vis backends."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    root = tmp_path / 'data'
    for i in range(2):
        frames, _ = moving_square_clip(T=32, H=128, W=128, start=(10, 40),
                                       velocity=(3, 0), size=20, seed=i)
        write_mp4(str(root / 'videos' / f'c{i}.mp4'), frames)
    (root / 'list.txt').write_text('c0.mp4 0\nc1.mp4 1\n')
    cfg = Config.fromfile(osp.join(REPO, 'configs',
                                   'aosa_tiny_r3d_synthetic.py'))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.test_dataloader.dataset.ann_file = str(root / 'list.txt')
    cfg.test_dataloader.dataset.data_prefix = dict(video=str(root / 'videos'))
    cfg.custom_hooks = [dict(type='SaliencyHook', explainer=dict(
        type='AOSA', anchor_stride=28, box_size=56))]
    cfg.pop('explainer')
    assert cfg.visualizer.type == 'ActionVisualizer'  # mmaction2's default
    npy_dir = tmp_path / 'npy'
    cfg.visualizer.vis_backends = [
        dict(type='LocalVisBackend'),
        dict(type=video_backend(), save_dir=str(npy_dir))]
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    assert 'acc/top1' in metrics  # the ordinary metric still runs
    out = tmp_path / 'work' / 'saliency'
    assert sorted(os.listdir(out / 'maps')) == ['c0.npz', 'c1.npz']
    m = load_map(str(out / 'maps' / 'c0.npz'))
    assert m['saliency'].shape == (16, 112, 112)
    assert m['method'] == 'AOSA'
    assert (out / 'vis' / 'c0.mp4').exists()
    assert all(r['status'] == 'ok'
               for r in read_summary(str(out / 'summary.jsonl')).values())
    # the config's own backends got the overlays: the local one the frame
    # grids (vis_data/vis_image), the video-taking one grids and videos
    local = [f for _, _, fs in os.walk(runner.log_dir) for f in fs
             if f.endswith('.png')]
    assert sorted(local) == ['c0_0.png', 'c1_0.png']
    grid = cv2.imread(str(out / 'vis' / 'c0.png'))[..., ::-1]
    assert (np.load(npy_dir / 'c0_image.npy') == grid).all()
    # the overlay video of the source: its 32 frames of 128 px, enlarged
    # ×2 for the label band under them
    video = np.load(npy_dir / 'c1_video.npy')
    assert video.shape[0] == 32 and video.shape[2:] == (256, 3)
    assert video.shape[1] > 256 and video.dtype == np.uint8
    assert not [w for w in recwarn if 'get_instance' in str(w.message)]


@pytest.mark.parametrize('out_type', ['none'])
def test_visualizer_rejects_unknown_out_type(out_type, tmp_path):
    from mmaction_aosa.visualization import SaliencyVisualizer
    vis = SaliencyVisualizer.get_instance('reject_vis')
    frames, _ = moving_square_clip(T=4, H=16, W=16, size=4)
    with pytest.raises(ValueError, match='out_type'):
        vis.add_saliency('x', frames, np.zeros((4, 16, 16)), out_dir=str(
            tmp_path), out_type='avi')
