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
    # a killed writer's temp file (fileio.atomic_path names them so)
    (out / 'vis' / '.tmp_abc~.png').write_bytes(b'half')
    video = str(odd / 'clip é 1.mp4')
    res = explain('aosa_tiny_r3d_synthetic.py', out, CKPT, '--video', video,
                  *APPROX)
    assert res.returncode == 0, res.stderr[-3000:] + res.stdout[-2000:]
    assert not (out / 'vis' / '.tmp_abc~.png').exists()
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
    assert rec['status'] == 'failed' and 'writing the map failed' in \
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


# -- issue 24: a run folder you can trust ---------------------------------
# Each test builds its own input (videos, lists, maps); most runs are in
# this process (no interpreter start); a subprocess where a signal, a
# file-size limit or an exit code needs one.

def clips(folder, n=2, names=None):
    """``n`` distinct small clips (a square moving along a different path
    in each) in ``folder``; returns their file names."""
    names = names or [f'clip{i}.mp4' for i in range(n)]
    for i, name in enumerate(names):
        frames, _ = moving_square_clip(
            T=32, H=128, W=128, start=(4 + 30 * i, 40), velocity=(3, i % 2),
            size=20, seed=i)
        write_mp4(str(folder / name), frames)
    return names


def listing(path, lines):
    path.write_text(''.join(f'{ln}\n' for ln in lines))
    return path


def here(capsys, name, work_dir, *argv, ann=None, root=None, opts=(),
         workers=0, ckpt=CKPT):
    """tools/<name>.py in this process; (exit code, all output, stderr
    lines)."""
    options = [f'test_dataloader.num_workers={workers}']
    if name == 'explain':
        argv = (*APPROX, *argv)
        options += FAST
    if ann is not None:
        options += [f'test_dataloader.dataset.ann_file={ann}',
                    f'test_dataloader.dataset.data_prefix.video={root}']
    code = tool(name).main([CFG] + ([str(ckpt)] if ckpt else []) + [
        '--work-dir', str(work_dir), *argv, '--cfg-options', *options,
        *opts])
    out = capsys.readouterr()
    return code, out.out + out.err, [ln for ln in out.err.splitlines()
                                     if ln.strip()]


def one_error(lines, match):
    assert len(lines) == 1 and lines[0].startswith('error: '), lines
    assert match in lines[0], lines
    return lines[0]


@pytest.fixture
def no_hang():
    """End the test session with a traceback if a test hangs (a
    regression of the hangs these tests guard against)."""
    import faulthandler
    faulthandler.dump_traceback_later(600, exit=True, file=sys.__stderr__)
    yield
    faulthandler.cancel_dump_traceback_later()


def status(work_dir):
    return {v: (r['status'], r['error']) for v, r in
            read_summary(str(work_dir)).items()}


# item 1: a FIFO listed among good videos (with a DataLoader worker, as the
# configs have) fails at once; the others are explained
def test_fifo_in_the_list_fails_at_once(capsys, tmp_path, no_hang):
    names = clips(tmp_path)
    os.mkfifo(tmp_path / 'pipe.mp4')
    ann = listing(tmp_path / 'list.txt', [names[0], 'pipe.mp4', names[1]])
    code, text, _ = here(capsys, 'explain', tmp_path / 'out', ann=ann,
                         root=tmp_path, workers=1)
    assert code == 1, text[-3000:]
    s = status(tmp_path / 'out')
    assert s['clip0'][0] == s['clip1'][0] == 'ok'
    assert s['pipe'] == ('failed', f'{tmp_path}/pipe.mp4 is a FIFO (named '
                         'pipe), not a video file')


# item 1, the class: whatever is not a regular file, is larger than the
# byte cap, or cannot be read within the time bound, fails its video
# (from stat alone: nothing is opened); the DataLoader never waits forever
def test_unreadable_in_bounded_time_fails_per_video(capsys, tmp_path,
                                                    no_hang):
    import socket

    from mmaction.registry import TRANSFORMS
    names = clips(tmp_path, 1)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / 'sock.mp4'))
    (tmp_path / 'folder.mp4').mkdir()
    with open(tmp_path / 'huge.mp4', 'wb') as f:  # sparse: 32 GiB, unread
        f.truncate(32 * 2**30)
    os.symlink(tmp_path / names[0], tmp_path / 'slow.mp4')

    @TRANSFORMS.register_module(force=True)
    class SlowDecordInit(TRANSFORMS.get('DecordInit')):
        """DecordInit stuck on one file (as on a hung network mount)."""

        def transform(self, results):
            if osp.basename(results['filename']) == 'slow.mp4':
                time.sleep(300)
            return super().transform(results)

    ann = listing(tmp_path / 'list.txt', [
        names[0], 'sock.mp4', '/dev/zero', 'folder.mp4', 'huge.mp4',
        'slow.mp4'])
    start = time.monotonic()
    code, text, _ = here(
        capsys, 'explain', tmp_path / 'out', ann=ann, root=tmp_path,
        workers=1, opts=['explain_read_timeout=3',
                         'test_dataloader.dataset.pipeline.0.type='
                         'SlowDecordInit'])
    sock.close()
    assert code == 1, text[-3000:]
    assert time.monotonic() - start < 120
    s = status(tmp_path / 'out')
    assert s['clip0'][0] == 'ok'
    err = {v: e for v, (_, e) in s.items() if v != 'clip0'}
    assert err['sock'].endswith('sock.mp4 is a socket, not a video file')
    assert err['zero'] == '/dev/zero is a character device, not a video file'
    assert err['folder'].endswith('folder.mp4 is a folder, not a video file')
    assert 'huge.mp4 has 34359738368 bytes, more than' in err['huge']
    assert err['slow'].startswith('reading ') and \
        'took more than 3 s (explain_read_timeout)' in err['slow']


