"""How the package installs: ranges in its metadata and an exact lock for
make and CI, a wheel that works away from the checkout (presets, label
maps), and a Python floor that the code's syntax keeps."""
import glob
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
from conftest import REPO
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

# what `make wheel` copies to build from (setup.py reads these)
WHEEL_SRC = ('setup.py', 'README.md', 'requirements', 'mmaction_aosa')


def read_reqs(name):
    """(requirement, comment lines right above it) of requirements/NAME."""
    out, comment = [], []
    with open(osp.join(REPO, 'requirements', name)) as f:
        for line in f:
            line = line.strip()
            if line.startswith('#'):
                comment.append(line)
            elif line:
                out.append((Requirement(line.split('#')[0]), comment))
                comment = []
            else:
                comment = []
    return out


def read_lock(name):
    lock = {}
    for req, _ in read_reqs(name):
        spec, = req.specifier
        assert spec.operator == '==', f'{name}: {req} is not an exact pin'
        lock[req.name.lower().replace('_', '-')] = Version(spec.version)
    return lock


def test_install_requires_are_ranges_that_both_locks_meet():
    runtime = read_reqs('runtime.txt')
    names = {r.name.lower() for r, _ in runtime}
    # mmcv or mmcv-lite, whichever the environment has (extra `mim`)
    assert not names & {'mmcv', 'mmcv-lite', 'mmcv-full'}
    assert {'torch', 'numpy', 'mmengine', 'mmaction2', 'opencv-python',
            'av'} <= names
    for name in ('lock-cpu.txt', 'lock-compat.txt'):
        lock = read_lock(name)
        for req, _ in runtime:
            assert not any(s.operator in ('==', '===') for s in
                           req.specifier), f'exact pin {req}'
            key = req.name.lower()
            assert key in lock, f'{name} lacks {key}'
            assert req.specifier.contains(lock[key], prereleases=True), (
                f'{name}: {key}=={lock[key]} is outside {req}')
    # the numpy 1.x / opencv 4.x set and the numpy 2.x / opencv 5.x one
    cpu, compat = read_lock('lock-cpu.txt'), read_lock('lock-compat.txt')
    assert compat['numpy'].major == 1 and cpu['numpy'].major == 2
    assert compat['opencv-python'].major == 4
    assert cpu['opencv-python'].major == 5
    for lock in (cpu, compat):  # both write cv2/: one version
        assert lock['opencv-python'] == lock['opencv-contrib-python']


def test_every_floor_is_tested_or_justified():
    compat = read_lock('lock-compat.txt')
    for req, comment in read_reqs('runtime.txt'):
        floors = [s.version for s in req.specifier if s.operator == '>=']
        if comment:  # justified in the comment above it
            continue
        assert floors, f'{req}: no floor and no comment saying why'
        assert Version(floors[0]) == compat[req.name.lower()], (
            f'{req}: floor {floors[0]} is not the tested version '
            f'{compat[req.name.lower()]} of lock-compat.txt')


def build_wheel(tmp_path):
    """The wheel, built as `make wheel` does: from a copy of the sources,
    so that the checkout gets no build/ or *.egg-info."""
    src = tmp_path / 'src'
    src.mkdir()
    for name in WHEEL_SRC:
        path = osp.join(REPO, name)
        if osp.isdir(path):
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns(
                '__pycache__', '*.pyc'))
        else:
            shutil.copy(path, src / name)
    out = tmp_path / 'wheel'
    build = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps',
         '--no-build-isolation', '-q', '-w', str(out), str(src)],
        capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    wheel, = glob.glob(str(out / '*.whl'))
    return wheel


CHECK = r'''
import json, os, sys
import mmaction_aosa
from mmengine.config import Config
from mmaction_aosa.runs import available_explainers, resolve_explainer
from mmaction_aosa.runs.config import load_class_names
site = sys.argv[1]
assert mmaction_aosa.__file__.startswith(site), mmaction_aosa.__file__
names = [n for n in available_explainers() if n.islower()]
assert {'aosa', 'aosa_authors', 'aosa_approx', 'aosa_approx_authors',
        'gradcam', 'occlusion3d', 'smoothgrad', 'step',
        'rollout'} <= set(names), names
for name in names:
    exp = resolve_explainer(name, Config())
    assert exp['type'], exp
classes = {}
for cfg in sys.argv[2:]:
    classes[os.path.basename(cfg)] = load_class_names(
        Config.fromfile(cfg), None, cfg)
print(json.dumps(dict(presets=len(names), classes=classes)))
'''


