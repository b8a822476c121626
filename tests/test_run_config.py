"""The run layer's checks before the Runner (mmaction_aosa/runs/config.py):
where class names come from, and the message when there are none."""
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
