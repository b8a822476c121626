"""The run layer's checks before the Runner (mmaction_aosa/runs/config.py):
where class names come from, and the message when there are none."""
import os

from mmengine.config import Config

from mmaction_aosa.runs.config import (label_map_candidates,
                                       load_class_names,
                                       no_class_names_message)


def test_label_map_relative_to_the_config_folder(tmp_path, monkeypatch):
    cfg_dir = tmp_path / 'configs'
    (cfg_dir / 'labels').mkdir(parents=True)
    (cfg_dir / 'labels' / 'names.txt').write_text('run\njump\n\n')
    cfg_path = cfg_dir / 'my_config.py'
    cfg_path.write_text("model = dict(type='X')\n"
                        "label_map = 'labels/names.txt'\n")
    cfg = Config.fromfile(str(cfg_path))
    monkeypatch.chdir(tmp_path)  # not found from the working directory
    assert load_class_names(cfg, None, str(cfg_path)) == ['run', 'jump']
    # found from the working directory first
    (tmp_path / 'labels').mkdir()
    (tmp_path / 'labels' / 'names.txt').write_text('a\nb\n')
    assert load_class_names(cfg, None, str(cfg_path)) == ['a', 'b']
    # class_names wins over label_map
    cfg.class_names = ['x', 'y']
    assert load_class_names(cfg, None, str(cfg_path)) == ['x', 'y']


def test_no_class_names_says_where_it_looked(tmp_path):
    cfg = Config(dict(model=dict(type='X'), label_map='data/k400.txt'))
    assert load_class_names(cfg, {'meta': {}}, str(tmp_path / 'c.py')) \
        is None
    msg = no_class_names_message(cfg, str(tmp_path / 'c.py'))
    for where in label_map_candidates('data/k400.txt',
                                      str(tmp_path / 'c.py')):
        assert where in msg
    assert 'label_map' in msg and 'class_names' in msg
    assert '\n' not in msg
    msg = no_class_names_message(Config(dict(model=dict(type='X'))))
    assert 'neither label_map nor class_names' in msg
    # the checkpoint's dataset_meta is the last resort
    ckpt = {'meta': {'dataset_meta': {'classes': ['p', 'q']}}}
    assert load_class_names(Config(dict(model=dict(type='X'))), ckpt) == \
        ['p', 'q']


# -- --explainer NAME and the config's own settings (issue 23, item 2) ----
def test_preset_chooses_the_method_config_keeps_its_geometry():
    import os.path as osp

    from conftest import REPO

    from mmaction_aosa.runs.config import choose_explainer, load_config
    cfg = load_config(osp.join(REPO, 'configs', 'aosa_slowfast_k400.py'))
    own = choose_explainer(None, cfg)
    assert (own.cfg['anchor_stride'], own.cfg['box_size'],
            own.cfg['batch_size']) == (10, 20, 16)
    approx = choose_explainer('aosa_approx', cfg)
    exp = approx.cfg
    # the method is the preset's ...
    assert exp['type'] == 'AOSAApprox' and exp['path'] == 'cells'
    # ... the geometry for this model (the paper's 256 px setting) the
    # config's
    assert (exp['anchor_stride'], exp['box_size'], exp['batch_size']) == \
        (10, 20, 16)
    assert approx.describe() == (
        'AOSAApprox (preset aosa_approx; from the config: anchor_stride=10,'
        ' box_size=20, batch_size=16)')
    # --cfg-options override both
    opt = choose_explainer('aosa_approx', cfg, {'batch_size': 4})
    assert opt.cfg['batch_size'] == 4 and opt.cfg['anchor_stride'] == 10
    assert opt.describe().endswith(
        'from the config: anchor_stride=10, box_size=20; from --cfg-options:'
        ' batch_size=4)')
    # NAME:key=value too; the preset's method settings stay
    authors = choose_explainer('aosa_authors:box_size=24', cfg)
    assert authors.cfg['map_form'] == 'sum_drop' and \
        authors.cfg['box_size'] == 24 and authors.cfg['anchor_stride'] == 10
    assert 'from the name: box_size=24' in authors.describe()
    # a method that takes none of them gets none of them
    cam = choose_explainer('gradcam', cfg)
    assert not {'anchor_stride', 'box_size', 'batch_size'} & set(cam.cfg)
    occ = choose_explainer('occlusion3d', cfg)
    assert occ.cfg['batch_size'] == 16 and 'anchor_stride' not in occ.cfg


def test_explain_run_with_a_preset_keeps_the_config_geometry(tmp_path):
    """tools/explain.py --explainer aosa_approx on a config that sets its
    own anchor grid: the map, run.json and the header line say where each
    setting came from; the log file has every argument."""
    import glob
    import json
    import os.path as osp

    from conftest import REPO, moving_square_clip, run_tool, write_mp4

    from mmaction_aosa import load_map
    frames, _ = moving_square_clip(T=32, H=128, W=128, size=20)
    video = str(tmp_path / 'clip.mp4')
    write_mp4(video, frames)
    cfg = tmp_path / 'my_r3d.py'
    cfg.write_text(
        f"_base_ = ['{REPO}/configs/aosa_tiny_r3d_synthetic.py']\n"
        'explainer = dict(anchor_stride=28, box_size=56, batch_size=16)\n')
    out = tmp_path / 'out'
    code = run_tool('explain.py', [cfg, '--video', video, '--work-dir', out,
                                   '--explainer', 'aosa_approx', '--no-vis',
                                   '--cfg-options', 'explainer.batch_size=8'])
    assert code == 0
    m = load_map(str(out / 'maps' / 'clip.npz'))
    assert m['method'] == 'AOSAApprox'
    assert (m['params']['anchor_stride'], m['params']['box_size'],
            m['params']['batch_size']) == (28, 56, 8)
    run = json.loads((out / 'run.json').read_text())
    assert run['explainer']['anchor_stride'] == 28
    log = open(glob.glob(str(out / '*' / '*.log'))[0]).read()
    header = next(ln for ln in log.splitlines() if 'explaining ' in ln)
    assert ('AOSAApprox (preset aosa_approx; from the config: '
            'anchor_stride=28, box_size=56; from --cfg-options: '
            'batch_size=8)') in header
    # the header names what was chosen, not every argument (those go to the
    # 'explainer arguments' line); its length without the temporary paths
    # does not depend on where pytest puts tmp_path
    assert "path='cells'" not in header
    assert len(header.replace(str(tmp_path), '<tmp>')) < 300
    args = next(ln for ln in log.splitlines() if 'explainer arguments' in ln)
    assert 'AOSAApprox(anchor_stride=28, box_size=56' in args and \
        "path='cells'" in args and 'batch_size=8' in args
    assert osp.isfile(out / 'report.html')


def test_readme_lists_every_preset():
    """The README's presets table names every preset the package ships,
    with its type."""
    import os.path as osp
    import re

    from conftest import REPO
    from mmengine.config import Config

    from mmaction_aosa.runs.config import PRESET_DIR, preset_path
    text = open(osp.join(REPO, 'README.md'), encoding='utf-8').read()
    rows = dict(re.findall(r'^\| `(\w+)` \| `(\w+)` \|', text, re.M))
    shipped = sorted(f[:-3] for f in os.listdir(PRESET_DIR)
                     if f.endswith('.py') and not f.startswith('_'))
    assert len(shipped) == 11
    for name in shipped:
        assert rows.get(name) == Config.fromfile(
            preset_path(name)).explainer.type, name
