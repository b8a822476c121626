"""Shared fixtures: generated clips with known moving objects, tiny models."""
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_DATA = osp.normpath(osp.join(REPO, '..', 'shared', 'data'))
sys.path.insert(0, REPO)

import mmaction_aosa  # noqa: E402,F401

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


def textured_background(h, w, seed=0):
    rng = np.random.default_rng(seed)
    small = rng.integers(60, 200, (h // 8 + 1, w // 8 + 1, 3)).astype(
        np.uint8)
    bg = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return bg


def moving_square_clip(T=16, H=64, W=64, start=(8, 24), velocity=(2, 0),
                       size=12, colour=(255, 40, 40), distractor=None,
                       seed=0):
    """T×H×W×3 uint8 RGB frames of a square moving ``velocity`` px/frame.

    Returns:
        tuple: frames, boxes T×4 (x, y, w, h) of the square.
    """
    bg = textured_background(H, W, seed)
    frames = np.repeat(bg[None], T, axis=0).copy()
    boxes = np.zeros((T, 4), int)
    for t in range(T):
        x = int(round(start[0] + velocity[0] * t))
        y = int(round(start[1] + velocity[1] * t))
        if distractor is not None:
            dx = int(round(distractor[0][0] + distractor[1][0] * t))
            dy = int(round(distractor[0][1] + distractor[1][1] * t))
            frames[t, max(dy, 0):dy + size, max(dx, 0):dx + size] = (
                40, 200, 40)
        frames[t, max(y, 0):y + size, max(x, 0):x + size] = colour
        boxes[t] = (x, y, size, size)
    return frames, boxes


def write_mp4(path, frames, fps=8):
    os.makedirs(osp.dirname(path), exist_ok=True)
    h, w = frames.shape[1:3]
    vw = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps, (w, h))
    for f in frames:
        vw.write(np.ascontiguousarray(f[..., ::-1]))
    vw.release()


def build_model(config_name):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmaction.registry import MODELS
    init_default_scope('mmaction')
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'models', f'{config_name}.py'))
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


class RedDetector(torch.nn.Module):
    """A hand-built 'recognizer' whose score depends only on red voxels.

    Logit of class 0 = gain × mean over voxels of ReLU(red − green − 0.5)
    in normalised units: only a saturated red object raises it. Class 1 has
    a constant logit. It exposes the parts of the mmaction2 recognizer API
    that explainers use (data_preprocessor, extract_feat(stage='head')).
    """

    def __init__(self, gain=50.0, num_classes=2):
        super().__init__()
        from mmaction.models import ActionDataPreprocessor
        self.data_preprocessor = ActionDataPreprocessor(
            mean=[127.5] * 3, std=[127.5] * 3, format_shape='NCTHW')
        self.gain = torch.nn.Parameter(torch.tensor(gain))
        self.num_classes = num_classes

    def extract_feat(self, inputs, stage='head', **kwargs):
        x = inputs.reshape((-1, ) + inputs.shape[2:])  # fold views
        red = torch.relu(x[:, 0] - x[:, 1] - 0.5).mean(dim=(1, 2, 3))
        logits = torch.zeros(x.shape[0], self.num_classes, dtype=x.dtype)
        logits[:, 0] = self.gain * red
        return logits, {}


def normalise(frames):
    """T×H×W×3 uint8 → C×T×H×W normalised like RedDetector expects."""
    x = torch.from_numpy(frames).float().permute(3, 0, 1, 2)
    return (x - 127.5) / 127.5


@pytest.fixture
def red_detector():
    return RedDetector()


def preset(name):
    """The explainer config of the preset ``name`` (as ``--explainer NAME``
    resolves it: configs/_base_/explainers/NAME.py)."""
    from mmengine.config import Config

    from mmaction_aosa.runs import resolve_explainer
    return dict(resolve_explainer(name, Config()))


def shared_data(*parts):
    path = osp.join(SHARED_DATA, *parts)
    if not osp.exists(path):
        pytest.skip(f'{path} is absent (../shared/data is not beside the '
                    'checkout)')
    return path


# -- configs/zoo made small ------------------------------------------------
#: Per configs/zoo config: the --cfg-options that make it small (random
#: weights, few frames, 64 px; the pipeline keeps its multi-crop or
#: multi-clip views), and the explained clip that gives: frames, size,
#: views per sample and the centre view.
_SMALL_PIPELINE = {'test_dataloader.num_workers': 0,
                   'test_dataloader.dataset.pipeline.3.scale': (-1, 64),
                   'test_dataloader.dataset.pipeline.4.crop_size': 64}
