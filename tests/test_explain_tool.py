"""tools/explain.py end to end on the four tiny families and on bad input."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import REPO, moving_square_clip, write_mp4

from mmaction_aosa import load_map
from mmaction_aosa.runs import read_summary

FAMILIES = {  # config, frames the model sees
    'r3d': 16, 'r2plus1d': 16, 'slowfast': 16, 'timesformer': 8}
# small AOSA (N = 4×4 masks) keeps each run to seconds
FAST = ['explainer.anchor_stride=28', 'explainer.box_size=56',
        'explainer.batch_size=16']


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp('videos')
    for i, (start, vel) in enumerate([((4, 40), (3, 0)), ((100, 40),
                                                          (-3, 0))]):
        frames, _ = moving_square_clip(T=32, H=128, W=128, start=start,
                                       velocity=vel, size=20, seed=i)
        write_mp4(str(root / 'videos' / f'clip{i}.mp4'), frames)
    short, _ = moving_square_clip(T=8, H=128, W=128)
    write_mp4(str(root / 'videos' / 'short.mp4'), short)
    (root / 'videos' / 'corrupt.mp4').write_bytes(b'\x00not an mp4' * 100)
    (root / 'good.txt').write_text('clip0.mp4 0\nclip1.mp4 1\n')
    (root / 'bad.txt').write_text(
        'clip0.mp4 0\nmissing.mp4 1\ncorrupt.mp4 2\nshort.mp4 3\n')
    return root


def explain(config, work_dir, *extra, ann=None, root=None, opts=()):
    cmd = [sys.executable, osp.join(REPO, 'tools', 'explain.py'),
           osp.join(REPO, 'configs', config), '--work-dir', str(work_dir),
           *extra]
    options = list(FAST) + list(opts)
    if ann is not None:
        options += [f'test_dataloader.dataset.ann_file={ann}',
                    f'test_dataloader.dataset.data_prefix.video={root}']
    cmd += ['--cfg-options', *options]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO,
                          timeout=600)


def explain_here(capsys, config, work_dir, *extra, opts=()):
    """tools/explain.py in this process (for input refused before any
    video: no interpreter start); returns (exit code, stderr)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'explain_tool', osp.join(REPO, 'tools', 'explain.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    code = tool.main([osp.join(REPO, 'configs', config), '--work-dir',
                      str(work_dir), *extra, '--cfg-options', *FAST, *opts])
    return code, capsys.readouterr().err


def no_temp_files(work_dir):
    for dirpath, _, files in os.walk(work_dir):
        assert not [f for f in files if f.startswith('.tmp_')], dirpath


def check_mp4(path, frames, width, min_height):
    """The overlay has ``frames`` frames ``width`` wide, and a label band
    under the frame (taller than ``min_height``)."""
    cap = cv2.VideoCapture(str(path))
    n = 0
    while True:
        ok, img = cap.read()
        if not ok:
            break
        assert img.shape[1] == width and img.shape[0] > min_height
        n += 1
    assert n == frames


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_explain_writes_outputs_for_each_family(family, videos, tmp_path):
    T = FAMILIES[family]
    res = explain(f'aosa_tiny_{family}_synthetic.py', tmp_path,
                  ann=videos / 'good.txt', root=videos / 'videos')
    assert res.returncode == 0, res.stderr[-3000:] + res.stdout[-3000:]
    summary = read_summary(str(tmp_path / 'summary.jsonl'))
    assert set(summary) == {'clip0', 'clip1'}
    for vid, rec in summary.items():
        assert rec['status'] == 'ok' and rec['error'] is None
        assert 0 <= rec['target'] < 4 and 0 < rec['score'] <= 1
        m = load_map(str(tmp_path / 'maps' / f'{vid}.npz'))
        assert m['saliency'].shape == (T, 112, 112)
        assert np.isfinite(m['saliency']).all()
        assert m['method'] == 'AOSA' and m['target'] == rec['target']
        assert m['params']['anchor_stride'] == 28
        assert m['probs'].shape == (4, )
        assert m['score'] == pytest.approx(m['probs'][m['target']])
        # at the source's size (128 px, enlarged ×2 for a readable label)
        # and speed: every source frame the clip spans (to the last
        # sampled frame and its sampling interval, within the 32)
        inds = m['geometry']['frame_inds']
        last = min(inds[-1] + inds[1] - inds[0] - 1, 31)
        check_mp4(tmp_path / 'vis' / f'{vid}.mp4', last - inds[0] + 1, 256,
                  256)
    no_temp_files(tmp_path)


