"""The package works from a built wheel, away from the checkout."""
import glob
import os.path as osp
import subprocess
import sys
import zipfile

from conftest import REPO

CHECK = r'''
import os, sys
import mmaction_aosa
from mmengine.config import Config
from mmaction_aosa.runs import available_explainers, resolve_explainer
site = sys.argv[1]
assert mmaction_aosa.__file__.startswith(site), mmaction_aosa.__file__
names = [n for n in available_explainers() if n.islower()]
assert {'aosa', 'aosa_authors', 'aosa_approx', 'aosa_approx_authors',
        'gradcam', 'occlusion3d', 'smoothgrad', 'step',
        'rollout'} <= set(names), names
for name in names:
    exp = resolve_explainer(name, Config())
    assert exp['type'], exp
print('presets', len(names))
'''


def test_presets_resolve_from_an_installed_wheel(tmp_path):
    out = tmp_path / 'wheel'
    build = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps',
         '--no-build-isolation', '-q', '-w', str(out), REPO],
        capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    wheel, = glob.glob(str(out / '*.whl'))
    site = tmp_path / 'site'
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        z.extractall(site)
    assert 'mmaction_aosa/configs/explainers/aosa.py' in names
    # the wheel holds the package only: no tests, tools or repo configs
    assert not [n for n in names if n.startswith(('tests/', 'tools/',
                                                  'configs/'))]
    run = subprocess.run(
        [sys.executable, '-c', CHECK, str(site)], capture_output=True,
        text=True, timeout=300, cwd=str(tmp_path),
        env={'PYTHONPATH': str(site), 'PATH': '/usr/bin:/bin'})
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.startswith('presets')
    assert not osp.exists(osp.join(str(tmp_path), 'configs'))
