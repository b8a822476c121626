"""The committed tiny checkpoints load through the safe loader and classify a
freshly generated held-out split (a seed no training run used) at >= 90%.

The clips are written as mp4 into pytest's tmp_path and read back through
each training config's own test pipeline (one view, a centre crop: 112 px,
the 2D TSM's 64 px) and the model's data_preprocessor, the path of
mmaction2's tools/test.py.
"""
import os.path as osp

import pytest
import torch

import mmaction_aosa  # noqa: F401  (patches the mmaction2 wheel)
from mmaction_aosa.compat import load_checkpoint
from mmaction_aosa.datasets import generate_dataset

ROOT = osp.normpath(osp.join(osp.dirname(__file__), '..'))
FAMILIES = ('r3d', 'r2plus1d', 'slowfast', 'timesformer', 'tsm')
HELD_OUT_SEED = 90210  # training used seeds 0 (train), 1 (val), 2 (test)
NUM_CLIPS = 24
MAX_BYTES = 2 * 1024 * 1024


@pytest.fixture(scope='module')
def held_out(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('held_out'))
    generate_dataset(out, NUM_CLIPS, HELD_OUT_SEED)
    return out


def _config(family):
    from mmengine.config import Config
    return Config.fromfile(
        osp.join(ROOT, 'configs', 'tiny', f'tiny_{family}_synthetic.py'))


def _held_out_logits(family, held_out):
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope
    from mmaction.registry import DATASETS, MODELS

    path = osp.join(ROOT, 'checkpoints', f'tiny_{family}_synthetic.pth')
    assert osp.isfile(path), f'{path} is missing (see checkpoints/README.md)'
    assert osp.getsize(path) < MAX_BYTES

    init_default_scope('mmaction')
    cfg = _config(family)
    # one view, center crop: the pipeline the benchmark explains
    sample = [t for t in cfg.test_pipeline if t['type'] == 'SampleFrames'][0]
    # a 2D model's clips are its segments, one frame each
    views = 1 if cfg.model.type == 'Recognizer2D' else sample['num_clips']
    assert views == 1 and sample.get('test_mode')
    assert any(t['type'] == 'CenterCrop' for t in cfg.test_pipeline)

    model = MODELS.build(cfg.model)
    ckpt = load_checkpoint(model, path)  # weights_only=True + allowlist
    assert 'state_dict' in ckpt
    model.eval()

    ds = DATASETS.build(
        dict(type='VideoDataset', data_root=held_out, ann_file='ann.txt',
             data_prefix=dict(video=''), pipeline=cfg.test_pipeline,
             test_mode=True))
    data = pseudo_collate([ds[i] for i in range(len(ds))])
    with torch.no_grad():
        batch = model.data_preprocessor(data, training=False)
        logits = model.extract_feat(batch['inputs'], stage='head')[0]
    labels = torch.tensor(
        [int(s.gt_label) for s in batch['data_samples']])
    assert logits.shape == (NUM_CLIPS, 4)
    return logits, labels


@pytest.mark.parametrize('family', FAMILIES)
def test_checkpoint_loads_and_classifies(family, held_out):
    logits, labels = _held_out_logits(family, held_out)
    acc = (logits.argmax(1) == labels).float().mean().item()
    assert acc >= 0.9, f'{family}: top-1 {acc:.3f} on held-out seed'