def test_bad_videos_are_recorded_and_the_run_goes_on(videos, tmp_path):
    res = explain('aosa_tiny_r3d_synthetic.py', tmp_path, '--no-vis',
                  ann=videos / 'bad.txt', root=videos / 'videos')
    assert res.returncode == 1, res.stderr[-3000:]
    s = read_summary(str(tmp_path / 'summary.jsonl'))
    assert s['clip0']['status'] == 'ok'
    assert 'video not found' in s['missing']['error']
    assert s['corrupt']['status'] == 'failed'
    assert 'cannot decode' in s['corrupt']['error']
    assert 'fewer than the 32' in s['short']['error']
    assert sorted(os.listdir(tmp_path / 'maps')) == ['clip0.npz']
    assert not (tmp_path / 'vis').exists()
    no_temp_files(tmp_path)

    # a rerun skips the finished video and retries the failed ones
    before = os.stat(tmp_path / 'maps' / 'clip0.npz').st_mtime_ns
    res = explain('aosa_tiny_r3d_synthetic.py', tmp_path, '--no-vis',
                  ann=videos / 'bad.txt', root=videos / 'videos')
    assert res.returncode == 1
    assert os.stat(tmp_path / 'maps' / 'clip0.npz').st_mtime_ns == before
    lines = [json.loads(x) for x in
             (tmp_path / 'summary.jsonl').read_text().splitlines()]
    assert sum(r['video'] == 'clip0' for r in lines) == 1
    assert sum(r['video'] == 'missing' for r in lines) == 2


def test_target_out_of_range_and_nan_scores(videos, tmp_path):
    res = explain('aosa_tiny_r3d_synthetic.py', tmp_path / 'a', '--no-vis',
                  ann=videos / 'good.txt', root=videos / 'videos',
                  opts=['explain_target=7'])
    assert res.returncode == 1
    s = read_summary(str(tmp_path / 'a' / 'summary.jsonl'))
    assert all('target class 7 is out of range for a model with 4 classes'
               in r['error'] for r in s.values())
    res = explain('aosa_tiny_r3d_synthetic.py', tmp_path / 'b', '--video',
                  str(videos / 'videos' / 'clip0.mp4'), '--no-vis',
                  opts=['model.data_preprocessor.std=[0,0,0]',
                        'model.data_preprocessor.mean=[0,0,0]'])
    assert res.returncode == 1
    s = read_summary(str(tmp_path / 'b' / 'summary.jsonl'))
    assert 'non-finite' in s['clip0']['error']


def test_bad_arguments_fail_before_any_video(videos, tmp_path, capsys):
    cfg = 'aosa_tiny_r3d_synthetic.py'
    code, err = explain_here(capsys, cfg, tmp_path,
                             str(tmp_path / 'missing.pth'))
    assert code == 2 and 'checkpoint not found' in err
    code, err = explain_here(capsys, cfg, tmp_path, '--explainer',
                             'NoSuchMethod')
    assert code == 2 and 'unknown explainer' in err
    assert 'aosa' in err  # lists what is available
    code, err = explain_here(capsys, 'no_such_config.py', tmp_path)
    assert code == 2 and 'config not found' in err
    code, err = explain_here(capsys, cfg, tmp_path, '--video',
                             str(tmp_path / 'nope.mp4'))
    assert code == 2 and 'video not found' in err
    # a missing test set stops before the Runner, naming the options (the
    # tool as a process of its own: its exit code as a shell sees it; a
    # work dir of its own, as this process holds the lock of tmp_path)
    res = explain(cfg, tmp_path / 'sub', ann=tmp_path / 'no_list.txt',
                  root=videos / 'videos')
    assert res.returncode == 2, res.stderr[-2000:]
    assert 'test set list not found' in res.stderr
    assert 'test_dataloader.dataset.ann_file=' in res.stderr
    assert 'Runner' not in res.stdout + res.stderr  # nothing was built
    assert not (tmp_path / 'maps').exists()
    assert not (tmp_path / 'sub' / 'maps').exists()


