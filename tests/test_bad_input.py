"""Bad input to ``tools/explain.py`` and ``tools/eval_saliency.py`` (issue
13): each case gives a one-line error and the exit code of README.md's
"Bad input" table, and loses nothing already done."""
import fcntl
import importlib.util
import json
import os
import os.path as osp
import pickle

import pytest
import torch
from conftest import REPO, moving_square_clip, write_mp4
from test_explain_tool import explain, videos  # noqa: F401 - fixture

from mmaction_aosa.compat import CheckpointError, load_checkpoint_file
from mmaction_aosa.runs import read_summary

CFG = osp.join(REPO, 'configs', 'aosa_tiny_r3d_synthetic.py')
CKPT = osp.join(REPO, 'checkpoints', 'tiny_r3d_synthetic.pth')
APPROX = ['--explainer', 'aosa_approx', '--no-vis']


def tool(name):
    spec = importlib.util.spec_from_file_location(
        f'tool_{name}', osp.join(REPO, 'tools', f'{name}.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_tool(capsys, name, *argv):
    """The tool in this process (for input refused before any video)."""
    code = tool(name).main([CFG, CKPT, *argv])
    err = capsys.readouterr().err
    return code, [ln for ln in err.splitlines() if ln.strip()]


def refused(capsys, *argv, name='explain', match=''):
    code, lines = run_tool(capsys, name, *argv)
    assert code == 2, lines
    assert len(lines) == 1, lines  # one line, printed once
    assert lines[0].startswith('error: ') and match in lines[0], lines
    return lines[0]


# items 5, 6, 7, 12 (eval): explainer arguments are checked at once
@pytest.mark.parametrize('opts', [
    ['explainer.anchor_stride=0'], ['explainer.anchor_stride=-4'],
    ['explainer.box_size=0'], ['explainer.box_size=-16'],
    ['explainer.box_size=[16,0]']])
def test_bad_explainer_arguments_exit_2(capsys, tmp_path, opts):
    refused(capsys, '--work-dir', str(tmp_path), '--explainer',
            'aosa_approx', '--cfg-options', *opts,
            match='bad explainer config')
    assert not (tmp_path / 'maps').exists()


def test_explainer_spec_overrides_checked(capsys, tmp_path):
    refused(capsys, '--work-dir', str(tmp_path), '--explainer',
            'aosa_approx:box_size=0', match='box_size')
    refused(capsys, '--work-dir', str(tmp_path), '--explainers',
            'aosa_approx:box_size=0', name='eval_saliency', match='box_size')


# item 8 and "also seen"
def test_config_syntax_error_exit_2(capsys, tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text('model = dict(type=\n')
    code = tool('explain').main([str(bad), '--work-dir', str(tmp_path)])
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1, lines
    assert 'cannot read config' in lines[0]


def test_unwritable_work_dir_exit_2(capsys, tmp_path):
    (tmp_path / 'file').write_text('x')  # root ignores chmod: a file blocks
    refused(capsys, '--work-dir', str(tmp_path / 'file' / 'out'), *APPROX,
            match='cannot write')


def test_directory_as_video_exit_2(capsys, tmp_path):
    (tmp_path / 'emptydir.mp4').mkdir()
    refused(capsys, '--work-dir', str(tmp_path / 'out'), '--video',
            str(tmp_path / 'emptydir.mp4'), *APPROX, match='is a folder')


# item 4
class _Evil:
    def __reduce__(self):
        return (os.system, ('true', ))


def test_checkpoint_messages(tmp_path):
    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': _Evil()}, evil)
    with pytest.raises(CheckpointError, match='posix.system') as e:
        load_checkpoint_file(str(evil))
    assert '--trust-checkpoint' in str(e.value)
    noise = tmp_path / 'noise.pth'
    noise.write_bytes(os.urandom(4096))
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(open(CKPT, 'rb').read()[:2000])
    for path in (noise, cut):
        for trust in (False, True):
            with pytest.raises(CheckpointError, match='not a readable') as e:
                load_checkpoint_file(str(path), trust=trust)
            assert 'trust-checkpoint' not in str(e.value)
    with pytest.raises(CheckpointError, match='remote; download it first'):
        load_checkpoint_file('https://example.com/x.pth')


# item 10
def test_second_run_into_a_locked_work_dir_exit_2(capsys, tmp_path):
    with open(tmp_path / '.lock', 'a') as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        refused(capsys, '--work-dir', str(tmp_path), *APPROX,
                match='another run')


# "also seen": SIGINT
def test_interrupt_one_line_exit_130(capsys, tmp_path, monkeypatch):
    mod = tool('explain')
    (tmp_path / 'maps').mkdir()
    (tmp_path / 'maps' / 'a.npz').write_bytes(b'')

    def stop(args):
        from mmaction_aosa.runs.workdir import lock_work_dir
        lock_work_dir(args.work_dir)
        raise KeyboardInterrupt
    monkeypatch.setattr(mod, 'run', stop)
    code = mod.main([CFG, '--work-dir', str(tmp_path)])
    lines = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert code == 130
    assert lines == ['interrupted, 1 done, rerun to resume'], lines


# item 3
def test_colliding_ids_are_made_unique(tmp_path):
    from mmaction_aosa.datasets import ExplainDataset
    files = [tmp_path / 'a' / 'clip.mp4', tmp_path / 'b' / 'clip.mp4',
             tmp_path / 'x' / 'y.mp4', tmp_path / 'x__y.mp4']
    for f in files:
        f.parent.mkdir(exist_ok=True)
        f.write_bytes(b'')
    ann = tmp_path / 'list.txt'
    ann.write_text(''.join(f'{f}\t0\n' for f in files))
    ds = dict(type='VideoDataset', ann_file=str(ann), pipeline=[],
              data_prefix=dict(video=''), delimiter='\t', test_mode=True)
    ids = ExplainDataset(ds).ids
    assert len(set(ids)) == 4, ids
    ann.write_text(''.join(f'{f}\t0\n' for f in files[2:]))
    ds = dict(ds, data_prefix=dict(video=str(tmp_path)))
    again = ExplainDataset(ds).ids
    assert len(set(again)) == 2, again
    assert ExplainDataset(ds).ids == again  # stable: resume finds them


# items 2, 9, 11, 12 on one small work dir
def test_run_fingerprint_temp_files_failed_writes(videos, tmp_path):  # noqa
    odd = tmp_path / 'dir with space' / 'ünïcødé 視頻'
    frames, _ = moving_square_clip(T=32, H=128, W=128)
    write_mp4(str(odd / 'clip é 1.mp4'), frames)
    write_mp4(str(tmp_path / 'b' / 'clip é 1.mp4'), frames[::-1].copy())
    out = tmp_path / 'out'
    (out / 'vis').mkdir(parents=True)
    (out / 'vis' / '.tmp_abc.png').write_bytes(b'half')  # a killed writer
    video = str(odd / 'clip é 1.mp4')
    res = explain('aosa_tiny_r3d_synthetic.py', out, CKPT, '--video', video,
                  *APPROX)
    assert res.returncode == 0, res.stderr[-3000:] + res.stdout[-2000:]
    assert not (out / 'vis' / '.tmp_abc.png').exists()
    (vid, ), rec = os.listdir(out / 'maps'), None
    rec = read_summary(str(out))[vid[:-4]]
    assert rec['status'] == 'ok' and rec['path'] == video
    run = json.loads((out / 'run.json').read_text())
    assert run['explainer']['anchor_stride'] == 28  # --cfg-options kept
    # a rerun that would change the maps is refused, naming the setting
    for extra, opts, part in [
            ((), ['explain_target=2'], 'target'),
            ((), ['explain_view=0'], 'view'),
            (('--video', str(tmp_path / 'b' / 'clip é 1.mp4')), [], 'data')]:
        args = ('--video', video) if not extra else extra
        res = explain('aosa_tiny_r3d_synthetic.py', out, CKPT, *args,
                      *APPROX, opts=opts)
        assert res.returncode == 2, (part, res.stderr[-2000:])
        assert f'its {part} differs' in res.stderr
    # item 12: a map that cannot be written fails the video, exit 1
    out2 = tmp_path / 'out2'
    out2.mkdir()
    (out2 / 'maps').write_text('a file where the folder goes')
    res = explain('aosa_tiny_r3d_synthetic.py', out2, CKPT, '--video',
                  video, *APPROX)
    assert res.returncode == 1, res.stderr[-3000:]
    rec = list(read_summary(str(out2)).values())[0]
    assert rec['status'] == 'failed' and 'writing outputs failed' in \
        rec['error']
    assert '0 videos, 1 failed' in res.stdout + res.stderr


# item 1: a truncated AVI (decord segfaults reading it from bytes)
def test_truncated_avi_costs_at_most_one_video(tmp_path):
    from conftest import shared_data
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmaction_aosa.datasets import ExplainDataset
    avi = shared_data('videos', 'mmaction2_test.avi')
    data = open(avi, 'rb').read()
    cut = tmp_path / 'cut.avi'
    cut.write_bytes(data[:len(data) // 2])
    (tmp_path / 'list.txt').write_text(f'{cut}\t0\n{avi}\t0\n')
    init_default_scope('mmaction')
    pipe = Config.fromfile(CFG).test_dataloader.dataset.pipeline
    ds = ExplainDataset(dict(
        type='VideoDataset', ann_file=str(tmp_path / 'list.txt'),
        data_prefix=dict(video=''), pipeline=pipe, test_mode=True,
        delimiter='\t'))
    good = ds[1]  # the process is still alive after the cut file
    ds[0]
    assert good['inputs'] is not None
