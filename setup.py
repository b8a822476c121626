import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name):
    """Requirement lines of requirements/NAME (ranges, never exact pins:
    the exact set make and CI install is requirements/lock-cpu.txt)."""
    reqs = []
    with open(osp.join(HERE, 'requirements', name)) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line:
                reqs.append(line)
    return reqs


with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
    long_description = f.read()

setup(
    name='mmaction-aosa',
    version='0.1.0',
    description='Adaptive Occlusion Sensitivity Analysis for mmaction2 '
    'video recognizers',
    long_description=long_description,
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*')),
    # explainer presets and label maps ship inside the package, so that
    # `--explainer NAME` and class names work from an installed wheel
    package_data={'mmaction_aosa': ['configs/explainers/*.py',
                                    'configs/labels/README.md',
                                    'configs/labels/*/*.txt']},
    # the floor of the code itself (vermin over mmaction_aosa/ and tools/:
    # dataclasses, contextvars); tests run on 3.11 only (README, "Install
    # into your own environment")
    python_requires='>=3.7',
    install_requires=read_requirements('runtime.txt'),
    # mmcv with compiled ops, as mmaction2 declares it (`mim install`);
    # mmcv-lite serves as well: README, "Install into your own environment"
    extras_require={'mim': read_requirements('mminstall.txt'),
                    'tests': read_requirements('tests.txt')},
    license='Apache-2.0',
    classifiers=[
        'License :: OSI Approved :: Apache Software License',
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3.11',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
