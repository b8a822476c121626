from setuptools import find_packages, setup


def read_requirements(path='requirements.txt'):
    reqs = []
    with open(path) as f:
        for line in f:
            line = line.split('#')[0].strip()
            if line and line not in ('pytest', ):
                reqs.append(line)
    return reqs


setup(
    name='mmaction-aosa',
    version='0.1.0',
    description='Adaptive Occlusion Sensitivity Analysis for mmaction2 '
    'video recognizers',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('tests', 'tests.*')),
    # explainer presets (and label maps) ship inside the package, so that
    # `--explainer NAME` works from an installed wheel
    package_data={'mmaction_aosa': ['configs/*/*.py', 'configs/*/*.txt']},
    include_package_data=True,
    # numpy 2.4.6 of the pins needs Python >= 3.11 (tested on 3.11.7)
    python_requires='>=3.11',
    install_requires=read_requirements(),
    extras_require={'tests': ['pytest']},
    license='Apache-2.0',
)
