"""tools/eval_saliency.py end to end on generated clips with boxes."""
import json
import os.path as osp
import subprocess
import sys

import pytest
from conftest import REPO

from mmaction_aosa import load_map

CONFIG = osp.join(REPO, 'configs', 'tiny', 'tiny_r3d_synthetic.py')
CKPT = osp.join(REPO, 'checkpoints', 'tiny_r3d_synthetic.pth')
KEYS = {'deletion', 'insertion', 'overall', 'spt', 'seconds_per_map',
        'num_videos'}


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    from mmaction_aosa.datasets import generate_dataset
    root = tmp_path_factory.mktemp('synthetic')
    generate_dataset(str(root / 'test'), 3, 4242)
    return root


def eval_tool(work_dir, data_root, *args):
    cmd = [sys.executable, osp.join(REPO, 'tools', 'eval_saliency.py'),
           CONFIG] + ([CKPT] if osp.isfile(CKPT) else []) + [
               '--work-dir', str(work_dir), '--steps', '4',
               '--cfg-options',
               f'test_dataloader.dataset.data_root={data_root}', *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO,
                          timeout=600)


@pytest.fixture(scope='module')
def first_run(tmp_path_factory, data_root):
    work = tmp_path_factory.mktemp('eval')
    r = eval_tool(work, data_root, '--explainers', 'gradcam',
                  'aosa:anchor_stride=28,box_size=56', '--sanity', '1')
    assert r.returncode == 0, r.stderr[-3000:]
    return work


def test_writes_metrics_table_and_plots(first_run):
    with open(first_run / 'metrics.json') as f:
        metrics = json.load(f)
    assert list(metrics) == ['gradcam', 'aosa[anchor_stride=28,box_size=56]']
    for m in metrics.values():
        assert KEYS <= set(m)
        assert m['num_videos'] == 3
        assert m['overall'] == pytest.approx(m['insertion'] - m['deletion'])
        assert 0 <= m['spt'] <= 1  # the generated boxes were found
        assert m['spt_frames'] == 3 * 16
        assert m['seconds_per_map'] > 0
    with open(first_run / 'curves.json') as f:
        curves = json.load(f)
    assert len(curves['gradcam']['deletion_curve']) == 5  # --steps 4
    table = (first_run / 'metrics.md').read_text()
    assert '| Method | Deletion ↓ | Insertion ↑ | Over-all ↑ | S-PT ↑' in table
    assert table.count('\n| ') == 3
    for png in ('curves.png', 'sanity.png'):
        assert (first_run / png).read_bytes()[:4] == b'\x89PNG'
    with open(first_run / 'sanity.json') as f:
        sanity = json.load(f)
    assert sanity['gradcam'][0]['stage'] == 'original'
    assert [r['stage'] for r in sanity['gradcam']][1:3] == ['head', 'layer4']
    # the per-video records give back the same row, and subsets of it
    from mmaction_aosa.evaluation import summarize_records
    row = summarize_records(str(first_run / 'gradcam'))
    for k in ('deletion', 'insertion', 'overall', 'spt', 'num_videos'):
        assert row[k] == pytest.approx(metrics['gradcam'][k])
    assert summarize_records(str(first_run / 'gradcam'),
                             ['videos__video_00000'])['num_videos'] == 1
    from mmaction_aosa.evaluation import tables_from_records
    sub = tables_from_records(str(first_run), str(first_run / 'first2'),
                              ['videos__video_00000', 'videos__video_00001'],
                              order=['gradcam'])
    assert {r['num_videos'] for r in sub.values()} == {2}
    # rows keep the run's labels (not the folder names), in the order asked
    assert list(sub) == list(metrics)
    assert (first_run / 'first2' / 'metrics.md').is_file()
    # maps are kept for reuse, one per video
    maps = sorted((first_run / 'gradcam' / 'maps').glob('*.npz'))
    assert len(maps) == 3
    assert load_map(str(maps[0]))['saliency'].shape == (16, 112, 112)


