"""report.html of explain and eval work dirs, opened in a real browser
(Debian's chromium, headless): every overlay decodes, no script errors,
a screenshot that is not blank; and tools/figure.py on the same runs."""
import json
import os
import os.path as osp
import re
import shutil
import subprocess
from urllib.parse import unquote

import cv2
import pytest
from conftest import REPO, moving_square_clip, run_tool, write_mp4

from mmaction_aosa.runs import read_summary

CONFIG = osp.join(REPO, 'configs', 'aosa_tiny_r3d_synthetic.py')
CKPT = osp.join(REPO, 'checkpoints', 'tiny_r3d_synthetic.pth')
FAST = ['explainer.anchor_stride=28', 'explainer.box_size=56',
        'explainer.batch_size=16']


def find_chromium():
    """Debian's chromium; installed with apt-get when missing (as
    .ci/run does), skipped only when that cannot be done."""
    for name in ('chromium', 'chromium-browser'):
        if shutil.which(name):
            return shutil.which(name)
    if not shutil.which('apt-get') or os.geteuid() != 0:
        pytest.skip('chromium is not installed and apt-get cannot install '
                    'it here (not root or no apt-get)')
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    out = ''
    for cmd in (['apt-get', 'update'],
                ['apt-get', 'install', '-y', 'chromium']):
        res = subprocess.run(cmd, env=env, capture_output=True, text=True,
                             timeout=1200)
        out = res.stderr[-500:]
        if res.returncode:
            break
    if not shutil.which('chromium'):
        pytest.skip(f'chromium could not be installed with apt-get: {out}')
    return shutil.which('chromium')


def chromium_args(exe, profile):
    return [exe, '--headless', '--no-sandbox', '--disable-gpu',
            '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update',
            '--disable-sync', f'--user-data-dir={profile}',
            '--allow-file-access-from-files', '--autoplay-policy='
            'no-user-gesture-required']


