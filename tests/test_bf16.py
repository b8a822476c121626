"""Mixed precision on a CPU: what bf16 costs in faithfulness, and when
``amp=True`` uses it (mmaction_aosa/scoring.py)."""
import os.path as osp
import warnings

import pytest
import torch
from conftest import REPO, preset

import mmaction_aosa  # noqa: F401  registers everything
from mmaction_aosa import EXPLAINERS, scoring
from mmaction_aosa.evaluation import spearman
from mmaction_aosa.explainers import AOSA
from mmaction_aosa.scoring import Scorer, autocast_dtype, check_amp


def _tiny_trained_r3d():
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmaction.registry import MODELS

    from mmaction_aosa.compat import load_checkpoint
    init_default_scope('mmaction')
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'tiny', 'tiny_r3d_synthetic.py'))
    model = MODELS.build(cfg.model).eval()
    load_checkpoint(model,
                    osp.join(REPO, 'checkpoints', 'tiny_r3d_synthetic.pth'))
    return model


def _clip(model, seed):
    from mmaction_aosa.datasets.synthetic import make_batch
    frames, labels, _ = make_batch(seed=seed, num_videos=1)
    pre = model.data_preprocessor
    x = torch.from_numpy(frames[0]).float().permute(3, 0, 1, 2)
    x = (x - pre.mean.view(3, 1, 1, 1)) / pre.std.view(3, 1, 1, 1)
    return x, int(labels[0])


def test_forced_bf16_runs_the_model_in_bf16():
    model = _tiny_trained_r3d()
    x, _ = _clip(model, 3)
    scorer = Scorer(model, amp='bf16')
    assert scorer.dtype is torch.bfloat16
    seen = []
    hook = model.backbone.register_forward_hook(
        lambda m, i, o: seen.append(
            (o[0] if isinstance(o, (tuple, list)) else o).dtype))
    with torch.no_grad():
        low = scorer.logits(x[None])
        high = Scorer(model).logits(x[None])
    hook.remove()
    assert seen == [torch.bfloat16, torch.float32]
    assert low.dtype == torch.float32  # logits come back in float32
    assert not torch.equal(low, high)  # a real bf16 computation
    assert torch.allclose(low, high, atol=0.1 * high.abs().max())


@pytest.mark.parametrize('make', [
    lambda **kw: EXPLAINERS.build(dict(preset('aosa_approx'), **kw)),
    lambda **kw: AOSA(anchor_stride=28, box_size=56, rounds=1, **kw),
], ids=['aosa_approx', 'aosa_16_masks'])
def test_bf16_maps_keep_the_fp32_ranking(make):
    """bf16 autocast, forced (this is about faithfulness, not speed): on
    the trained tiny R3D the map keeps Spearman >= 0.99 with the float32
    map."""
    model = _tiny_trained_r3d()
    x, label = _clip(model, 11)
    fp32 = make().explain(model, x, label)
    bf16 = make(amp='bf16').explain(model, x, label)
    assert not torch.equal(fp32, bf16)
    rho = spearman(fp32.numpy(), bf16.numpy())
    assert rho >= 0.99, rho


def test_amp_on_a_cpu_without_native_bf16_falls_back_with_one_warning(
        monkeypatch):
    cpu = torch.device('cpu')
    monkeypatch.setattr(scoring, 'cpu_bf16_native', lambda: False)
    monkeypatch.setattr(scoring, '_warned_cpu_amp', False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert autocast_dtype(True, cpu) is None
        assert autocast_dtype(True, cpu) is None
    assert len(caught) == 1 and 'no native bfloat16' in str(caught[0].message)
    monkeypatch.setattr(scoring, 'cpu_bf16_native', lambda: True)
    assert autocast_dtype(True, cpu) is torch.bfloat16
    assert autocast_dtype(False, cpu) is None
    assert autocast_dtype('bf16', cpu) is torch.bfloat16
    assert autocast_dtype(True, torch.device('cuda')) is torch.float16
    for bad in ('fp16', 2, None):
        with pytest.raises(ValueError):
            check_amp(bad)
    assert check_amp('BF16') == 'bf16' and check_amp(0) is False

