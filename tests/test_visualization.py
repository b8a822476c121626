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


# -- overlays at the source video's own size and speed (issue 23, item 4) --
def test_overlay_on_the_source_through_resize_and_crop(tmp_path):
    """A 200×150 video at 12 fps, clip of 8 frames every 3rd, resized by
    0.64 and centre-cropped to 80 px (mmaction2's Resize + CenterCrop): the
    overlay has every source frame of the clip's span, at 12 fps and the
    source size; the square's heat lands on the square; the crop is
    outlined and the rest dimmed."""
    from mmaction_aosa.datasets.boxes import transform_boxes
    from mmaction_aosa.visualization import render_overlay
    frames, boxes = moving_square_clip(T=30, H=150, W=200, start=(30, 60),
                                       velocity=(4, 0), size=24)
    src = str(tmp_path / 'src.mp4')
    write_mp4(src, frames, fps=12)
    inds = list(range(2, 24, 3))  # 8 frames: 2, 5, ..., 23
    scale = (0.64, 0.64)  # 200×150 → 128×96
    crop = [24, 8, 104, 88]  # 80×80 in the resized frame
    clip_boxes = transform_boxes({i: [tuple(boxes[i])] for i in inds}, inds,
                                 scale, crop)
    sal = np.zeros((8, 80, 80), np.float32)
    for t, [(x, y, w, h)] in clip_boxes.items():
        sal[t, y:y + h, x:x + w] = 1
    geometry = dict(frame_inds=inds, start_index=0, scale_factor=scale,
                    crop_bbox=crop)
    out = render_overlay(sal, source=src, geometry=geometry,
                         label='right: 0.90', method='AOSA',
                         video_path=str(tmp_path / 'ov.mp4'))
    assert out['on_source'] and out['why'] is None
    # frames 2..23 and the sampling interval after the last: 2..25, at
    # the source's speed
    assert out['num_frames'] == 24 and out['fps'] == 12
    import av
    with av.open(str(tmp_path / 'ov.mp4')) as c:
        assert float(c.streams.video[0].average_rate) == 12
    decoded = read_frames(tmp_path / 'ov.mp4')
    assert len(decoded) == 24
    # 150 px is under 240: shown ×2, the band under it
    assert decoded[0].shape[1] == 400 and decoded[0].shape[0] > 300
    f = 11  # source frame 11 = model frame 3 (frames 2, 5, 8, 11, ...)
    img = decoded[f - 2]
    x, y, w, h = boxes[f] * 2
    on = img[y + 6:y + h - 6, x + 6:x + w - 6].mean((0, 1))
    assert on[2] > on[0] + 100  # red heat on the red square
    # the crop (24/0.64 = 37.5 … 162.5 px) outlined in white, the frame
    # outside it dimmed to half
    x0, y0, x1, y1 = (np.array([24, 8, 104, 88]) / 0.64 * 2).round()
    assert img[int(y0) + 40, int(x0)].min() > 200  # the outline
    src_img = cv2.resize(frames[f][..., ::-1], (400, 300),
                         interpolation=cv2.INTER_NEAREST)
    left = img[50:250, 5:int(x0) - 5].astype(float).mean()
    assert 0.35 < left / src_img[50:250, 5:int(x0) - 5].mean() < 0.65


def test_timeline_of_sparse_segments_and_long_spans():
    from mmaction_aosa.visualization.source import VideoInfo, timeline
    info = VideoInfo(fps=25.0, num_frames=300, height=240, width=320)
    # 8 TSN segments over the whole video: every frame, each showing the
    # last segment at or before it
    segs = [18, 55, 93, 130, 168, 205, 243, 280]
    plan = timeline(segs, info)
    assert plan.frames[0] == 18 and plan.frames[-1] == 299
    assert plan.step == 1 and plan.fps == 25.0
    assert plan.map_index[plan.frames.index(92)] == 1
    assert plan.map_index[plan.frames.index(93)] == 2
    assert sum(plan.sampled) == 8
    # a span longer than max_frames: every 3rd frame at a third of the rate
    # (the overlay lasts as long as the span)
    plan = timeline([0, 299], info, max_frames=120)
    assert plan.step == 3 and plan.fps == pytest.approx(25 / 3)
    assert len(plan.frames) * plan.step >= 299


def test_label_band_is_readable_at_any_size():
    """The label's font grows with the frame, never under 14 px; a narrow
    frame gets a row of its own for the colour bar."""
    from mmaction_aosa.visualization import LabelBand
    small = LabelBand(336, 336, 'axis_diagonal_down: 0.99', 'AOSA')
    assert small.px == 15 and small.narrow
    hd = LabelBand(1920, 1080, 'arm wrestling: 0.87', 'AOSA')
    assert hd.px == 49 and not hd.narrow
    for band in (small, hd):
        img = band.draw('frame 12 of 300, 0.40 s')
        assert img.shape == (band.height, band.width, 3)
        bright = (img.max(2) > 200).any(1)  # rows with text on them
        rows = np.flatnonzero(bright[:band.pad + band.row])
        # the class label's glyphs are at least 60 % of the font size
        assert rows.max() - rows.min() >= 0.6 * band.px


def test_moviepy_missing_is_told_once(tmp_path, capsys, monkeypatch):
    """mmaction2's TensorBoard backend takes videos only with moviepy
    (torch's add_video prints a line per call without it): without it the
    overlay videos are skipped with one warning, the grids still go."""
    import importlib.util

    from mmaction.visualization.video_backend import TensorboardVisBackend
    from mmengine.visualization import Visualizer

    from mmaction_aosa.visualization import send_to_backends, visualizer
    if importlib.util.find_spec('moviepy') is not None:
        pytest.skip('moviepy is installed')
    got = []

    class Writer:  # what TensorBoard's SummaryWriter does without moviepy
        def add_video(self, *args, **kwargs):
            from torch.utils.tensorboard.summary import make_video
            make_video(np.zeros((1, 2, 4, 4, 3), np.uint8), 4)

        def add_image(self, name, *args, **kwargs):
            got.append(name)

    class FakeTensorboard(TensorboardVisBackend):
        def _init_env(self):
            self._tensorboard = Writer()

    vis = Visualizer.get_instance('moviepy_once', vis_backends=[],
                                  save_dir=str(tmp_path))
    vis._vis_backends = {'tb': FakeTensorboard(str(tmp_path))}
    warned = []
    monkeypatch.setattr(visualizer, 'print_log',
                        lambda msg, **kw: warned.append(msg))
    monkeypatch.setattr(visualizer, '_VIDEO_REFUSED', set())
    frames = np.zeros((4, 8, 8, 3), np.uint8)
    for name in ('a', 'b', 'c'):
        send_to_backends(vis, name, frames[0], frames)
    out = capsys.readouterr()
    assert 'add_video needs package moviepy' not in out.out + out.err
    assert got == ['a', 'b', 'c']
    assert len(warned) == 1 and 'moviepy is not installed' in warned[0]
