"""Public entry points: explain or evaluate a config's test set.

``run_explain`` is what ``tools/explain.py`` runs, ``run_eval`` what
``tools/eval_saliency.py`` runs (both in :mod:`mmaction_aosa.runs`).
"""
from .runs import RunError, run_eval, run_explain

#: The name this error had before the run layer was unified.
ExplainConfigError = RunError

__all__ = ['ExplainConfigError', 'RunError', 'run_eval', 'run_explain']