# item 1, the class: a worker stuck where the read bound cannot reach it
# (SIGALRM blocked, as inside some C code) does not hold the run forever:
# the DataLoader's timeout ends it with one line, finished maps kept
def test_stuck_worker_ends_the_run_with_one_line(capsys, tmp_path,
                                                 no_hang):
    from mmaction.registry import TRANSFORMS
    names = clips(tmp_path, 2, ['clip0.mp4', 'stuck.mp4'])

    @TRANSFORMS.register_module(force=True)
    class StuckDecordInit(TRANSFORMS.get('DecordInit')):
        """DecordInit that never returns on one file, deaf to SIGALRM."""

        def transform(self, results):
            if osp.basename(results['filename']) == 'stuck.mp4':
                signal.signal(signal.SIGALRM, signal.SIG_IGN)
                time.sleep(300)
            return super().transform(results)

    ann = listing(tmp_path / 'list.txt', names)
    start = time.monotonic()
    code, text, err = here(
        capsys, 'explain', tmp_path / 'out', ann=ann, root=tmp_path,
        workers=1, opts=['explain_read_timeout=2',
                         'test_dataloader.timeout=8',
                         'test_dataloader.dataset.pipeline.0.type='
                         'StuckDecordInit'])
    assert code == 1, text[-3000:]
    assert time.monotonic() - start < 200
    one_error(err, 'DataLoader timed out after 8 seconds; 1 done: rerun to '
              'resume (with test_dataloader.num_workers=0 if it happens '
              'again)')
    assert sorted(maps_of(tmp_path / 'out')) == ['clip0']
    assert not (tmp_path / 'out' / '.lock').exists()


def _file_size_limit(nbytes):
    import resource

    def limit():
        _default_sigint()
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return limit


def _torch_shm_files():
    return {f for f in os.listdir('/dev/shm') if f.startswith('torch_')}


# item 1: under a file-size limit (``ulimit -f 256``) a worker could not
# hand its clip over and the main process waited forever
def test_file_size_limit_does_not_hang(tmp_path):
    names = clips(tmp_path)
    ann = listing(tmp_path / 'list.txt', names)
    shm_before = _torch_shm_files()
    cmd = [sys.executable, osp.join(REPO, 'tools', 'explain.py'), CFG, CKPT,
           '--work-dir', str(tmp_path / 'out'), *APPROX, '--cfg-options',
           *FAST, f'test_dataloader.dataset.ann_file={ann}',
           f'test_dataloader.dataset.data_prefix.video={tmp_path}',
           'test_dataloader.num_workers=1']
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                         timeout=300, preexec_fn=_file_size_limit(256 * 1024),
                         env=dict(os.environ, OMP_NUM_THREADS='1'))
    text = res.stdout + res.stderr
    assert res.returncode in (0, 1), text[-3000:]
    assert 'Traceback' not in text
    assert 'a file-size limit of 262144 bytes (ulimit -f)' in text
    assert 'loading videos in the main process' in text
    s = status(tmp_path / 'out')  # every video recorded, ok or one line
    assert set(s) == {'clip0', 'clip1'}
    assert all(st == 'ok' or err for st, err in s.values()), s
    assert not _torch_shm_files() - shm_before  # nothing left in /dev/shm


# the class: a clip a DataLoader worker cannot move to shared memory
# fails its video (never a sample dropped by the worker's queue)
def test_worker_that_cannot_share_its_clip_fails_the_video(tmp_path):
    names = clips(tmp_path)
    ann = listing(tmp_path / 'list.txt', names)
    script = f'''
import json, sys
sys.path.insert(0, {REPO!r})
import mmaction_aosa
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from torch.utils.data import DataLoader
from mmaction_aosa.datasets import ExplainDataset
init_default_scope('mmaction')
ds = Config.fromfile({CFG!r}).test_dataloader.dataset
ds.update(ann_file={str(ann)!r}, data_root=None,
          data_prefix=dict(video={str(tmp_path)!r}))
loader = DataLoader(ExplainDataset(ds.to_dict()), num_workers=1,
                    collate_fn=pseudo_collate, timeout=120)
print(json.dumps([b['data_samples'][0].metainfo.get('explain_error')
                  for b in loader]))
'''
    shm_before = _torch_shm_files()
    res = subprocess.run([sys.executable, '-c', script], cwd=REPO,
                         capture_output=True, text=True, timeout=300,
                         preexec_fn=_file_size_limit(256 * 1024),
                         env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert res.returncode == 0, res.stderr[-3000:]
    errors = json.loads(res.stdout.strip().splitlines()[-1])
    assert len(errors) == 2
    for err in errors:
        assert err.startswith('cannot hand the decoded clip to the main '
                              'process through shared memory'), err
        assert 'num_workers=0' in err
    assert not _torch_shm_files() - shm_before


# item 1: with /dev/shm out of inodes, making the semaphores of the
# DataLoader's worker queues fails (SemLock)
def test_no_semaphores_loads_in_the_main_process(capsys, tmp_path,
                                                 monkeypatch, no_hang):
    import _multiprocessing
    import multiprocessing.synchronize  # noqa: F401 - before the patch
    names = clips(tmp_path)
    ann = listing(tmp_path / 'list.txt', names)

    def no_semaphore(*args, **kwargs):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(_multiprocessing, 'SemLock', no_semaphore)
    code, text, _ = here(capsys, 'explain', tmp_path / 'out', ann=ann,
                         root=tmp_path, workers=2)
    assert code == 0, text[-3000:]
    assert ('cannot make the semaphores of DataLoader workers (OSError: '
            '[Errno 28] No space left on device') in text
    assert 'loading videos in the main process' in text
    assert sorted(status(tmp_path / 'out')) == ['clip0', 'clip1']
    assert 'Traceback' not in text


@pytest.fixture(scope='module')
def finished(tmp_path_factory):
    """Four clips of their own, their list, and two finished explain runs
    on them: ``approx`` (aosa_approx, small) and ``gradcam``. Tests that
    change a run work on a copy (:func:`copy_run`); the clips and the list
    are never changed."""
    root = tmp_path_factory.mktemp('finished')
    (root / 'videos').mkdir()
    ann = listing(root / 'list.txt', clips(root / 'videos', 4))
    data = [f'test_dataloader.dataset.ann_file={ann}',
            f'test_dataloader.dataset.data_prefix.video={root / "videos"}',
            'test_dataloader.num_workers=0']
    for name, argv in (('approx', [*APPROX, '--cfg-options', *FAST]),
                       ('gradcam', ['--explainer', 'gradcam', '--no-vis',
                                    '--cfg-options'])):
        assert tool('explain').main([CFG, CKPT, '--work-dir',
                                     str(root / name), *argv, *data]) == 0
    return dict(root=root, ann=ann, videos=root / 'videos',
                approx=root / 'approx', gradcam=root / 'gradcam')


def copy_run(src, tmp_path):
    """A copy of a finished work dir (its maps name the same clips)."""
    dst = tmp_path / src.name
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns('20*'))
    return dst


