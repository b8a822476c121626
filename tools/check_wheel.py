"""Check an installed mmaction-aosa (a wheel, not this checkout) as a user
of it would: from a folder outside the checkout, with nothing of the
checkout on the import path.

    python tools/check_wheel.py --python ENV/bin/python [--video FILE]

1. ``import mmaction_aosa`` comes from ENV's site-packages;
2. the shipped configs' label maps resolve from the installed package
   (400 Kinetics names, "arm wrestling" is class 6; 101 UCF101 names);
3. ``explain.py configs/aosa_slowfast_k400.py --video FILE --explainer
   gradcam`` (the preset from the package's data, random weights) writes a
   map and an overlay, and does not warn about missing class names.

FILE defaults to the Kinetics clip of ``../shared/data`` beside the checkout,
else a generated clip. `make test-compat` runs this in ``.venv-compat``.
Exit code 0 when every check holds, 1 otherwise (the failing check named).
"""
import argparse
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
KINETICS_CLIP = osp.join(osp.dirname(REPO), 'shared', 'data', 'videos',
                         'kinetics_arm_wrestling_demo.mp4')

NAMES = r'''
import json, sys
import mmaction_aosa
from mmengine.config import Config
from mmaction_aosa.runs.config import load_class_names
out = {'package': mmaction_aosa.__file__}
for cfg in sys.argv[1:]:
    names = load_class_names(Config.fromfile(cfg), None, cfg) or []
    out[cfg] = names
print(json.dumps(out))
'''

SYNTHETIC = r'''
import sys
from mmaction_aosa.datasets.synthetic import generate_dataset
generate_dataset(sys.argv[1], num_videos=1, seed=5)
'''


def fail(msg: str) -> int:
    print(f'check_wheel: FAILED: {msg}', file=sys.stderr)
    return 1


def run(cmd, cwd, timeout=900):
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--python', default=sys.executable,
                   help='interpreter of the environment with the wheel')
    p.add_argument('--video', help='clip to explain (default: the Kinetics '
                   'clip of ../shared/data, else a generated one)')
    args = p.parse_args(argv)
    # absolute, not resolved: a venv's python is known by its path
    args.python = osp.abspath(args.python)
    outside = tempfile.mkdtemp(prefix='aosa-wheel-')
    try:
        return check(args, outside)
    finally:
        shutil.rmtree(outside, ignore_errors=True)


def check(args, outside: str) -> int:
    k400 = osp.join(REPO, 'configs', 'aosa_slowfast_k400.py')
    ucf = osp.join(REPO, 'configs', 'aosa_r3d_ucf101.py')
    got = run([args.python, '-c', NAMES, k400, ucf], outside)
    if got.returncode:
        return fail('importing the installed package: '
                    + got.stderr.strip()[-2000:])
    names = json.loads(got.stdout.strip().splitlines()[-1])
    package = names['package']
    if osp.samefile(osp.dirname(package), osp.join(REPO, 'mmaction_aosa')):
        return fail(f'mmaction_aosa comes from the checkout ({package}), '
                    'not from an installed wheel')
    print(f'package: {osp.dirname(package)}')
    if len(names[k400]) != 400 or names[k400][6] != 'arm wrestling':
        return fail(f'Kinetics-400 names from the package: '
                    f'{len(names[k400])} names')
    if len(names[ucf]) != 101 or names[ucf][0] != 'ApplyEyeMakeup':
        return fail(f'UCF101 names from the package: {len(names[ucf])}')
    print('label maps: 400 Kinetics-400 names (class 6: arm wrestling), '
          '101 UCF101 names, from the installed package')

    video = args.video or (KINETICS_CLIP if osp.isfile(KINETICS_CLIP)
                           else None)
    if video is None:
        gen = run([args.python, '-c', SYNTHETIC,
                   osp.join(outside, 'clips')], outside)
        if gen.returncode:
            return fail('generating a clip: ' + gen.stderr.strip()[-2000:])
        video = sorted(glob.glob(osp.join(outside, 'clips', '**', '*.mp4'),
                                 recursive=True))[0]
    # a copy of the tool outside the checkout: its folder's parent has no
    # mmaction_aosa, so the installed package is what it imports
    os.makedirs(osp.join(outside, 'tools'))
    tool = shutil.copy(osp.join(REPO, 'tools', 'explain.py'),
                       osp.join(outside, 'tools'))
    work = osp.join(outside, 'out')
    got = run([args.python, tool, k400, '--video', osp.abspath(video),
               '--explainer', 'gradcam', '--work-dir', work], outside)
    log = got.stdout + got.stderr
    if got.returncode:
        return fail(f'explain.py exit {got.returncode}: {log[-3000:]}')
    maps = glob.glob(osp.join(work, 'maps', '*.npz'))
    vis = glob.glob(osp.join(work, 'vis', '*.mp4'))
    if len(maps) != 1 or len(vis) != 1:
        return fail(f'expected one map and one overlay, got {maps} {vis}')
    if 'no class names' in log:
        return fail('the run found no class names: ' + log[-2000:])
    print(f'explained {osp.basename(video)} with the gradcam preset '
          'of the installed package: one map, one overlay, class names '
          'found')
    return 0


if __name__ == '__main__':
    sys.exit(main())
