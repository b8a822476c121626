"""Registries of mmaction-aosa.

``EXPLAINERS`` holds the saliency methods (AOSA, AOSAApprox and the
baselines). Metrics, hooks, models and visualisers are registered in
mmaction2's own registries so that mmaction2 configs can name them.
"""
from mmengine.registry import Registry

EXPLAINERS = Registry('explainer', locations=['mmaction_aosa.explainers'])