def eval_errors(method_dir):
    """Video → error of an eval method's per-video records."""
    from mmaction_aosa.fileio import read_lines
    return {r['video']: r['error']
            for r in read_lines(str(method_dir / 'explain.jsonl'))}


def evaluate(capsys, work_dir, ann, root, *argv, ckpt=CKPT):
    return here(capsys, 'eval_saliency', work_dir, '--steps', '2',
                '--boxes', 'none', *argv, ann=ann, root=root, ckpt=ckpt)


# item 2: Grad-CAM maps read as "aosa"; one folder read for two methods
def test_eval_refuses_maps_of_another_method(capsys, tmp_path, finished):
    ann, root = finished['ann'], finished['videos']
    code, _, err = evaluate(capsys, tmp_path / 'e1', ann, root,
                            '--explainers', 'aosa', '--maps',
                            str(finished['gradcam']))
    assert code == 2
    one_error(err, "its method differs ('GradCAM' there, 'AOSA' here)")
    assert not (tmp_path / 'e1' / 'metrics.json').exists()
    # DIR/gradcam/maps found for both methods
    code, _, err = evaluate(capsys, tmp_path / 'e2', ann, root,
                            '--explainers', 'gradcam', 'gradcam:score=prob',
                            '--maps', str(finished['root']))
    assert code == 2
    line = one_error(err, "its params.score differs ('logit' there, 'prob' "
                     'here)')
    assert 'eval reports as gradcam[score=prob]' in line


# item 2: NaN and inf maps fail their videos and stay out of the means
def test_eval_non_finite_maps_fail_and_stay_out_of_means(capsys, tmp_path,
                                                         finished):
    import numpy as np

    from mmaction_aosa.fileio import read_lines
    maps = copy_run(finished['gradcam'], tmp_path)
    for vid, bad in (('clip1', np.nan), ('clip2', np.inf)):
        path = maps / 'maps' / f'{vid}.npz'
        with np.load(path) as z:
            fields = dict(z)
        fields['saliency'][0, 0, 0] = bad
        np.savez(path, **fields)
    cut = maps / 'maps' / 'clip3.npz'  # the class: a truncated one too
    cut.write_bytes(cut.read_bytes()[:500])
    code, text, _ = evaluate(capsys, tmp_path / 'eval', finished['ann'],
                             finished['videos'], '--explainers', 'gradcam',
                             '--maps', str(maps))
    assert code == 1, text[-3000:]
    row = json.loads((tmp_path / 'eval' / 'metrics.json').read_text())[
        'gradcam']
    assert row['num_videos'] == 1 and row['num_failed'] == 3
    # the means are clip0's alone
    (rec, ) = read_lines(str(tmp_path / 'eval' / 'gradcam' /
                             'deletion_insertion.jsonl'))
    assert rec['video'] == 'clip0'
    for k in ('deletion', 'insertion'):
        assert np.isfinite(row[k]) and row[k] == pytest.approx(rec[k])
    errors = eval_errors(tmp_path / 'eval' / 'gradcam')
    assert errors['clip0'] is None
    for vid in ('clip1', 'clip2'):
        assert errors[vid] == (f'MapMismatch: map {maps}/maps/{vid}.npz: it '
                               'holds non-finite values (NaN/inf)')
    assert errors['clip3'].startswith(f'MapFileError: cannot read map {cut}:')


