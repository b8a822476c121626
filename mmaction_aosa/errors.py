"""The error every layer of the plugin raises for input it cannot explain.

It lives below everything else (the adapters raise it too, and the
explainers re-export it), so that no module has to import an explainer to
report a bad clip or a model layout it cannot read.
"""


class ExplainError(ValueError):
    """Bad input to an explainer (shape, target, non-finite scores) or a
    model whose layout a method cannot read (no conv stage for Grad-CAM,
    no attention for rollout)."""


class RunError(ValueError):
    """A config, argument or file that cannot work: the run stops before any
    video (``tools/*.py`` exit with code 2). Defined here, below the run
    layer, so that the work dir (``mmaction_aosa/workdir.py``) can refuse a
    run too; ``mmaction_aosa.runs.config`` re-exports it."""
