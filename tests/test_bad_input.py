"""Bad input to ``tools/explain.py`` and ``tools/eval_saliency.py`` (issue
13): each case gives a one-line error and the exit code of README.md's
"Bad input" table, and loses nothing already done."""
import importlib.util
import json
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import REPO, moving_square_clip, write_mp4
from test_explain_tool import FAST, explain, videos  # noqa: F401 - fixture

from mmaction_aosa import load_map
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


# items 6, 7: larger than the frame, refused before any video where the
# test pipeline fixes the clip size (the tiny configs: CenterCrop 112)
@pytest.mark.parametrize('opts, match', [
    (['explainer.anchor_stride=500'], 'anchor_stride=500 is larger than the '
     '112×112 clip'),
    (['explainer.box_size=200'], 'box_size=200 is larger than the 112×112'),
    (['explainer.box_size=[16,113]'], 'box_size=[16, 113] is larger')])
def test_explainer_larger_than_the_clip_exit_2(capsys, tmp_path, opts,
                                               match):
    line = refused(capsys, '--work-dir', str(tmp_path), '--explainer',
                   'aosa_approx', '--cfg-options', *opts, match=match)
    assert 'CenterCrop of the test pipeline' in line
    assert not (tmp_path / 'maps').exists()


def test_eval_refuses_a_box_larger_than_the_clip(capsys, tmp_path):
    refused(capsys, '--work-dir', str(tmp_path), '--explainers',
            'gradcam', 'aosa:box_size=300', name='eval_saliency',
            match='box_size=300 is larger than the 112×112 clip')


def test_box_larger_than_an_unknown_size_clip_fails_per_video(tmp_path):
    """Without a crop the clip size depends on the video: the video fails
    with the same one line, and the next one is explained."""
    from mmaction.registry import MODELS
    from mmcv.transforms import Compose
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmaction_aosa.runs.config import pipeline_clip_size
    init_default_scope('mmaction')
    cfg = Config.fromfile(CFG)
    pipeline = [dict(type='DecordInit'),
                dict(type='SampleFrames', clip_len=16, frame_interval=2,
                     num_clips=1, test_mode=True),
                dict(type='DecordDecode'),
                dict(type='Resize', scale=(-1, 112)),  # keeps the ratio
                dict(type='FormatShape', input_format='NCTHW'),
                dict(type='PackActionInputs')]
    assert pipeline_clip_size(pipeline) is None
    fixed = pipeline[:3] + [dict(type='Resize', scale=(160, 120),
                                 keep_ratio=False)] + pipeline[4:]
    assert pipeline_clip_size(fixed) == (120, 160, 'Resize')  # (w, h) given
    three = fixed[:4] + [dict(type='ThreeCrop', crop_size=120)] + fixed[4:]
    assert pipeline_clip_size(three) == (120, 120, 'ThreeCrop')
    assert pipeline_clip_size(cfg.test_dataloader.dataset.pipeline) == (
        112, 112, 'CenterCrop')
    samples = []
    for i, (h, w) in enumerate([(64, 64), (128, 224)]):
        frames, _ = moving_square_clip(T=32, H=h, W=w, size=12, seed=i)
        path = str(tmp_path / f'v{i}.mp4')
        write_mp4(path, frames)
        data = Compose(pipeline)(dict(filename=path, label=0,
                                      start_index=0, modality='RGB'))
        data['data_samples'].set_metainfo(dict(video_id=f'v{i}'))
        samples.append(data)
    model = MODELS.build(dict(
        type='ExplainModel', recognizer=cfg.model,
        explainer=dict(type='AOSAApprox', anchor_stride=16,
                       box_size=[16, 150])))
    recs = model.test_step(dict(inputs=[s['inputs'] for s in samples],
                                data_samples=[s['data_samples']
                                              for s in samples]))
    assert recs[0].status == 'failed'  # a 112×112 clip
    assert recs[0].error == ('ValueError: box_size=[16, 150] is larger than '
                             'the 112×112 clip: every mask would occlude '
                             'the whole frame')
    assert recs[1].status == 'ok'  # 112×196: the box fits
    assert tuple(recs[1].saliency.shape) == (16, 112, 196)


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


