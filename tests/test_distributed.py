"""torchrun with gloo on CPU, and resume after a kill."""
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from conftest import REPO, build_model, moving_square_clip, write_mp4

from mmaction_aosa import load_map
from mmaction_aosa.runs import read_summary

OPTS = ['explainer.anchor_stride=28', 'explainer.box_size=56',
        'explainer.batch_size=16']


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp('dist')
    names = []
    for i in range(5):
        frames, _ = moving_square_clip(T=32, H=128, W=128, start=(4 + 9 * i,
                                       30 + 7 * i), velocity=(3, 1), size=20,
                                       seed=i)
        write_mp4(str(root / 'videos' / f'v{i}.mp4'), frames)
        names.append(f'v{i}.mp4 {i % 4}')
    (root / 'list.txt').write_text('\n'.join(names) + '\n')
    ckpt = root / 'tiny_r3d.pth'
    torch.save({'state_dict': build_model('tiny_r3d').state_dict()}, ckpt)
    return root


def _args(ds, work_dir):
    return [os.path.join(REPO, 'configs', 'aosa_tiny_r3d_synthetic.py'),
            str(ds / 'tiny_r3d.pth'), '--work-dir', str(work_dir), '--no-vis',
            '--cfg-options', f'test_dataloader.dataset.ann_file={ds}/list.txt',
            f'test_dataloader.dataset.data_prefix.video={ds}/videos', *OPTS]


def _run_single(ds, work_dir):
    return subprocess.run(
        [sys.executable, os.path.join(REPO, 'tools', 'explain.py'),
         *_args(ds, work_dir)], capture_output=True, text=True, timeout=600,
        cwd=REPO)


@pytest.fixture(scope='module')
def single(dataset, tmp_path_factory):
    """One process's maps of the five clips: what both tests compare with."""
    work = tmp_path_factory.mktemp('single') / 'one'
    res = _run_single(dataset, work)
    assert res.returncode == 0, res.stderr[-3000:]
    return work


def _maps(work_dir):
    d = work_dir / 'maps'
    return {f[:-4]: load_map(str(d / f)) for f in sorted(os.listdir(d))}


def test_two_processes_equal_one(dataset, single, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    res = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
         '--master_port=29533', os.path.join(REPO, 'tools', 'explain.py'),
         *_args(dataset, tmp_path / 'two'), '--launcher', 'pytorch'],
        capture_output=True, text=True, timeout=600, cwd=REPO, env=env)
    assert res.returncode == 0, res.stderr[-4000:]
    # the terminal counts the videos of both ranks (rank 0 holds 3 of 5)
    text = res.stdout + res.stderr
    counts = [int(m) for m in re.findall(r'\[(\d)/5 on 2 ranks, ETA', text)]
    assert len(counts) == 3 and counts == sorted(counts), text[-3000:]
    assert counts[-1] >= 4  # rank 1 finished a video by rank 0's third
    assert 'explained 5 videos, 0 failed (per rank: 3, 2)' in text
    assert not list((tmp_path / 'two').glob('.progress_rank*'))
    one, two = _maps(single), _maps(tmp_path / 'two')
    assert sorted(one) == sorted(two) == [f'v{i}' for i in range(5)]
    for k in one:
        np.testing.assert_allclose(one[k]['saliency'], two[k]['saliency'],
                                   atol=1e-5)
        assert one[k]['target'] == two[k]['target']
    # each video written exactly once, by one of the two ranks
    lines = (tmp_path / 'two' / 'summary.jsonl').read_text().splitlines()
    assert len(lines) == 5
    assert {r['rank'] for r in read_summary(
        str(tmp_path / 'two' / 'summary.jsonl')).values()} == {0, 1}


def test_killed_run_resumes_to_the_same_maps(dataset, single, tmp_path):
    work = tmp_path / 'killed'
    proc = subprocess.Popen(
        [sys.executable, os.path.join(REPO, 'tools', 'explain.py'),
         *_args(dataset, work)], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, cwd=REPO)
    deadline = time.time() + 300
    maps = work / 'maps'
    while time.time() < deadline:
        if maps.exists() and len([f for f in os.listdir(maps)
                                  if f.endswith('.npz')]) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_before = len([f for f in os.listdir(maps) if f.endswith('.npz')])
    assert 2 <= n_before
    res = _run_single(dataset, work)
    assert res.returncode == 0, res.stderr[-3000:]
    got, want = _maps(work), _maps(single)
    assert sorted(got) == sorted(want)
    for k in want:
        np.testing.assert_allclose(got[k]['saliency'], want[k]['saliency'],
                                   atol=1e-6)
    # nothing half-written, every video once in the summary's last records
    assert not [f for f in os.listdir(maps) if f.startswith('.tmp_')]
    summary = read_summary(str(work / 'summary.jsonl'))
    assert sorted(summary) == sorted(want)
    assert all(r['status'] == 'ok' for r in summary.values())
