"""The two pitfalls of the pinned stack: the drn import and safe loading."""
import collections
import sys

import numpy as np
import pytest
import torch
from conftest import build_model

from mmaction_aosa.compat import (CheckpointError, install_drn_stub,
                                  load_checkpoint, load_checkpoint_file)


def test_mmaction_models_import_and_drn_placeholder_refuses_use():
    import mmaction.models  # noqa: F401  (fails without the placeholder)
    mod = sys.modules['mmaction.models.localizers.drn.drn']
    if getattr(mod.DRN, '__module__', '') == 'mmaction_aosa.compat':
        with pytest.raises(ImportError, match='DRN'):
            mod.DRN()
    assert install_drn_stub() is False  # idempotent


class _Evil:
    def __reduce__(self):
        return (print, ('unpickled arbitrary code',))


def _runner_like_checkpoint(model):
    from mmengine.logging import HistoryBuffer
    buf = HistoryBuffer()
    buf.update(0.5)
    return dict(
        meta=dict(epoch=3, seed=np.int64(7), mean=np.array([1.0, 2.0]),
                  dataset_meta=dict(classes=('a', 'b', 'c', 'd')),
                  hist=buf, dtype=np.dtype('float32')),
        state_dict=collections.OrderedDict(model.state_dict()),
        message_hub=dict(log_scalars={'loss': buf}))


def test_safe_loader_reads_runner_checkpoints(tmp_path):
    model = build_model('tiny_r3d')
    path = tmp_path / 'ckpt.pth'
    torch.save(_runner_like_checkpoint(model), path)
    # plain torch.load with weights_only=True (torch >= 2.6 default) refuses
    with pytest.raises(Exception):
        torch.load(path, weights_only=True)
    other = build_model('tiny_r3d')
    for p in other.parameters():
        torch.nn.init.zeros_(p)
    ckpt = load_checkpoint(other, str(path))
    assert ckpt['meta']['dataset_meta']['classes'][0] == 'a'
    for (k, a), b in zip(model.state_dict().items(),
                         other.state_dict().values()):
        assert torch.equal(a, b), k


def test_unsafe_checkpoint_needs_trust(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': _Evil()}, path)
    with pytest.raises(CheckpointError, match='--trust-checkpoint'):
        load_checkpoint_file(str(path))
    assert isinstance(load_checkpoint_file(str(path), trust=True), dict)


def test_missing_and_mismatched_checkpoints(tmp_path):
    model = build_model('tiny_r3d')
    with pytest.raises(CheckpointError, match='not found'):
        load_checkpoint(model, str(tmp_path / 'nope.pth'))
    with pytest.raises(CheckpointError, match='remote'):
        load_checkpoint(model, 'https://download.openmmlab.com/x.pth')
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': build_model('tiny_timesformer').state_dict()},
               path)
    with pytest.raises(CheckpointError, match='does not fit'):
        load_checkpoint(model, str(path))
