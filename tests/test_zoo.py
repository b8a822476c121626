"""Every configs/zoo config, made small, through tools/explain.py with
AOSA (coarse stride), AOSA-approx and Grad-CAM, and rollout where the model
has attention (README, "Supported models": this test is that table).

Slow (about 2–4 minutes on 2 CPU cores): not part of ``make test``; run it
with ``make test-zoo`` (``pytest -m slow tests/test_zoo.py``).
"""
import os.path as osp

import numpy as np
import pytest
from conftest import REPO, ZOO, build_zoo, run_tool, square_video, \
    zoo_option_args

from mmaction_aosa import load_map
from mmaction_aosa.evaluation import model_stages
from mmaction_aosa.runs import read_summary

pytestmark = pytest.mark.slow

#: Rollout per family: None = not run; True = a map; a string = the
#: refusal's reason, in the video's error.
ROLLOUT = {'uniformerv2_b': True, 'mvit_s': 'MViT pools',
           'swin_t': 'windows', 'i3d_r50': 'a CNN has no attention'}


def methods(name):
    s = ZOO[name]['size'] // 2  # 2×2 anchors
    coarse = f'anchor_stride={s},box_size={s}'
    out = [('aosa', f'aosa:{coarse},num_cooccurring=1'),
           ('aosa_approx', f'aosa_approx:{coarse},num_cooccurring=1'),
           ('gradcam', 'gradcam')]
    if name in ROLLOUT:
        out.append(('rollout', 'rollout'))
    return out


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('zoo') / 'videos' / 'sq.mp4')
    square_video(path)
    return path


@pytest.mark.parametrize('name', sorted(ZOO))
def test_zoo_config_explains_with_every_method(name, video, tmp_path):
    z = ZOO[name]
    for label, method in methods(name):
        wd = tmp_path / label
        rc = run_tool('explain.py', [
            osp.join(REPO, 'configs', 'zoo', f'{name}.py'), '--video', video,
            '--work-dir', wd, '--explainer', method, '--no-vis',
            '--cfg-options', *zoo_option_args(name)])
        summary = read_summary(str(wd / 'summary.jsonl'))['sq']
        refusal = ROLLOUT.get(name) if label == 'rollout' else None
        if isinstance(refusal, str):  # the method says why it cannot apply
            assert rc == 1 and summary['status'] == 'failed'
            assert 'AttentionRollout' in summary['error']
            assert refusal in summary['error']
            continue
        assert rc == 0, (label, summary)
        m = load_map(str(wd / 'maps' / 'sq.npz'))
        sal = m['saliency']
        assert sal.shape == (z['frames'], z['size'], z['size']), label
        assert np.isfinite(sal).all()
        if label in ('gradcam', 'rollout'):
            assert sal.std() > 0, label  # the layer's layout was read
        # one view: the centre crop's middle clip, its own source frames
        assert m['view'] == z['center']
        geo = m['geometry']
        assert len(geo['frame_inds']) == z['frames']
        x0, y0, x1, y1 = geo['crop_bbox']
        assert x1 - x0 == y1 - y0 == z['size']
        h, w = (round(d * s) for d, s in zip((96, 128),
                                                geo['scale_factor'][::-1]))
        assert abs((x0 + x1) / 2 - w / 2) <= 1 and \
            abs((y0 + y1) / 2 - h / 2) <= 1, geo


@pytest.mark.parametrize('name', sorted(ZOO))
def test_zoo_stages_cover_every_parameter_once(name):
    model = build_zoo(name)
    stages = model_stages(model)
    assert stages[0][0] == 'head' and len(stages) >= 4
    seen = [id(p) for _, mods in stages for m in mods
            for p in m.parameters()]
    assert len(seen) == len(set(seen))
    assert set(seen) == {id(p) for p in model.parameters()}
