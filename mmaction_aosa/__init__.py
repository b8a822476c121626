"""mmaction-aosa: Adaptive Occlusion Sensitivity Analysis for mmaction2.

Importing the package silences a few known warnings of the pinned stack
(``quiet.py``) and registers its explainers (``EXPLAINERS``) and its
model, dataset, metrics, hooks and visualizer in mmaction2's registries.
docs/architecture.md maps the modules.
"""
from .quiet import silence_known_warnings

silence_known_warnings()

from .compat import install_drn_stub  # noqa: E402

install_drn_stub()

import mmaction.models  # noqa: E402,F401  registers mmaction2's models

from . import (adapters, datasets, engine, evaluation, explainers,  # noqa: E402,F401
               models, visualization)
from .registry import EXPLAINERS  # noqa: E402
from .structures import SaliencyRecord, load_map  # noqa: E402
from .apis import explain_video, init_recognizer, write_overlay  # noqa: E402

__version__ = '0.1.0'
__all__ = ['EXPLAINERS', 'SaliencyRecord', 'explain_video',
           'init_recognizer', 'load_map', 'write_overlay', '__version__']