def start_explain(work_dir, videos, *extra, opts=()):  # noqa: F811
    """tools/explain.py on the two good clips, as a process of its own
    session (a terminal's Ctrl-C reaches the whole process group)."""
    cmd = [sys.executable, osp.join(REPO, 'tools', 'explain.py'), CFG, CKPT,
           '--work-dir', str(work_dir), '--no-vis', *extra, '--cfg-options',
           f'test_dataloader.dataset.ann_file={videos / "good.txt"}',
           f'test_dataloader.dataset.data_prefix.video={videos / "videos"}',
           *opts]
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            start_new_session=True,
                            # an ignored SIGINT in this process (left by
                            # an earlier test) would be inherited
                            preexec_fn=_default_sigint,
                            env=dict(os.environ, OMP_NUM_THREADS='1'))


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_map(proc, work_dir, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if (work_dir / 'maps').is_dir() and any(
                f.endswith('.npz') and not f.startswith('.')
                for f in os.listdir(work_dir / 'maps')):
            return  # a finished map, not run.json or a writer's temp file
        time.sleep(0.05)
    raise AssertionError(f'no map before the run ended: {proc.poll()}')


def maps_of(work_dir):
    return {f[:-4]: load_map(str(work_dir / 'maps' / f))
            for f in os.listdir(work_dir / 'maps') if f.endswith('.npz')}


# anchors every 16 px: about 2 s per clip, time to reach a running run
SLOW = ['explainer.anchor_stride=16', 'explainer.box_size=32']


# item 10: two real runs into one work dir at the same time
def test_two_concurrent_runs_one_refused(videos, tmp_path):  # noqa: F811
    runs = {name: start_explain(tmp_path, videos, '--explainer', name,
                                opts=SLOW)
            for name in ('aosa', 'aosa_approx')}
    out = {name: p.communicate(timeout=600) for name, p in runs.items()}
    codes = {name: p.returncode for name, p in runs.items()}
    assert sorted(codes.values()) == [0, 2], (codes, out)
    winner = min(codes, key=codes.get)
    loser = max(codes, key=codes.get)
    err = [ln for ln in out[loser][1].splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith('error: another run (process '
                                               f'{runs[winner].pid})'), err
    assert 'Traceback' not in out[winner][1]
    # the maps are all the winner's, one per video, none half-written
    method = {'aosa': 'AOSA', 'aosa_approx': 'AOSAApprox'}[winner]
    maps = maps_of(tmp_path)
    assert sorted(maps) == ['clip0', 'clip1']
    assert {m['method'] for m in maps.values()} == {method}
    run = json.loads((tmp_path / 'run.json').read_text())
    assert run['explainer']['type'] == method
    assert all(r['status'] == 'ok' and r['method'] == method
               for r in read_summary(str(tmp_path)).values())


# "also seen": Ctrl-C
def test_sigint_one_line_exit_130_and_resume(videos, tmp_path):  # noqa: F811
    # the default AOSA (anchors every 8 px, two rounds): several seconds per
    # clip, so Ctrl-C after the first map lands before the second even on
    # a loaded machine (with SLOW's 2 s the run once ended first)
    proc = start_explain(tmp_path, videos)
    wait_for_map(proc, tmp_path)
    os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C in a terminal does
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr[-3000:]
    done = maps_of(tmp_path)
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert lines == [f'interrupted, {len(done)} done, rerun to resume'], \
        lines
    assert 'Traceback' not in stdout + stderr
    assert len(done) == 1  # the second clip takes seconds more
    for dirpath, _, files in os.walk(tmp_path):
        assert not [f for f in files if f.startswith('.tmp_')], dirpath
    kept = {v: (tmp_path / 'maps' / f'{v}.npz').stat().st_mtime_ns
            for v in done}
    # a rerun explains only the rest
    proc = start_explain(tmp_path, videos)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr[-3000:]
    assert f'{len(done)} already have maps (resuming)' in stdout + stderr
    assert sorted(maps_of(tmp_path)) == ['clip0', 'clip1']
    assert {v: (tmp_path / 'maps' / f'{v}.npz').stat().st_mtime_ns
            for v in done} == kept


# "also seen": a full /dev/shm hung the DataLoader for 10 minutes
def test_full_shared_memory_loads_in_the_main_process(tmp_path):
    from mmengine.config import Config

    from mmaction_aosa.runs.config import (PREFETCH, sample_bytes,
                                           workers_for_shm)
    pipe = Config.fromfile(CFG).test_dataloader.dataset.pipeline
    one = sample_bytes(pipe)
    assert one == 16 * 112 * 112 * 3  # one view of 16 frames, 112 px
    i3d = [dict(type='SampleFrames', clip_len=32, num_clips=10),
           dict(type='Resize', scale=(-1, 256)),
           dict(type='ThreeCrop', crop_size=256)]
    assert sample_bytes(i3d) == 3 * 10 * 32 * 256 * 256 * 3
    free = shutil.disk_usage(tmp_path).free  # a real folder's free space
    assert workers_for_shm(2, one, str(tmp_path)) == (2, None)
    workers, note = workers_for_shm(2, free // (2 * PREFETCH) + 2**28,
                                    str(tmp_path))
    assert workers == 0
    assert note.startswith(f'{tmp_path} has ') and 'num_workers=0' in note
    assert '\n' not in note
    assert workers_for_shm(0, free * 2, str(tmp_path)) == (0, None)


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
def test_run_fingerprint_temp_files_failed_writes(videos, tmp_path,  # noqa
                                                 capsys):
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
    # a rerun that would change the maps is refused before any video (so
    # in this process), naming the setting
    for extra, opts, part in [
            ((), ['explain_target=2'], 'target'),
            ((), ['explain_view=0'], 'view'),
            (('--video', str(tmp_path / 'b' / 'clip é 1.mp4')), [], 'data')]:
        args = ('--video', video) if not extra else extra
        refused(capsys, '--work-dir', str(out), *args, *APPROX,
                '--cfg-options', *FAST, *opts, match=f'its {part} differs')
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