# item 2, the class: maps of other weights are refused, naming the field;
# a map of another video copied under this one's name fails its video
def test_eval_checks_each_maps_provenance(capsys, tmp_path, finished):
    from conftest import build_model
    ann, root = finished['ann'], finished['videos']
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': build_model('tiny_r3d').state_dict()}, other)
    code, _, err = evaluate(capsys, tmp_path / 'e1', ann, root,
                            '--explainers', 'gradcam', '--maps',
                            str(finished['gradcam']), ckpt=other)
    assert code == 2
    one_error(err, "its checkpoint_sha256 differs from this run's")
    maps = copy_run(finished['gradcam'], tmp_path)
    shutil.copy(maps / 'maps' / 'clip0.npz', maps / 'maps' / 'clip1.npz')
    code, text, _ = evaluate(capsys, tmp_path / 'e2', ann, root,
                             '--explainers', 'gradcam', '--maps', str(maps),
                             '--num-videos', '2')
    assert code == 1
    assert eval_errors(tmp_path / 'e2' / 'gradcam')['clip1'].endswith(
        f'clip1.npz: it is the map of another video (the content of '
        f'{root}/clip1.mp4 differs)')
    row = json.loads((tmp_path / 'e2' / 'metrics.json').read_text())[
        'gradcam']
    assert row['num_videos'] == 1 and row['num_failed'] == 1


def explained(capsys, tmp_path, n=2, names=None, *argv, opts=()):
    """A finished explain work dir on clips of its own: (work dir, list,
    video folder, output)."""
    root = tmp_path / 'videos'
    root.mkdir(exist_ok=True)
    ann = listing(tmp_path / 'list.txt', clips(root, n, names))
    work = tmp_path / 'out'
    code, text, _ = here(capsys, 'explain', work, *argv, ann=ann, root=root,
                         opts=opts)
    assert code == 0, text[-3000:]
    return work, ann, root, text


def mtimes(work):
    return {f: os.stat(work / 'maps' / f).st_mtime_ns
            for f in os.listdir(work / 'maps')}


