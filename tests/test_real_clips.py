"""tools/explain.py on the real clips of ../shared/data (skipped if absent).

Four containers (mp4, avi, mkv) through VideoDataset, and the UCF101-24 JPEG
frames of v_CliffDiving_g01_c01 through RawframeDataset, for the four tiny
families (random weights: this checks decoding, shapes and outputs, not
faithfulness).
"""
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, shared_data

from mmaction_aosa import load_map
from mmaction_aosa.runs import read_summary

FRAMES = {'r3d': 16, 'r2plus1d': 16, 'slowfast': 16, 'timesformer': 8}
VIDEOS = ['kinetics_arm_wrestling_demo.mp4', 'mmaction2_test.mp4',
          'mmaction2_test.avi', 'kinetics_flipping_a_pancake.mkv']
OPTS = ['explainer.anchor_stride=28', 'explainer.box_size=56',
        'explainer.batch_size=16']


def _run(config, work_dir):
    return subprocess.run(
        [sys.executable, os.path.join(REPO, 'tools', 'explain.py'),
         str(config), '--work-dir', str(work_dir), '--no-vis',
         '--cfg-options', *OPTS], capture_output=True, text=True, cwd=REPO,
        timeout=600)


def _check(work_dir, ids, T):
    summary = read_summary(str(work_dir / 'summary.jsonl'))
    assert sorted(summary) == sorted(ids), summary
    for vid in ids:
        assert summary[vid]['status'] == 'ok', summary[vid]
        sal = load_map(str(work_dir / 'maps' / f'{vid}.npz'))['saliency']
        assert sal.shape == (T, 112, 112) and np.isfinite(sal).all()


@pytest.mark.parametrize('family', sorted(FRAMES))
def test_real_videos(family, tmp_path):
    root = shared_data('videos')
    ann = tmp_path / 'real.txt'
    ann.write_text(''.join(f'{v} 0\n' for v in VIDEOS))
    cfg = tmp_path / f'real_{family}.py'
    cfg.write_text(
        f"_base_ = [{os.path.join(REPO, 'configs', f'aosa_tiny_{family}_synthetic.py')!r}]\n"  # noqa: E501
        f"test_dataloader = dict(dataset=dict(ann_file={str(ann)!r}, "
        f"data_prefix=dict(video={root!r})))\n")
    res = _run(cfg, tmp_path / 'out')
    assert res.returncode == 0, res.stderr[-3000:]
    # the .mp4 and .avi of mmaction2_test share a stem: ids keep extensions
    ids = ['kinetics_arm_wrestling_demo', 'mmaction2_test_mp4',
           'mmaction2_test_avi', 'kinetics_flipping_a_pancake']
    _check(tmp_path / 'out', ids, FRAMES[family])


@pytest.mark.parametrize('family', sorted(FRAMES))
def test_ucf24_frame_folder(family, tmp_path):
    root = shared_data('ucf101-24')
    n = len(os.listdir(os.path.join(root, 'CliffDiving',
                                    'v_CliffDiving_g01_c01')))
    ann = tmp_path / 'frames.txt'
    ann.write_text(f'CliffDiving/v_CliffDiving_g01_c01 {n} 0\n')
    clip_len, interval = {'r3d': (16, 2), 'r2plus1d': (16, 2),
                          'slowfast': (16, 2), 'timesformer': (8, 4)}[family]
    cfg = tmp_path / f'frames_{family}.py'
    cfg.write_text(f"""
_base_ = [{os.path.join(REPO, 'configs', f'aosa_tiny_{family}_synthetic.py')!r}]
test_pipeline = [
    dict(type='SampleFrames', clip_len={clip_len}, frame_interval={interval},
         num_clips=1, test_mode=True),
    dict(type='RawFrameDecode'),
    dict(type='Resize', scale=(-1, 128)),
    dict(type='CenterCrop', crop_size=112),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_dataloader = dict(dataset=dict(
    _delete_=True, type='RawframeDataset', ann_file={str(ann)!r},
    data_prefix=dict(img={root!r}), filename_tmpl='image_{{:05d}}.jpg',
    start_index=1, pipeline=test_pipeline, test_mode=True))
""")
    res = _run(cfg, tmp_path / 'out')
    assert res.returncode == 0, res.stderr[-3000:]
    _check(tmp_path / 'out', ['CliffDiving__v_CliffDiving_g01_c01'],
           FRAMES[family])