#: TenCrop's corners differ from its centre only on a larger frame
_TENCROP = {'test_dataloader.dataset.pipeline.3.scale': (-1, 72)}
_P = 'test_dataloader.dataset.pipeline.1.'
ZOO = {
    'tsn_r50': dict(opts={'model.backbone.depth': 18,
                          'model.cls_head.in_channels': 512,
                          _P + 'num_clips': 8, **_TENCROP},
                    frames=8, size=64, views=10, center=8),  # TenCrop
    'tsm_r50': dict(opts={'model.backbone.depth': 18,
                          'model.cls_head.in_channels': 512, **_TENCROP},
                    frames=8, size=64, views=10, center=8),  # TenCrop
    'i3d_r50': dict(opts={'model.backbone.base_channels': 8,
                          'model.cls_head.in_channels': 256,
                          _P + 'clip_len': 8, _P + 'frame_interval': 2,
                          _P + 'num_clips': 2},
                    frames=8, size=64, views=6, center=5),  # 2 clips×3 crops
    'x3d_s': dict(opts={_P + 'clip_len': 8, _P + 'frame_interval': 2,
                        _P + 'num_clips': 1, _P + 'target_fps': None},
                  frames=8, size=64, views=3, center=2),
    'c2d_r50': dict(opts={'model.backbone.depth': 18,
                          'model.cls_head.in_channels': 512,
                          _P + 'clip_len': 8, _P + 'frame_interval': 2,
                          _P + 'num_clips': 1},
                    frames=8, size=64, views=3, center=2),
    'c3d': dict(opts={'model.backbone.out_dim': 2048, _P + 'num_clips': 1,
                      'test_dataloader.dataset.pipeline.3.scale': (-1, 36),
                      'test_dataloader.dataset.pipeline.4.crop_size': 32},
                frames=16, size=32, views=1, center=0),
    'slowonly_r50': dict(opts={'model.backbone.base_channels': 8,
                               'model.cls_head.in_channels': 256,
                               _P + 'clip_len': 8, _P + 'frame_interval': 4,
                               _P + 'num_clips': 1},
                         frames=8, size=64, views=3, center=2),
    'mvit_s': dict(opts={'model.backbone.spatial_size': 64,
                         'model.backbone.temporal_size': 8,
                         _P + 'clip_len': 8, _P + 'frame_interval': 2,
                         _P + 'num_clips': 1},
                   frames=8, size=64, views=1, center=0),
    # 56 px: Swin pads each stage to whole 7×7 windows (64 px: 16 → 21)
    'swin_t': dict(opts={_P + 'clip_len': 8, _P + 'frame_interval': 2,
                         _P + 'num_clips': 1,
                         'test_dataloader.dataset.pipeline.3.scale': (-1, 56),
                         'test_dataloader.dataset.pipeline.4.crop_size': 56},
                   frames=8, size=56, views=3, center=2),
    'uniformerv2_b': dict(opts={
        'model.backbone.input_resolution': 64, 'model.backbone.width': 64,
        'model.backbone.layers': 4, 'model.backbone.heads': 2,
        'model.backbone.return_list': [2, 3], 'model.backbone.n_layers': 2,
        'model.backbone.n_dim': 64, 'model.backbone.n_head': 2,
        'model.backbone.mlp_dropout': [0.5, 0.5],
        'model.backbone.clip_pretrained': False,
        'model.cls_head.in_channels': 64, _P + 'num_clips': 1},
        frames=8, size=64, views=3, center=2),
}


def zoo_options(name):
    """The cfg-options of a small ZOO model, as a dict."""
    return dict(_SMALL_PIPELINE, **ZOO[name]['opts'])


def zoo_option_args(name):
    """The same as ``--cfg-options`` arguments (``key=value``)."""
    return [f'{k}={v!r}'.replace(' ', '') for k, v in
            zoo_options(name).items()]


def zoo_config(name):
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'zoo', f'{name}.py'))
    cfg.merge_from_dict(zoo_options(name))
    return cfg


def build_zoo(name):
    """A small ZOO model with random weights (seed 0), in eval mode."""
    from mmengine.registry import init_default_scope
    from mmaction.registry import MODELS
    init_default_scope('mmaction')
    cfg = zoo_config(name)
    torch.manual_seed(0)
    return MODELS.build(cfg.model).eval()


def run_tool(script, argv):
    """Run tools/<script> in this process (as its ``main``): the zoo tests
    run many small explain runs, and a new interpreter each would spend
    most of the time importing."""
    import importlib.util

    from mmaction_aosa.runs import workdir
    spec = importlib.util.spec_from_file_location(
        f'_tool_{script[:-3]}', osp.join(REPO, 'tools', script))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    held = set(workdir._held)
    try:
        return mod.main([str(a) for a in argv])
    finally:
        # a run holds its work dir's lock until its process ends; this
        # process goes on, so release it (later tests count held dirs)
        for key in set(workdir._held) - held:
            workdir._held.pop(key).close()


def square_video(path, T=48, H=96, W=128, size=16, velocity=(2, 0),
                 start=(4, 40)):
    """An mp4 of a red square moving over a textured background, with its
    boxes in the generated benchmark's per-clip format
    (``<dir>/../boxes/<stem>.json``, where the pointing game finds them).

    Returns:
        np.ndarray: T×4 (x, y, w, h) boxes.
    """
    import json
    frames, boxes = moving_square_clip(T=T, H=H, W=W, start=start,
                                       velocity=velocity, size=size)
    write_mp4(path, frames)
    stem = osp.splitext(osp.basename(path))[0]
    box_dir = osp.join(osp.dirname(osp.dirname(path)), 'boxes')
    os.makedirs(box_dir, exist_ok=True)
    with open(osp.join(box_dir, f'{stem}.json'), 'w') as f:
        json.dump({'boxes': boxes.tolist()}, f)
    return boxes
