"""Registries of mmaction-aosa.

``EXPLAINERS`` holds the saliency methods (AOSA, AOSAApprox and the
baselines), ``ADAPTERS`` the recognizer adapters (how a model layout is fed,
scored and read; ``mmaction_aosa/adapters``). Metrics, hooks, models and visualisers are registered in
mmaction2's own registries so that mmaction2 configs can name them.
"""
from mmengine.registry import DefaultScope, Registry


class PluginRegistry(Registry):
    """A registry that builds under its own scope.

    Code that runs under mmaction2's default scope (``init_recognizer``,
    every mmaction2 config) would otherwise make mmengine look for an
    ``mmaction`` child of this registry and print "Failed to search
    registry with scope ..." before using this one anyway.
    """

    def build(self, cfg, *args, **kwargs):
        with DefaultScope.overwrite_default_scope(self.scope):
            return super().build(cfg, *args, **kwargs)


EXPLAINERS = PluginRegistry(
    'explainer', scope='mmaction_aosa', locations=['mmaction_aosa.explainers'])

ADAPTERS = PluginRegistry(
    'recognizer adapter', scope='mmaction_aosa',
    locations=['mmaction_aosa.adapters'])


def build_explainer(cfg):
    """Build an explainer from a config dict (or pass an instance through).

    Runs under this package's scope, so that a run whose default scope is
    ``mmaction`` (every mmaction2 config) builds explainers without
    mmengine's cross-scope fallback warning.
    """
    if not isinstance(cfg, dict):
        return cfg
    with DefaultScope.overwrite_default_scope('mmaction_aosa'):
        return EXPLAINERS.build(cfg)