# item 3: a truncated map and another method's map copied in were taken
# as done
def test_resume_redoes_a_truncated_map(capsys, tmp_path, finished):
    work = copy_run(finished['approx'], tmp_path)
    data = (work / 'maps' / 'clip1.npz').read_bytes()
    (work / 'maps' / 'clip1.npz').write_bytes(data[:len(data) // 2])
    before = mtimes(work)
    code, text, _ = here(capsys, 'explain', work, ann=finished['ann'],
                         root=finished['videos'])
    assert code == 0, text[-3000:]
    assert '1 videos to do, 3 already have maps (resuming)' in text
    assert ('1 saved maps failed verification and are explained again '
            f'(clip1: cannot read map {work}/maps/clip1.npz: BadZipFile')\
        in text
    after = mtimes(work)
    assert after['clip0.npz'] == before['clip0.npz']  # trusted, kept
    assert after['clip1.npz'] != before['clip1.npz']
    assert load_map(str(work / 'maps' / 'clip1.npz'))['saliency'].shape == (
        16, 112, 112)


def test_resume_redoes_another_methods_map(capsys, tmp_path, finished):
    work = copy_run(finished['approx'], tmp_path)
    shutil.copy(finished['gradcam'] / 'maps' / 'clip0.npz',
                work / 'maps' / 'clip0.npz')
    code, text, _ = here(capsys, 'explain', work, ann=finished['ann'],
                         root=finished['videos'])
    assert code == 0, text[-3000:]
    assert ("1 saved maps failed verification and are explained again "
            "(clip0: its explainer differs from this run's)") in text
    assert {m['method'] for m in maps_of(work).values()} == {'AOSAApprox'}


# item 3 in eval's own folder: a truncated map failed on every rerun
def test_eval_recomputes_a_truncated_map_of_its_own(capsys, tmp_path):
    root = tmp_path / 'videos'
    root.mkdir()
    ann = listing(tmp_path / 'list.txt', clips(root, 2))
    work = tmp_path / 'eval'
    code, text, _ = evaluate(capsys, work, ann, root, '--explainers',
                             'gradcam')
    assert code == 0, text[-3000:]
    first = json.loads((work / 'metrics.json').read_text())['gradcam']
    path = work / 'gradcam' / 'maps' / 'clip0.npz'
    path.write_bytes(path.read_bytes()[:100])
    code, text, _ = evaluate(capsys, work, ann, root, '--explainers',
                             'gradcam')
    assert code == 0, text[-3000:]
    assert ('1 saved maps failed verification and are explained again '
            f'(clip0: cannot read map {path}: BadZipFile') in text
    again = json.loads((work / 'metrics.json').read_text())['gradcam']
    assert again['num_videos'] == 2 and again['num_redone'] == 1
    for k in ('deletion', 'insertion', 'overall'):
        assert again[k] == pytest.approx(first[k], abs=1e-6)


# item 3, the class: a NaN map, the map of another video under this one's
# id, and the map of a video whose file was replaced since are explained
# again too; a video only touched (same content) keeps its map
def test_resume_redoes_nan_misplaced_and_stale_maps(capsys, tmp_path):
    import numpy as np
    work, ann, root, _ = explained(capsys, tmp_path, 4)
    path = work / 'maps' / 'clip0.npz'
    with np.load(path) as z:
        fields = dict(z)
    fields['saliency'][:] = np.nan
    np.savez(path, **fields)
    shutil.copy(work / 'maps' / 'clip1.npz', work / 'maps' / 'clip2.npz')
    shutil.copy(root / 'clip0.mp4', root / 'clip3.mp4')  # a new file there
    os.utime(root / 'clip1.mp4', ns=(1, 1))  # touched: the same content
    kept = mtimes(work)['clip1.npz']
    code, text, _ = here(capsys, 'explain', work, ann=ann, root=root)
    assert code == 0, text[-3000:]
    assert '3 videos to do, 1 already have maps (resuming)' in text
    assert '3 saved maps failed verification' in text
    maps = maps_of(work)
    assert np.isfinite(maps['clip0']['saliency']).all()
    assert maps['clip2']['video'] == str(root / 'clip2.mp4')
    assert mtimes(work)['clip1.npz'] == kept
    s = read_summary(str(work))
    assert s['clip3']['warning'] == (
        f'saved map explained again: map {work}/maps/clip3.npz: its video '
        f'{root}/clip3.mp4 changed since (another content)')


# item 4: run.json deleted (or corrupt), then a rerun with other weights
@pytest.mark.parametrize('damage', ['delete', 'corrupt'])
def test_missing_run_record_is_not_guessed(capsys, tmp_path, damage,
                                           finished):
    from conftest import build_model
    ann, root = finished['ann'], finished['videos']
    work = copy_run(finished['approx'], tmp_path)
    if damage == 'delete':
        (work / 'run.json').unlink()
    else:
        (work / 'run.json').write_text('{"explainer": ')
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': build_model('tiny_r3d').state_dict()}, other)
    before = mtimes(work)
    code, _, err = here(capsys, 'explain', work, ann=ann, root=root,
                        ckpt=other)
    assert code == 2
    state = 'missing' if damage == 'delete' else 'unreadable'
    one_error(err, f'{work}/run.json is {state} and {work}/maps/clip0.npz '
              "cannot be trusted (its checkpoint_sha256 differs from this "
              "run's)")
    assert mtimes(work) == before
    assert not (work / 'run.json').exists() or damage == 'corrupt'
    # the same run: rebuilt from the maps' provenance, nothing redone
    code, text, _ = here(capsys, 'explain', work, ann=ann, root=root)
    assert code == 0, text[-3000:]
    assert f'{work}/run.json was {state}: rebuilt' in text
    assert '0 videos to do, 4 already have maps' in text
    assert json.loads((work / 'run.json').read_text())[
        'checkpoint_sha256'] == load_map(str(work / 'maps' / 'clip0.npz'))[
            'provenance']['checkpoint_sha256']


# item 4: the same work dir from another working directory, ann_file
# relative to data_root (as the configs have it)
def test_fingerprint_is_the_same_from_any_working_directory(
        capsys, tmp_path, monkeypatch):
    root = tmp_path / 'data'
    (root / 'test').mkdir(parents=True)
    listing(root / 'test' / 'ann.txt', clips(root / 'test', 1))
    opts = [f'test_dataloader.dataset.data_root={root}',
            'test_dataloader.dataset.ann_file=test/ann.txt',
            'test_dataloader.dataset.data_prefix.video=test']
    work = tmp_path / 'out'
    for cwd in (REPO, tmp_path):
        monkeypatch.chdir(cwd)
        code, text, _ = here(capsys, 'explain', work, opts=opts)
        assert code == 0, text[-3000:]
    assert '0 videos to do, 1 already have maps' in text
    data = json.loads((work / 'run.json').read_text())['data']
    assert data['ann_file'] == str(root / 'test' / 'ann.txt')
    assert data['data_prefix'] == {'video': str(root / 'test')}


# item 4: an edited list is another run
def test_edited_list_is_another_run(capsys, tmp_path):
    work, ann, root, _ = explained(capsys, tmp_path, 1)
    ann.write_text(ann.read_text().replace('clip0.mp4', 'clip0.mp4 2'))
    code, _, err = here(capsys, 'explain', work, ann=ann, root=root)
    assert code == 2
    one_error(err, 'holds maps of another run (its data differs)')


def hold_lock(folder):
    """Another process holding ``folder``'s work-dir lock as a run does
    (flock on ``.lock``, its pid inside); returns the process."""
    folder.mkdir(parents=True, exist_ok=True)
    script = ('import fcntl, os, sys, time\n'
              f'f = open({str(folder / ".lock")!r}, "a+")\n'
              'fcntl.flock(f, fcntl.LOCK_EX)\n'
              'f.write(f"{os.getpid()}\\n"); f.flush()\n'
              'print("held", flush=True); time.sleep(120)\n')
    proc = subprocess.Popen([sys.executable, '-c', script],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == 'held'
    return proc


# item 5: explain.py into EVAL_DIR/aosa_approx while an eval holds
# EVAL_DIR, and the other way round
def test_lock_covers_eval_method_folders(capsys, tmp_path):
    root = tmp_path / 'videos'
    root.mkdir()
    ann = listing(tmp_path / 'list.txt', clips(root, 1))
    eval_dir = tmp_path / 'eval'
    holder = hold_lock(eval_dir)
    try:
        code, _, err = here(capsys, 'explain', eval_dir / 'aosa_approx',
                            ann=ann, root=root)
    finally:
        holder.kill()
        holder.wait()
    assert code == 2
    one_error(err, f'error: another run (process {holder.pid}) is writing '
              f'into {eval_dir}, which contains {eval_dir}/aosa_approx')
    assert not (eval_dir / 'aosa_approx').exists()
    (eval_dir / '.lock').unlink()
    holder = hold_lock(eval_dir / 'aosa_approx')
    try:
        code, _, err = evaluate(capsys, eval_dir, ann, root, '--explainers',
                                'aosa_approx')
    finally:
        holder.kill()
        holder.wait()
    assert code == 2
    one_error(err, f'another run (process {holder.pid}) is writing into '
              f'{eval_dir}/aosa_approx, which is inside {eval_dir}')
    assert not (eval_dir / '.lock').exists()
    assert not (eval_dir / 'metrics.json').exists()


# item 5: the lock file stays behind after every run, failed starts too
def test_lock_file_is_removed_after_every_run(capsys, tmp_path, finished):
    ann, root = finished['ann'], finished['videos']
    work = copy_run(finished['approx'], tmp_path)
    for argv in ([], ['--explainer', 'nosuchmethod']):  # a failed start
        code, _, _ = here(capsys, 'explain', work, *argv, ann=ann,
                          root=root)
        assert code == (2 if argv else 0)
        assert not (work / '.lock').exists()
    fresh = tmp_path / 'fresh'
    code, _, _ = here(capsys, 'explain', fresh, '--explainer', 'nope',
                      ann=ann, root=root)
    assert code == 2 and not fresh.exists()  # made by the failed start
    code, _, _ = evaluate(capsys, tmp_path / 'eval', ann, root,
                          '--explainers', 'gradcam', '--num-videos', '1')
    assert code == 0
    for dirpath, _, files in os.walk(tmp_path):
        assert '.lock' not in files, dirpath


# item 5, the class: a lock left by a killed run (the file, not held)
# does not stop the next run, which removes it
def test_stale_lock_file_of_a_killed_run(capsys, tmp_path):
    root = tmp_path / 'videos'
    root.mkdir()
    ann = listing(tmp_path / 'list.txt', clips(root, 1))
    holder = hold_lock(tmp_path / 'out')
    holder.kill()  # as kill -9: the file stays, the flock goes
    holder.wait()
    assert (tmp_path / 'out' / '.lock').exists()
    code, text, _ = here(capsys, 'explain', tmp_path / 'out', ann=ann,
                         root=root)
    assert code == 0, text[-3000:]
    assert not (tmp_path / 'out' / '.lock').exists()


# item 6: append_line ignored what os.write returned: under a file-size
# limit a line was cut and the next record glued onto it
def test_summary_line_is_whole_or_absent_under_a_size_limit(tmp_path):
    from mmaction_aosa.fileio import read_lines
    path = tmp_path / 'summary.jsonl'
    script = f'''
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location(
    'fileio', {osp.join(REPO, 'mmaction_aosa', 'fileio.py')!r})
fileio = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fileio)
written, error = 0, None
try:
    for i in range(10):
        fileio.append_line({str(path)!r}, dict(video=f'v{{i}}', pad='x' * 300))
        written += 1
except OSError as exc:
    error = exc.errno
print(json.dumps([written, error]))
'''
    res = subprocess.run([sys.executable, '-c', script], capture_output=True,
                         text=True, timeout=60,
                         preexec_fn=_file_size_limit(1000))
    written, error = json.loads(res.stdout)
    # 327 bytes a line: the fourth is cut after 19 bytes, then undone
    assert (written, error) == (3, 27)
    assert path.read_bytes().endswith(b'}\n')  # no half line left
    from mmaction_aosa.fileio import append_line
    append_line(str(path), dict(video='after'))
    assert path.stat().st_size == 3 * 327 + len('{"video": "after"}\n')
    assert [r['video'] for r in read_lines(str(path))] == ['v0', 'v1', 'v2',
                                                           'after']


# item 6: with WORK_DIR/vis a regular file every map was lost
def test_failed_overlay_keeps_the_map(capsys, tmp_path):
    root = tmp_path / 'videos'
    root.mkdir()
    ann = listing(tmp_path / 'list.txt', clips(root, 2))
    work = tmp_path / 'out'
    work.mkdir()
    (work / 'vis').write_text('a file where the folder goes')
    code = tool('explain').main([
        CFG, CKPT, '--work-dir', str(work), '--explainer', 'aosa_approx',
        '--cfg-options', *FAST, 'test_dataloader.num_workers=0',
        f'test_dataloader.dataset.ann_file={ann}',
        f'test_dataloader.dataset.data_prefix.video={root}'])
    text = ''.join(capsys.readouterr())
    assert code == 0, text[-3000:]
    assert sorted(maps_of(work)) == ['clip0', 'clip1']
    for rec in read_summary(str(work)).values():
        assert rec['status'] == 'ok' and rec['warning'].startswith(
            'overlay not written: ')
    assert text.count('overlay not written') == 1  # one warning line


# item 6: with summary.jsonl unwritable the run said "0 failed", exit 0
def test_unwritable_summary_refused_at_start(capsys, tmp_path):
    root = tmp_path / 'videos'
    root.mkdir()
    ann = listing(tmp_path / 'list.txt', clips(root, 1))
    (tmp_path / 'out' / 'summary.jsonl').mkdir(parents=True)
    code, _, err = here(capsys, 'explain', tmp_path / 'out', ann=ann,
                        root=root)
    assert code == 2
    one_error(err, f'cannot write {tmp_path}/out/summary.jsonl: Is a '
              'directory')
    assert not (tmp_path / 'out' / 'maps').exists()


# item 6, the class: a summary line that cannot be written mid-run fails
# the run (maps kept); the next run rebuilds the line from the map
def test_summary_write_failing_mid_run_fails_the_run(capsys, tmp_path,
                                                     monkeypatch):
    import errno

    from mmaction_aosa.engine import hooks
    root = tmp_path / 'videos'
    root.mkdir()
    ann = listing(tmp_path / 'list.txt', clips(root, 2))
    real = hooks.append_line

    def full_disk_for_clip1(path, record):
        if record['video'] == 'clip1':
            raise OSError(errno.ENOSPC, 'No space left on device', path)
        real(path, record)
    monkeypatch.setattr(hooks, 'append_line', full_disk_for_clip1)
    code, text, _ = here(capsys, 'explain', tmp_path / 'out', ann=ann,
                         root=root)
    assert code == 1
    assert ('explained 2 videos, 0 failed, 0 already done, 1 not recorded in'
            f' {tmp_path}/out/summary.jsonl (maps kept; counted as failed)'
            ) in text
    assert sorted(read_summary(str(tmp_path / 'out'))) == ['clip0']
    monkeypatch.setattr(hooks, 'append_line', real)
    code, text, _ = here(capsys, 'explain', tmp_path / 'out', ann=ann,
                         root=root)
    assert code == 0
    assert '1 finished maps had no summary line: rebuilt' in text
    rec = read_summary(str(tmp_path / 'out'))['clip1']
    assert rec['status'] == 'ok' and rec['target'] == load_map(
        str(tmp_path / 'out' / 'maps' / 'clip1.npz'))['target']


# item 6, the class: eval's reports that cannot be written (a disk full at
# the end) fail the run with one line, not a traceback or exit 0
def test_eval_reports_that_cannot_be_written_fail_the_run(capsys, tmp_path,
                                                          monkeypatch):
    import errno

    from mmaction_aosa.runs import evaluate as evaluate_module
    root = tmp_path / 'videos'
    root.mkdir()
    ann = listing(tmp_path / 'list.txt', clips(root, 1))

    def full(work_dir, *args, **kwargs):
        raise OSError(errno.ENOSPC, 'No space left on device',
                      osp.join(work_dir, 'metrics.json'))
    monkeypatch.setattr(evaluate_module, 'write_reports', full)
    code, _, err = evaluate(capsys, tmp_path / 'eval', ann, root,
                            '--explainers', 'gradcam')
    assert code == 1
    one_error(err, 'error: No space left on device '
              f'({tmp_path}/eval/metrics.json); 1 done: rerun to resume')
    assert not (tmp_path / 'eval' / '.lock').exists()


# item 7: run-level bad input gave a traceback and exit 1; refused before
# any video with one line and exit 2
@pytest.mark.parametrize('lines, match', [
    (['clip0.mp4 0', 'clip1.mp4 abc'], "line 2: label 'abc' is not an "
     'integer'),
    ([], 'is empty: it lists no video'),
    (['clip0.mp4 0', 'clip1.mp4 1', 'clip0.mp4 0'],
     'line 3 lists clip0.mp4 again (first on line 1)'),
    (['clip0.mp4 0', '', 'clip1.mp4 1'], 'line 2 is blank'),
    # the class: a file name with a space in a space-separated list
    (['clip0.mp4 0', 'my clip.mp4 1'], "line 2: 3 fields, expected a file "
     "name and one label (a file name with spaces needs delimiter='\\t'")])
def test_bad_list_refused_before_any_video(capsys, tmp_path, lines, match):
    root = tmp_path / 'videos'
    root.mkdir()
    clips(root, 2)
    ann = listing(tmp_path / 'list.txt', lines)
    code, _, err = here(capsys, 'explain', tmp_path / 'out', ann=ann,
                        root=root)
    assert code == 2
    one_error(err, match)
    assert not (tmp_path / 'out').exists()


def test_list_that_is_not_a_file_refused(capsys, tmp_path, no_hang):
    os.mkfifo(tmp_path / 'list.txt')  # reading it would block the run
    code, _, err = here(capsys, 'explain', tmp_path / 'out',
                        ann=tmp_path / 'list.txt', root=tmp_path)
    assert code == 2
    one_error(err, f'test set list {tmp_path}/list.txt is a FIFO (named '
              'pipe), not a file')


@pytest.mark.parametrize('opts, match', [
    (['model.type=NoSuchRecognizer'], 'cannot build the model of '),
    (['model.backbone.type=NoSuchBackbone'], 'NoSuchBackbone is not in the '
     'mmaction::model registry')])
def test_unregistered_model_type_refused(capsys, tmp_path, opts, match):
    code, _, err = here(capsys, 'explain', tmp_path / 'out',
                        '--video', str(tmp_path / clips(tmp_path, 1)[0]),
                        opts=opts)
    assert code == 2
    one_error(err, match)
    assert not (tmp_path / 'out' / 'maps').exists()
    assert not (tmp_path / 'out' / '.lock').exists()


@pytest.mark.parametrize('text, match', [
    ("explainer = dict(type='GradCAM'\n", 'cannot read explainer config '),
    ("method = dict(type='GradCAM')\n", 'defines no `explainer` dict')])
def test_bad_explainer_file_refused(capsys, tmp_path, text, match):
    (tmp_path / 'mine.py').write_text(text)
    for name, flag in (('explain', '--explainer'),
                       ('eval_saliency', '--explainers')):
        code = tool(name).main([CFG, CKPT, '--work-dir',
                                str(tmp_path / name), flag,
                                str(tmp_path / 'mine.py')])
        err = [ln for ln in capsys.readouterr().err.splitlines() if ln]
        assert code == 2
        one_error(err, match)


def test_checkpoint_that_is_not_weights_refused(capsys, tmp_path):
    bad = tmp_path / 'bad.pth'
    torch.save({'state_dict': [1, 2]}, bad)
    code, _, err = here(capsys, 'explain', tmp_path / 'out', '--video',
                        str(tmp_path / clips(tmp_path, 1)[0]), ckpt=bad)
    assert code == 2
    one_error(err, f"checkpoint {bad}: its 'state_dict' is a list, not a "
              'dict of weight names')
    torch.save({'meta': {}, 'conv.weight': torch.zeros(1)}, bad)
    code, _, err = here(capsys, 'explain', tmp_path / 'out', '--video',
                        str(tmp_path / 'clip0.mp4'), ckpt=bad)
    assert code == 2
    one_error(err, 'holds entries that are not weights (tensors): meta')


def test_disk_full_at_start_refused(capsys, tmp_path, monkeypatch):
    import errno

    from mmengine.config import Config

    def full(self, file=None):
        raise OSError(errno.ENOSPC, 'No space left on device', file)
    monkeypatch.setattr(Config, 'dump', full)
    code, _, err = here(capsys, 'explain', tmp_path / 'out', '--video',
                        str(tmp_path / clips(tmp_path, 1)[0]))
    assert code == 2
    line = one_error(err, 'before any video: No space left on device')
    assert line.startswith(f'error: cannot write {tmp_path}/out/')
    assert not (tmp_path / 'out' / 'maps').exists()
    assert not (tmp_path / 'out' / '.lock').exists()


# item 8: SIGTERM exited silently; it does what Ctrl-C does, exit 143
def test_sigterm_one_line_exit_143(videos, tmp_path):  # noqa: F811
    proc = start_explain(tmp_path, videos)
    wait_for_map(proc, tmp_path)
    proc.terminate()  # SIGTERM to the tool's process, as `kill PID` sends
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr[-3000:]
    done = maps_of(tmp_path)
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert lines == [f'interrupted, {len(done)} done, rerun to resume'], \
        lines
    assert 'Traceback' not in stdout + stderr
    assert not (tmp_path / '.lock').exists()
    for dirpath, _, files in os.walk(tmp_path):
        assert not [f for f in files if f.startswith('.tmp_')], dirpath


# item 8: wrong messages ("is a folder" for a FIFO; "checkpoint not found"
# for a folder)
def test_messages_name_what_the_path_is(capsys, tmp_path):
    os.mkfifo(tmp_path / 'pipe.mp4')
    refused(capsys, '--work-dir', str(tmp_path / 'out'), '--video',
            str(tmp_path / 'pipe.mp4'), *APPROX,
            match=f'--video must be a file, {tmp_path}/pipe.mp4 is a FIFO '
            '(named pipe)')
    (tmp_path / 'ckpt').mkdir()
    code = tool('explain').main([CFG, str(tmp_path / 'ckpt'), '--work-dir',
                                 str(tmp_path / 'out')])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln]
    assert code == 2
    one_error(err, f'checkpoint {tmp_path}/ckpt is a folder; give the .pth '
              'file')
    # the class: any path a run reads, never opened when it would block
    code = tool('explain').main([str(tmp_path / 'pipe.mp4'), '--work-dir',
                                 str(tmp_path / 'out')])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln]
    assert code == 2
    one_error(err, f'config {tmp_path}/pipe.mp4 is not a file')
    code = tool('eval_saliency').main([
        CFG, CKPT, '--explainers', 'gradcam', '--work-dir',
        str(tmp_path / 'eval'), '--ucf24-pkl', str(tmp_path / 'pipe.mp4')])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln]
    assert code == 2
    one_error(err, f'--ucf24-pkl {tmp_path}/pipe.mp4 is a FIFO (named '
              'pipe), not a file')


