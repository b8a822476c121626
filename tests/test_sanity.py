"""Cascading model-parameter randomisation (Adebayo et al.)."""
import os.path as osp

import numpy as np
import pytest
import torch
from conftest import REPO, build_model, moving_square_clip, preset

from mmaction_aosa.evaluation import (cascade_randomization, model_stages,
                                      plot_cascade, randomize_, spearman)
from mmaction_aosa.evaluation.sanity import rankdata
from mmaction_aosa.registry import EXPLAINERS


def test_rankdata_averages_ties():
    np.testing.assert_array_equal(rankdata([10, 20, 20, 5]),
                                  [2, 3.5, 3.5, 1])


def test_spearman_closed_forms():
    x = np.arange(50.0)
    assert spearman(x, x**3) == pytest.approx(1.0)  # monotone: 1
    assert spearman(x, -np.exp(x / 10)) == pytest.approx(-1.0)
    assert spearman(x, np.ones(50)) == 0.0  # constant: defined, not NaN
    # the textbook formula 1 - 6Σd²/(n(n²-1)) without ties
    a, b = np.array([1, 2, 3, 4, 5.]), np.array([2, 1, 4, 3, 5.])
    assert spearman(a, b) == pytest.approx(1 - 6 * 4 / (5 * 24))
    scipy = pytest.importorskip('scipy.stats')
    rng = np.random.default_rng(0)
    u, v = rng.integers(0, 5, 200), rng.normal(size=200)
    assert spearman(u, v) == pytest.approx(scipy.spearmanr(u, v)[0])


@pytest.mark.parametrize('family,names', [
    ('tiny_r3d', ['head', 'layer4', 'layer3', 'layer2', 'layer1', 'conv1']),
    ('tiny_r2plus1d', ['head', 'layer4', 'layer3', 'layer2', 'layer1',
                       'conv1']),
    ('tiny_slowfast', None),
    ('tiny_timesformer', None),
])
def test_stages_run_from_the_head_down(family, names):
    model = build_model(family)
    stages = model_stages(model)
    got = [n for n, _ in stages]
    assert got[0] == 'head'
    if names is not None:
        assert got == names
    # every trainable parameter belongs to exactly one stage
    seen = []
    for _, mods in stages:
        for m in mods:
            seen += [id(p) for p in m.parameters()]
    assert len(seen) == len(set(seen))
    assert set(seen) == {id(p) for p in model.parameters()}


def test_randomize_changes_only_its_stage():
    model = build_model('tiny_r3d')
    before = {n: p.clone() for n, p in model.named_parameters()}
    stages = dict(model_stages(model))
    randomize_(stages['layer4'], seed=3)
    changed = {n for n, p in model.named_parameters()
               if not torch.equal(p, before[n])}
    assert changed and all(n.startswith('backbone.layer4') for n in changed)
    conv = [n for n in changed if 'conv.weight' in n]
    assert conv  # the convolutions got new weights, not only the norms


def test_cascade_on_a_trained_like_model(tmp_path):
    frames, _ = moving_square_clip(T=8, H=64, W=64, size=14)
    model = build_model('tiny_r3d')
    pre = model.data_preprocessor
    clip = (torch.from_numpy(frames).float().permute(3, 0, 1, 2) -
            pre.mean.view(3, 1, 1, 1)) / pre.std.view(3, 1, 1, 1)
    explainer = EXPLAINERS.build(dict(type='GradCAM'))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    rows = cascade_randomization(explainer, model, clip)
    assert [r['stage'] for r in rows] == [
        'original', 'head', 'layer4', 'layer3', 'layer2', 'layer1', 'conv1']
    assert rows[0]['spearman'] == 1.0
    assert all(-1 <= r['spearman'] <= 1 for r in rows)
    assert rows[-1]['spearman'] < 0.9  # fully random: a different map
    # the model itself was not touched
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k
    # a subset of stages, and an unknown stage
    rows = cascade_randomization(explainer, model, clip, target=0,
                                 stages=['head', 'layer4'])
    assert [r['stage'] for r in rows] == ['original', 'head', 'layer4']
    with pytest.raises(ValueError, match='unknown stages'):
        cascade_randomization(explainer, model, clip, 0, stages=['fc9'])
    png = plot_cascade({'gradcam': rows}, str(tmp_path / 'sanity.png'))
    with open(png, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def _tiny_trained_r3d():
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmaction.registry import MODELS

    from mmaction_aosa.compat import load_checkpoint
    init_default_scope('mmaction')
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'tiny',
                                   'tiny_r3d_synthetic.py'))
    model = MODELS.build(cfg.model).eval()
    load_checkpoint(model, osp.join(REPO, 'checkpoints',
                                    'tiny_r3d_synthetic.pth'))
    return model


def test_aosa_approx_explains_the_model_not_the_clip():
    """Cascading randomisation of the trained tiny R3D on generated clips
    (a red square whose axis of motion is the class, and distractors).

    The paper's one-gradient form with its ReLU (``aosa_approx_paper``)
    follows the contrast between clip and fill: its map keeps a Spearman
    near 0.9 with the head random and above 0.5 with every layer random.
    The default AOSA-approx must lose its map once the weights are random:
    below 0.2 from layer4 down to conv1. With the head alone random it
    stays below 0.5 here (0.45 on these two clips, AOSA 0.16); the issue's
    goal of < 0.3 is not met on every clip set, by AOSA either
    (docs/metrics.md, "Sanity check of AOSA-approx" and "A second tuning
    batch")."""
    from mmaction_aosa.datasets.synthetic import make_batch
    model = _tiny_trained_r3d()
    frames, labels, _ = make_batch(seed=5, num_videos=2)
    pre = model.data_preprocessor
    clips = [(torch.from_numpy(f).float().permute(3, 0, 1, 2) -
              pre.mean.view(3, 1, 1, 1)) / pre.std.view(3, 1, 1, 1)
             for f in frames]
    rho = {}
    for name in ('aosa_approx', 'aosa_approx_paper'):
        explainer = EXPLAINERS.build(preset(name))
        rows = [cascade_randomization(explainer, model, c) for c in clips]
        stages = [r['stage'] for r in rows[0]]
        assert stages[:2] == ['original', 'head'] and stages[-1] == 'conv1'
        rho[name] = {s: np.mean([r[i]['spearman'] for r in rows])
                     for i, s in enumerate(stages)}
    approx, paper = rho['aosa_approx'], rho['aosa_approx_paper']
    assert approx['head'] < 0.5, rho
    assert all(v < 0.2 for s, v in approx.items()
               if s not in ('original', 'head')), rho
    assert paper['head'] > 0.6 and paper['conv1'] > 0.5, rho