def test_check_test_set_joins_data_root_like_mmengine(tmp_path):
    from mmaction_aosa.runs.config import RunError, check_test_set
    (tmp_path / 'videos').mkdir()
    (tmp_path / 'list.txt').write_text('a.mp4 0\n')
    check_test_set(dict(data_root=str(tmp_path), ann_file='list.txt',
                        data_prefix=dict(video='videos')))
    check_test_set(dict(type='GeneratedDataset'))  # no list file: passes
    with pytest.raises(RunError, match='data_prefix.video'):
        check_test_set(dict(data_root=str(tmp_path), ann_file='list.txt',
                            data_prefix=dict(video='nope')))
    with pytest.raises(RunError, match='data_prefix.img=DIR'):
        check_test_set(dict(ann_file=str(tmp_path / 'x.txt'),
                            data_prefix=dict(img=str(tmp_path))))


def test_single_video_with_checkpoint(videos, tmp_path):
    import torch
    from conftest import build_model
    ckpt = tmp_path / 'tiny.pth'
    torch.save({'state_dict': build_model('tiny_r3d').state_dict(),
                'meta': {'dataset_meta': {'classes': list('wxyz')}}}, ckpt)
    res = explain('aosa_tiny_r3d_synthetic.py', tmp_path / 'out', str(ckpt),
                  '--video', str(videos / 'videos' / 'clip1.mp4'))
    assert res.returncode == 0, res.stderr[-3000:]
    assert (tmp_path / 'out' / 'maps' / 'clip1.npz').exists()
    assert (tmp_path / 'out' / 'vis' / 'clip1.mp4').exists()
    # a quiet terminal (issue 14, item 6): what is explained with what, one
    # line per video, the metric line and the summary; the set-up dumps
    # only in the log file
    lines = [ln for ln in (res.stdout + res.stderr).splitlines()
             if ln.strip()]
    assert len(lines) == 4, lines
    assert 'explaining ' in lines[0] and f'weights loaded from {ckpt}' in \
        lines[0] and "AOSA (the config's explainer" in lines[0] and \
        'from --cfg-options: anchor_stride=28, box_size=56' in lines[0]
    assert '[1/1, ETA 0:00:00] clip1: ' in lines[1]
    assert ' (class ' in lines[1] and ' p=' in lines[1]  # named: wxyz
    assert 'explained 1 videos, 0 failed' in lines[-1]
    log = ''.join(open(f).read() for f in glob.glob(
        str(tmp_path / 'out' / '*' / '*.log')))
    for noise in ('System environment', 'Config:', 'Hooks will be executed',
                  'FileClient', 'HardDiskBackend', 'Warning'):
        assert noise not in res.stdout + res.stderr, noise
    assert 'System environment' in log and 'Hooks will be executed' in log


def test_resume_refuses_maps_of_another_run(videos, tmp_path, capsys):
    import torch
    from conftest import build_model
    ckpt = tmp_path / 'a.pth'
    torch.save({'state_dict': build_model('tiny_r3d').state_dict()}, ckpt)
    video = str(videos / 'videos' / 'clip0.mp4')
    out = tmp_path / 'out'
    first = explain('aosa_tiny_r3d_synthetic.py', out, str(ckpt),
                    '--video', video)
    assert first.returncode == 0, first.stderr[-3000:]
    run = json.loads((out / 'run.json').read_text())
    assert run['explainer']['anchor_stride'] == 28
    made = (out / 'maps' / 'clip0.npz').stat().st_mtime_ns
    # the same run resumes: the map is kept, not made again
    same = explain('aosa_tiny_r3d_synthetic.py', out, str(ckpt),
                   '--video', video, '--verbose')
    assert same.returncode == 0, same.stderr[-3000:]
    # --verbose prints the set-up dumps too
    for dump in ('System environment', 'Hooks will be executed'):
        assert dump in same.stdout + same.stderr, dump
    assert (out / 'maps' / 'clip0.npz').stat().st_mtime_ns == made
    # another explainer setting or other weights would mix two runs' maps
    # (refused before any video: run in this process)
    code, err = explain_here(capsys, 'aosa_tiny_r3d_synthetic.py', out,
                             str(ckpt), '--video', video,
                             opts=['explainer.num_cooccurring=1'])
    assert code == 2 and 'explainer differs' in err
    ckpt_b = tmp_path / 'b.pth'
    torch.save({'state_dict': build_model('tiny_r3d').state_dict()}, ckpt_b)
    code, err = explain_here(capsys, 'aosa_tiny_r3d_synthetic.py', out,
                             str(ckpt_b), '--video', video)
    assert code == 2 and 'checkpoint_sha256 differs' in err
    assert (out / 'maps' / 'clip0.npz').stat().st_mtime_ns == made