# item 8: a checkpoint that does not fit names the keys, before the Runner
def test_misfit_checkpoint_names_keys_before_the_runner(capsys, tmp_path):
    from conftest import build_model
    other = tmp_path / 'r2plus1d.pth'
    torch.save({'state_dict': build_model('tiny_r2plus1d').state_dict()},
               other)
    shapes = tmp_path / 'shapes.pth'
    state = build_model('tiny_r3d').state_dict()
    state['cls_head.fc_cls.weight'] = torch.zeros(7, 3)
    torch.save({'state_dict': state}, shapes)
    video = str(tmp_path / clips(tmp_path, 1)[0])
    code, _, err = here(capsys, 'explain', tmp_path / 'out', '--video',
                        video, ckpt=other)
    assert code == 2
    one_error(err, 'does not fit the model of this config: 20 missing '
              '(backbone.conv1.conv.weight, ')
    assert 'unexpected (backbone.conv1.conv.conv_s.weight' in err[0]
    code, _, err = here(capsys, 'explain', tmp_path / 'out', '--video',
                        video, ckpt=shapes)
    assert code == 2
    one_error(err, '1 weights of another shape (checkpoint vs model: '
              'cls_head.fc_cls.weight (7, 3) vs (4, ')
    # refused before the Runner: no log folder, no dumped config
    assert sorted(os.listdir(tmp_path / 'out')) == ['.video_list.txt']


# item 8: ids starting with a dot were explained again on every run, and
# the map of `.tmp_clip.mp4` was deleted at start
def test_ids_starting_with_a_dot_resume(capsys, tmp_path):
    work, ann, root, _ = explained(capsys, tmp_path, 2,
                                   ['.tmp_clip.mp4', '.hidden.mp4'])
    before = mtimes(work)
    assert sorted(before) == ['.hidden.npz', '.tmp_clip.npz']
    code, text, _ = here(capsys, 'explain', work, ann=ann, root=root)
    assert code == 0, text[-3000:]
    assert '0 videos to do, 2 already have maps (resuming)' in text
    assert mtimes(work) == before