def test_reads_maps_of_explain_and_reproduces(first_run, data_root,
                                              tmp_path):
    r = eval_tool(tmp_path, data_root, '--explainers', 'gradcam', '--maps',
                  str(first_run / 'gradcam'), '--boxes', 'none')
    assert r.returncode == 0, r.stderr[-3000:]
    with open(tmp_path / 'metrics.json') as f:
        got = json.load(f)['gradcam']
    with open(first_run / 'metrics.json') as f:
        ref = json.load(f)['gradcam']
    for k in ('deletion', 'insertion', 'overall'):
        assert got[k] == pytest.approx(ref[k], abs=1e-6)
    assert got['spt'] is None  # --boxes none: no ground truth
    assert got['num_videos'] == 3
    assert not (tmp_path / 'gradcam' / 'maps').exists()  # read, not copied


def test_bad_arguments_exit_2(tmp_path, capsys):
    sys.path.insert(0, osp.join(REPO, 'tools'))
    import eval_saliency
    assert eval_saliency.main([CONFIG, '--explainers', 'nosuchmethod',
                               '--work-dir', str(tmp_path)]) == 2
    assert 'unknown explainer' in capsys.readouterr().err
    assert eval_saliency.main([CONFIG, '--explainers', 'aosa:map_form',
                               '--work-dir', str(tmp_path)]) == 2
    assert eval_saliency.main([CONFIG, '--explainers', 'gradcam', '--maps',
                               str(tmp_path / 'none')]) == 2
    assert eval_saliency.main([CONFIG, str(tmp_path / 'x.pth'),
                               '--explainers', 'gradcam']) == 2


def test_eval_config_runs_in_runner_test(data_root, tmp_path):
    """configs/eval: the metrics in a plain config's test_evaluator."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'eval',
                                   'eval_tiny_r3d_synthetic.py'))
    cfg.work_dir = str(tmp_path)
    cfg.test_dataloader.dataset.dataset.data_root = str(data_root)
    cfg.test_dataloader.dataset.dataset.indices = 1
    cfg.model.explainer = dict(type='GradCAM')
    cfg.test_evaluator[2].steps = 2
    cfg.experiment_name = 'eval_config_test'
    runner = Runner.from_cfg(cfg)
    if osp.isfile(CKPT):
        from mmaction_aosa.compat import load_checkpoint
        load_checkpoint(runner.model.recognizer, CKPT)
    m = runner.test()
    assert m['deletion_insertion/num_videos'] == 1
    assert 0 <= m['pointing_game/spt'] <= 1
    assert m["time/seconds_per_map"] > 0


def test_comparison_table_marks_best_and_short_rows():
    from mmaction_aosa.evaluation import comparison_table
    tables = {
        'A': {'m1': dict(overall=0.5, spt=0.9, num_videos=50),
              'm2': dict(overall=0.7, spt=0.1, num_videos=20)},
        'B': {'m2': dict(overall=0.2, spt=None, num_videos=50)}}
    lines = comparison_table(tables).strip().split('\n')
    assert lines[0] == ('| Method | A over-all ↑ | A S-PT ↑ | B over-all ↑ '
                        '| B S-PT ↑ |')
    # m1: best S-PT on A, absent on B; m2: best over-all on A from only
    # 20 of 50 videos, the only value on B (not bold: nothing to compare)
    assert lines[2] == '| m1 | 0.500 | **0.900** | – | – |'
    assert lines[3] == '| m2 | **0.700** (20) | 0.100 (20) | 0.200 | – |'


def test_maps_of_other_weights_are_not_reused(first_run, data_root,
                                              tmp_path):
    import shutil

    import torch
    from conftest import build_model
    work = tmp_path / 'eval'
    shutil.copytree(first_run / 'gradcam', work / 'gradcam')
    ckpt = tmp_path / 'other.pth'
    torch.save({'state_dict': build_model('tiny_r3d').state_dict()}, ckpt)
    cmd = [sys.executable, osp.join(REPO, 'tools', 'eval_saliency.py'),
           CONFIG, str(ckpt), '--work-dir', str(work), '--steps', '4',
           '--explainers', 'gradcam', '--cfg-options',
           f'test_dataloader.dataset.data_root={data_root}']
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO,
                       timeout=600)
    assert r.returncode == 2
    assert 'checkpoint_sha256 differs' in r.stderr