def test_wheel_works_away_from_the_checkout(tmp_path):
    wheel = build_wheel(tmp_path)
    site = tmp_path / 'site'
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        z.extractall(site)
        meta_name, = [n for n in names if n.endswith('.dist-info/METADATA')]
        meta = z.read(meta_name).decode()
    assert 'mmaction_aosa/configs/explainers/aosa.py' in names
    assert 'mmaction_aosa/configs/labels/README.md' in names
    assert 'mmaction_aosa/configs/labels/kinetics400/label_map_k400.txt' \
        in names
    assert 'mmaction_aosa/configs/labels/ucf101/label_map.txt' in names
    # the wheel holds the package only: no tests, tools or repo configs
    assert not [n for n in names if n.startswith(('tests/', 'tools/',
                                                  'configs/'))]
    # its metadata: ranges, no exact pins, no mmcv of either kind
    requires = re.findall(r'^Requires-Dist: (.+)$', meta, re.M)
    runtime = [r for r in requires if 'extra ==' not in r]
    assert runtime and not [r for r in runtime if '==' in r], runtime
    assert not [r for r in runtime if r.startswith('mmcv')], runtime
    assert [r for r in requires if r.startswith('mmcv') and 'mim' in r]
    floor = re.search(r'^Requires-Python: >=(\S+)$', meta, re.M).group(1)
    assert Version(floor) < Version('3.11')
    # run from a folder outside the checkout, with only the extracted wheel
    # (and the environment's dependencies) on the path
    cfgs = [osp.join(REPO, 'configs', c) for c in
            ('aosa_slowfast_k400.py', 'aosa_r3d_ucf101.py')]
    run = subprocess.run(
        [sys.executable, '-c', CHECK, str(site)] + cfgs,
        capture_output=True, text=True, timeout=300, cwd=str(tmp_path),
        env={'PYTHONPATH': str(site), 'PATH': '/usr/bin:/bin'})
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got['presets'] >= 9
    k400 = got['classes']['aosa_slowfast_k400.py']
    ucf = got['classes']['aosa_r3d_ucf101.py']
    # overlays say "arm wrestling", not "class 6"
    assert len(k400) == 400 and k400[6] == 'arm wrestling'
    assert len(ucf) == 101 and ucf[:2] == ['ApplyEyeMakeup', 'ApplyLipstick']
    assert not osp.exists(osp.join(str(tmp_path), 'configs'))


def test_package_label_maps_match_by_folder_and_name(tmp_path, monkeypatch):
    from mmengine.config import Config

    from mmaction_aosa.runs.config import load_class_names
    monkeypatch.chdir(tmp_path)
    cfg = str(tmp_path / 'c.py')

    def names(label_map):
        return load_class_names(Config(dict(label_map=label_map)), None, cfg)

    assert len(names('data/ucf101/label_map.txt')) == 101
    assert len(names('some/where/kinetics400/label_map_k400.txt')) == 400
    # a label_map.txt of another dataset is not taken for UCF101's
    assert names('data/hmdb51/label_map.txt') is None
    assert names('label_map.txt') is None
    # the user's own file comes first
    (tmp_path / 'data' / 'ucf101').mkdir(parents=True)
    (tmp_path / 'data' / 'ucf101' / 'label_map.txt').write_text('a\nb\n')
    assert names('data/ucf101/label_map.txt') == ['a', 'b']


def _floor_python():
    with open(osp.join(REPO, 'setup.py')) as f:
        floor = re.search(r"python_requires='>=([\d.]+)'", f.read()).group(1)
    major, minor = floor.split('.')[:2]
    exe = f'python{major}.{minor}'
    found = sorted(glob.glob(osp.expanduser(
        f'~/.pyenv/versions/{major}.{minor}.*/bin/{exe}')))
    which = shutil.which(exe)
    if which and '/shims/' not in which:  # a pyenv shim may not run it
        found.append(which)
    return floor, (found[0] if found else None)


def test_code_compiles_on_the_python_floor():
    """python_requires is vermin's floor for mmaction_aosa/ and tools/
    (README, Install notes); the floor's interpreter must at least parse
    every file (the dependencies of the lock do not install there)."""
    floor, exe = _floor_python()
    if exe is None:
        pytest.skip(f'no Python {floor} on this machine')
    files = sorted(glob.glob(osp.join(REPO, 'mmaction_aosa', '**', '*.py'),
                             recursive=True)
                   + glob.glob(osp.join(REPO, 'tools', '*.py')))
    code = ('import sys\nbad = []\nfor f in sys.argv[1:]:\n'
            '    try:\n        compile(open(f, encoding="utf-8").read(), f, '
            '"exec")\n    except SyntaxError as e:\n'
            '        bad.append("%s:%s %s" % (f, e.lineno, e.msg))\n'
            'print("\\n".join(bad)); sys.exit(bool(bad))')
    run = subprocess.run([exe, '-c', code] + files, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(files) > 50
