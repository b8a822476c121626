"""Progress inside a map (mmaction_aosa/progress.py): what a person sees
while one map is made, on a terminal, in a log and on other ranks."""
import io
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
from conftest import REPO, build_model, moving_square_clip, normalise, \
    write_mp4

from mmaction_aosa import EXPLAINERS, progress

ETA = re.compile(r'ETA \d+:\d\d:\d\d')


class FakeClock:

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class TTY(io.StringIO):

    def isatty(self):
        return True


def test_hms():
    assert progress.hms(0) == '0:00:00'
    assert progress.hms(65.4) == '0:01:05'
    assert progress.hms(5238) == '1:27:18'
    assert progress.hms(None) == '-:--:--'
    assert progress.duration(2.44) == '2.4 s'
    assert progress.duration(5238) == '1:27:18'


def test_line_reporter_every_interval_with_rate_and_eta():
    clock, lines = FakeClock(), []
    rep = progress.LineReporter(lines.append, 'clip0', interval=10,
                                clock=clock)
    rep.advance(1)  # the clean clip, before the explainer announces any
    rep.expect(392)
    for _ in range(10):  # 40 clips in 5 s: nothing shown yet
        clock.now += 0.5
        rep.advance(4)
    assert lines == []
    for _ in range(12):  # past 10 s: one line
        clock.now += 0.5
        rep.advance(4)
    assert len(lines) == 1
    # 80 clips in 10 s, (392 - 80) / 8 = 39 s left
    assert lines[0] == 'clip0: 80/392 clips scored, 8.0 clips/s, ETA 0:00:39'
    clock.now += 10
    rep.advance(8)
    assert len(lines) == 2 and ETA.search(lines[1])


def test_line_reporter_slow_clips_and_more_than_announced():
    clock, lines = FakeClock(), []
    rep = progress.LineReporter(lines.append, 'v', interval=1, clock=clock)
    rep.expect(2)
    for _ in range(3):  # an explainer may score a clip it did not announce
        clock.now += 5
        rep.advance(1)
    assert rep.total == rep.done == 3
    assert '5.0 s/clip' in lines[-1] and 'ETA 0:00:00' in lines[-1]


def test_bar_on_a_terminal_is_erased_when_the_map_is_done():
    clock, tty = FakeClock(), TTY()
    rep = progress.BarReporter(tty, 'clip0', delay=1, refresh=0.2,
                               clock=clock)
    rep.expect(100)
    rep.advance(10)  # under the delay: nothing drawn (short maps stay quiet)
    assert tty.getvalue() == ''
    clock.now += 2
    rep.advance(40)
    out = tty.getvalue()
    assert out.startswith('\r\033[K[') and '50/100 clips scored' in out
    assert '#' * 12 + '.' * 12 + ']' in out and '\n' not in out
    rep.finish()
    assert tty.getvalue().endswith('\r\033[K')


def test_make_reporter_picks_by_terminal_and_rank(monkeypatch):
    monkeypatch.delenv(progress.ENV_INTERVAL, raising=False)
    assert isinstance(progress.make_reporter('a', stream=TTY()),
                      progress.BarReporter)
    logged = []

    class Logger:
        info = logged.append
    rep = progress.make_reporter('a', Logger(), stream=io.StringIO())
    assert isinstance(rep, progress.LineReporter)
    assert rep.emit == logged.append and rep.interval == \
        progress.LINE_INTERVAL
    # other ranks: lines on their own stderr, named, even on a terminal
    err = TTY()
    rep = progress.make_reporter('a', Logger(), rank=1, stream=err,
                                 interval=0.01)
    assert isinstance(rep, progress.LineReporter)
    rep.emit('x')
    assert err.getvalue() == '[rank 1] x\n' and logged == []
    monkeypatch.setenv(progress.ENV_INTERVAL, '0')
    assert progress.make_reporter('a', Logger(), stream=TTY()) is None
    monkeypatch.setenv(progress.ENV_INTERVAL, '2.5')
    assert progress.make_reporter('a', Logger()).interval == 2.5


class Counter:

    def __init__(self):
        self.total = self.done = 0

    def expect(self, n):
        self.total += n

    def advance(self, n):
        self.done += n