#: Injected first into a copy of the report: records script and resource
#: errors, waits until every video has data (or failed), then writes what
#: each <video> and <img> holds into the page as JSON.
CHECKER = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  var t = e.target || {};
  window.__errors.push((e.message || ('cannot load ' + (t.src || t.tagName)))
                       + '');
}, true);
window.addEventListener('load', function () {
  var t0 = Date.now();
  function check() {
    var vids = Array.prototype.map.call(document.querySelectorAll('video'),
      function (v) { return {src: v.currentSrc || v.src, ready: v.readyState,
        width: v.videoWidth, error: v.error ? v.error.code : null}; });
    var imgs = Array.prototype.map.call(document.querySelectorAll('img'),
      function (i) { return {src: i.currentSrc || i.src,
        width: i.naturalWidth, complete: i.complete}; });
    var waiting = vids.some(function (v) { return v.ready < 2 && !v.error; });
    if (waiting && Date.now() - t0 < 25000) { setTimeout(check, 100); return; }
    var pre = document.createElement('pre');
    pre.id = 'aosa-check';
    pre.textContent = JSON.stringify({videos: vids, images: imgs,
                                      errors: window.__errors});
    document.body.appendChild(pre);
  }
  check();
});
</script>"""


def open_in_browser(report, tmp_path):
    """(what every <video>/<img> holds, the page's DOM, a screenshot)."""
    exe = find_chromium()
    html = open(report, encoding='utf-8').read()
    assert '<script' not in html  # the page needs none
    check = osp.join(osp.dirname(report), '_check_report.html')
    with open(check, 'w', encoding='utf-8') as f:
        f.write(html.replace('<head>', '<head>' + CHECKER, 1))
    try:
        res = subprocess.run(
            chromium_args(exe, tmp_path / 'profile') + [
                '--virtual-time-budget=30000', '--dump-dom',
                'file://' + check], capture_output=True, text=True,
            timeout=300)
    finally:
        os.remove(check)
    m = re.search(r'<pre id="aosa-check">(.*?)</pre>', res.stdout, re.S)
    assert m, res.stderr[-2000:]
    import html as html_lib
    state = json.loads(html_lib.unescape(m.group(1)))
    shot = str(tmp_path / 'shot.png')
    subprocess.run(chromium_args(exe, tmp_path / 'profile2') + [
        '--virtual-time-budget=10000', '--window-size=1400,1600',
        f'--screenshot={shot}', 'file://' + report], capture_output=True,
        timeout=300)
    img = cv2.imread(shot)
    assert img is not None, 'no screenshot'
    return state, res.stdout, img


def check_media(state, num_videos):
    assert state['errors'] == []
    assert len(state['videos']) == num_videos
    for v in state['videos']:
        # every overlay decodes: data for the current frame, a frame size
        assert v['error'] is None and v['ready'] >= 2 and v['width'] > 0, v
    for i in state['images']:
        assert i['complete'] and i['width'] > 0, i


def not_blank(img):
    """The screenshot shows a page with content: text and coloured
    overlays, not one flat colour."""
    assert img.std() > 20
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    assert (hsv[..., 1] > 100).mean() > 0.01  # the heat maps' colours


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp('report')
    for i, (start, vel) in enumerate([((4, 40), (3, 0)),
                                      ((40, 4), (0, 3))]):
        frames, _ = moving_square_clip(T=32, H=128, W=128, start=start,
                                       velocity=vel, size=20, seed=i)
        write_mp4(str(root / 'videos' / f'clip{i}.mp4'), frames)
    (root / 'list.txt').write_text('clip0.mp4 0\nclip1.mp4 1\n'
                                   'missing.mp4 2\n')
    return root


def data_opts(root):
    return [f'test_dataloader.dataset.ann_file={root / "list.txt"}',
            f'test_dataloader.dataset.data_prefix.video={root / "videos"}']


@pytest.fixture(scope='module')
def explained(data):
    work = data / 'explain'
    code = run_tool('explain.py', [CONFIG, CKPT, '--work-dir', work,
                                   '--num-videos', 2, '--cfg-options',
                                   *FAST, *data_opts(data)])
    assert code == 0
    return work


def test_num_videos_and_a_rerun_adds_to_the_report(data, explained):
    """--num-videos 2 explains the first two videos; a rerun of the whole
    list resumes and the report then holds all three (the missing video
    failed, with its error)."""
    assert sorted(read_summary(str(explained))) == ['clip0', 'clip1']
    first = open(explained / 'report.html').read()
    assert first.count('<video ') == 2 and 'missing' not in first
    copy = data / 'explain_all'
    shutil.copytree(explained, copy)
    code = run_tool('explain.py', [CONFIG, CKPT, '--work-dir', copy,
                                   '--cfg-options', *FAST, *data_opts(data)])
    assert code == 1  # the missing video failed
    summary = read_summary(str(copy))
    assert summary['missing']['status'] == 'failed'
    page = open(copy / 'report.html').read()
    assert page.count('<video ') == 2
    row = re.search(r'<tr class="failed">.*?</tr>', page, re.S).group(0)
    assert 'missing' in row and 'video not found' in row


def test_explain_report_in_a_browser(explained, tmp_path):
    report = str(explained / 'report.html')
    state, dom, shot = open_in_browser(report, tmp_path)
    check_media(state, 2)
    assert {osp.basename(v['src']) for v in state['videos']} == {
        'clip0.mp4', 'clip1.mp4'}
    # the table of videos: class name, score, seconds, status
    summary = read_summary(str(explained))
    for vid, rec in summary.items():
        row = re.search(rf'<tr class="ok">.*?<td>{vid}</td>.*?</tr>', dom,
                        re.S).group(0)
        assert rec['class_name'].startswith('axis_')
        assert f'<td>{rec["class_name"]}</td>' in row
        assert f'{rec["score"]:.3f}' in row and '>ok<' in row
    not_blank(shot)


@pytest.fixture(scope='module')
def evaluated(data):
    # a process of its own: metric classes that other test modules define
    # (and do not register) must not join its evaluator
    import sys
    work = data / 'eval'
    res = subprocess.run([
        sys.executable, osp.join(REPO, 'tools', 'eval_saliency.py'), CONFIG,
        CKPT, '--work-dir', str(work), '--explainers', 'gradcam',
        'smoothgrad:num_samples=4', '--num-videos', '2', '--steps', '4',
        '--cfg-options', *data_opts(data)], capture_output=True, text=True,
        timeout=900, env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert res.returncode == 0, res.stderr[-3000:] + res.stdout[-3000:]
    return work


def test_eval_report_in_a_browser(evaluated, tmp_path, capsys):
    metrics = json.loads((evaluated / 'metrics.json').read_text())
    assert list(metrics) == ['gradcam', 'smoothgrad[num_samples=4]']
    report = str(evaluated / 'report.html')
    state, dom, shot = open_in_browser(report, tmp_path)
    # two methods side by side on each of the two videos
    check_media(state, 4)
    srcs = sorted(unquote(v['src']).split('/eval/')[-1]
                  for v in state['videos'])
    folder = 'smoothgrad_num_samples=4'
    assert srcs == ['gradcam/vis/clip0.mp4', 'gradcam/vis/clip1.mp4',
                    f'{folder}/vis/clip0.mp4', f'{folder}/vis/clip1.mp4']
    table = re.search(r'<table id="metrics">.*?</table>', dom,
                      re.S).group(0)
    for method, row in metrics.items():
        assert f'<td>{method}</td>' in table
        assert f'{row["overall"]:.3f}' in table
    # the mean deletion and insertion curves: one line per method each
    assert dom.count('<polyline') == 4
    not_blank(shot)


def test_figure_from_the_eval_run(evaluated, tmp_path):
    """tools/figure.py: one video, the eval's methods as rows, frames as
    columns, PNG at 300 dpi and PDF."""
    from PIL import Image

    from mmaction_aosa.visualization.figure import draw_figure, load_rows
    out = tmp_path / 'fig'
    code = run_tool('figure.py', [evaluated, '--video', 'clip0', '--frames',
                                  4, '--out', out])
    assert code == 0
    png = Image.open(f'{out}.png')
    assert round(png.info['dpi'][0]) == 300
    assert png.size[0] >= 4 * 1.5 * 300  # 4 columns of 1.5 in
    assert open(f'{out}.pdf', 'rb').read(5) == b'%PDF-'
    rows = load_rows([evaluated / 'gradcam',
                      evaluated / 'smoothgrad_num_samples=4'], 'clip0')
    assert [r.label for r in rows] == ['gradcam', 'smoothgrad[num_samples=4]']
    fig, grid = draw_figure(rows, 4)
    # every panel is the model's 112 px crop of the 128 px source frame
    assert len(grid) == 2 and all(len(r) == 4 for r in grid)
    assert all(p.shape == (112, 112, 3) for r in grid for p in r)
    assert fig.axes[0].get_ylabel() == 'gradcam'
    assert code == 0
    assert run_tool('figure.py', [evaluated, '--video', 'nope']) == 2


def test_eval_report_links_the_overlays_of_maps_read_from_a_run(
        explained, tmp_path):
    """A method whose maps were read with --maps (no overlays of its own)
    shows the overlays beside those maps, by a relative path."""
    from mmaction_aosa.evaluation.html_report import (OVERLAY_DIR_FILE,
                                                      write_eval_report)
    from mmaction_aosa.fileio import write_lines
    work = explained.parent / 'eval_of_maps'
    method = work / 'aosa'
    method.mkdir(parents=True)
    (method / 'label.txt').write_text('aosa\n')
    (method / OVERLAY_DIR_FILE).write_text(str(explained / 'vis') + '\n')
    write_lines(str(method / 'explain.jsonl'),
                [dict(video='clip0', status='ok'),
                 dict(video='clip1', status='failed')])
    write_lines(str(method / 'deletion_insertion.jsonl'), [dict(
        video='clip0', target=0, deletion=0.25, insertion=0.75)])
    page = open(write_eval_report(str(work))).read()
    assert '<video src="../explain/vis/clip0.mp4"' in page
    assert 'del 0.250, ins 0.750' in page and 'clip1.mp4' not in page
    assert 'class="error">failed<' in page
