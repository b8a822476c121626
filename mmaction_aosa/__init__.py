"""mmaction-aosa: Adaptive Occlusion Sensitivity Analysis for mmaction2."""
from .compat import install_drn_stub

install_drn_stub()

import mmaction.models  # noqa: E402,F401  registers mmaction2's models

from . import (datasets, engine, evaluation, explainers, models,  # noqa: E402,F401
               visualization)
from .registry import EXPLAINERS  # noqa: E402

__version__ = '0.1.0'
__all__ = ['EXPLAINERS', '__version__']