@pytest.mark.parametrize('spec, announced', [
    (dict(type='AOSA', rounds=2), 'masks'),
    # round 1: the two checkerboard clips (the clean pass gives the
    # gradient at x); round 2: x with the evidence at its fill, and its two
    (dict(type='AOSAApprox', rounds=2, fill='constant'), 5),
    # the preset: round 1's two checkerboard clips (and the sign check's
    # two); round 2 (if round 1 found evidence): one clip, half faded
    (dict(type='AOSAApprox', rounds=2, round2_path='midpoint'), 'preset'),
    (dict(type='AOSAApprox', rounds=2, round2_path='midpoint',
          sign_check=16), 'preset'),
    (dict(type='Occlusion3D', area_fraction=0.25), 'windows'),
    (dict(type='SmoothGrad', num_samples=6, batch_size=3), 6),
    (dict(type='STEP', num_iterations=3), 3),
])
def test_explainers_announce_what_they_score(spec, announced):
    """The announced clips are the ones the model scores (a real tiny R3D;
    a clean clip's own forward passes come on top)."""
    frames, _ = moving_square_clip(T=8, H=32, W=32, size=8)
    x = normalise(frames)
    model = build_model('tiny_r3d')
    exp = EXPLAINERS.build(dict(spec, anchor_stride=16, box_size=24,
                                batch_size=8)
                           if spec['type'].startswith('AOSA') else spec)
    calls = []
    orig = model.extract_feat

    def counted(inputs, *args, **kwargs):
        calls.append(inputs.shape[0] * inputs.shape[1])
        return orig(inputs, *args, **kwargs)
    model.extract_feat = counted
    rep = Counter()
    with progress.reporting(rep):
        out = exp.explain_full(model, x)
    assert rep.done == sum(calls)  # every clip the model scored
    if announced == 'masks':  # 2×2 anchors, scored in each of 2 rounds,
        # and round 2's clip with only the evidence at its fill
        assert rep.total == 2 * out.timings['num_masks'] + 1 == 9
    elif announced == 'windows':
        assert rep.total == out.timings['num_windows'] > 1
    elif announced == 'preset':
        assert rep.total == (2 + 2 * bool(spec.get('sign_check')) +
                             (out.timings['evidence_tubes'] > 0))
    else:
        assert rep.total == announced
    # unannounced: the clean clip (and AOSA's log-odds of it, round 2's
    # evidence)
    assert 1 <= rep.done - rep.total <= 3
    # outside a reporting block nothing is counted
    done = rep.done
    exp.explain(model, x)
    assert rep.done == done and sum(calls) == 2 * done


@pytest.fixture(scope='module')
def one_video(tmp_path_factory):
    root = tmp_path_factory.mktemp('progress')
    frames, _ = moving_square_clip(T=32, H=128, W=128, start=(4, 40),
                                   velocity=(3, 0), size=20)
    path = str(root / 'clip0.mp4')
    write_mp4(path, frames)
    return path


def explain_cmd(video, work_dir, *opts):
    return [sys.executable, osp.join(REPO, 'tools', 'explain.py'),
            osp.join(REPO, 'configs', 'aosa_tiny_r3d_synthetic.py'),
            osp.join(REPO, 'checkpoints', 'tiny_r3d_synthetic.pth'),
            '--video', video, '--work-dir', str(work_dir), '--cfg-options',
            'explainer.anchor_stride=14', 'explainer.box_size=28',
            'explainer.batch_size=16', *opts]


def test_progress_lines_in_a_log(one_video, tmp_path, monkeypatch):
    """Output that is no terminal (a file, a pipe, a CI log; pytest's
    capture here): lines every $MMACTION_AOSA_PROGRESS seconds, through the
    run's logger, so in its log file too."""
    from conftest import run_tool
    monkeypatch.setenv(progress.ENV_INTERVAL, '0.3')
    assert run_tool('explain.py', explain_cmd(one_video, tmp_path)[2:]) == 0
    log = open(next(
        osp.join(d, f) for d, _, fs in os.walk(tmp_path) for f in fs
        if f.endswith('.log'))).read()
    lines = re.findall(r'clip0: (\d+)/129 clips scored, [\d.]+ '
                       r'(?:clips/s|s/clip), ETA \d+:\d\d:\d\d', log)
    # 64 masks × 2 rounds and round 2's evidence clip; several lines,
    # counting up
    assert len(lines) >= 2, log[-3000:]
    assert [int(n) for n in lines] == sorted(int(n) for n in lines)
    assert '\r' not in log  # no bar
    # the video's own line: the class by name, the ETA in h:mm:ss
    assert re.search(r'\[1/1, ETA 0:00:00\] clip0: axis_\w+ \(class \d\) '
                     r'p=[\d.]+, map in [\d.]+ s', log), log[-2000:]


def test_live_bar_on_a_terminal(one_video, tmp_path):
    """On a terminal (a pseudo-terminal here) the map's progress is a bar
    rewritten in place, erased before the video's line."""
    import pty
    master, slave = pty.openpty()
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env.pop(progress.ENV_INTERVAL, None)
    proc = subprocess.Popen(explain_cmd(one_video, tmp_path), cwd=REPO,
                            env=env, stdout=slave, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=600) == 0
    os.close(master)
    out = b''.join(chunks).decode('utf-8', 'replace')
    bars = re.findall(r'\r\x1b\[K\[[#.]{24}\] clip0: (\d+)/129 clips '
                      r'scored', out)
    assert bars, out[-2000:]
    assert out.count('\r\x1b[K') > len(bars)  # erased at the end
    line = next(ln for ln in out.splitlines() if '[1/1, ETA' in ln)
    assert 'clips scored' not in line.split('\r')[-1]
