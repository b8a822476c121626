"""The code on an older torch than the lock's: checkpoint loading without
``torch.serialization.safe_globals`` (torch < 2.5), simulated by removing
it (only the lock's torch installs on this machine)."""
import collections

import numpy as np
import pytest
import torch

from mmaction_aosa.compat import CheckpointError, load_checkpoint_file


def _runner_like(path):
    torch.save({'state_dict': collections.OrderedDict(w=torch.ones(2)),
                'meta': {'seed': np.int64(7), 'mean': np.array([1.0, 2.0])}},
               path)


def test_checkpoints_on_torch_without_safe_globals(tmp_path, monkeypatch):
    runner = tmp_path / 'runner.pth'
    _runner_like(runner)
    plain = tmp_path / 'plain.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}}, plain)
    # torch < 2.4: no way to allowlist numpy globals
    monkeypatch.delattr(torch.serialization, 'safe_globals')
    added = torch.serialization.add_safe_globals
    monkeypatch.delattr(torch.serialization, 'add_safe_globals')
    assert torch.equal(load_checkpoint_file(str(plain))['state_dict']['w'],
                       torch.ones(2))
    with pytest.raises(CheckpointError) as err:
        load_checkpoint_file(str(runner))
    msg = str(err.value)
    assert 'cannot allowlist' in msg and '--trust-checkpoint' in msg
    assert 'numpy' in msg and '\n' not in msg
    ckpt = load_checkpoint_file(str(runner), trust=True)
    assert ckpt['meta']['seed'] == 7
    # torch 2.4: the allowlist is added for the process
    monkeypatch.setattr(torch.serialization, 'add_safe_globals', added,
                        raising=False)
    try:
        ckpt = load_checkpoint_file(str(runner))
        assert np.array_equal(ckpt['meta']['mean'], [1.0, 2.0])
    finally:
        torch.serialization.clear_safe_globals()

