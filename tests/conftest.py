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


def shared_data(*parts):
    path = osp.join(SHARED_DATA, *parts)
    if not osp.exists(path):
        pytest.skip(f'{path} is absent (../shared/data is not beside the '
                    'checkout)')
    return path
