"""The target score and its input gradient, shared by the gradient methods
(Grad-CAM, SmoothGrad, STEP, AOSA-approx)."""
from typing import Tuple

import torch

from ..scoring import SCORE_KINDS, Scorer, score_of
from .base import ExplainError

#: What f is: the softmax probability of the target (the paper's f), its
#: logit, or the log-odds of the probability.
SCORES = SCORE_KINDS


def check_score(score: str) -> str:
    if score not in SCORES:
        raise ValueError(f'score must be one of {SCORES}, got {score!r}')
    return score


def target_score(scorer: Scorer, clips: torch.Tensor, target: int,
                 score: str = 'prob') -> torch.Tensor:
    """(B,) f of the target for B clips, differentiable.

    ``'prob'``: softmax probability (the paper's f); ``'logit'``: the class
    logit; ``'log_odds'``: log p − log(1 − p) (:func:`~..scoring.score_of`).
    """
    return score_of(scorer.logits(clips), target, score)


def input_gradient(scorer: Scorer, clips: torch.Tensor, target: int,
                   score: str = 'prob') -> Tuple[torch.Tensor, torch.Tensor]:
    """f and ∂f/∂x for B clips in one forward and one backward pass.

    Each clip's score depends on that clip only (eval mode, no batch
    statistics), so the gradient of the sum is the per-clip gradient.

    Args:
        scorer (Scorer): The model.
        clips (Tensor): B×C×T×H×W clips.
        target (int): Class index.
        score (str): One of :data:`SCORES`.

    Returns:
        tuple: f (B,) and ∂f/∂x (B×C×T×H×W), both detached.
    """
    with torch.enable_grad():
        x = clips.detach().clone().requires_grad_(True)
        f = target_score(scorer, x, target, score)
        if not f.requires_grad:
            raise ExplainError('the model output does not depend on its '
                               'input through autograd; gradient-based '
                               'explainers cannot apply')
        (grad, ) = torch.autograd.grad(f.sum(), x)
    return f.detach(), grad.detach()


def clean_gradient(scorer: Scorer, x: torch.Tensor, target: int,
                   score: str = 'prob') -> Tuple[torch.Tensor, torch.Tensor]:
    """f and ∂f/∂x at the clean clip x (C×T×H×W).

    Reuses the graph of the clean pass that
    :meth:`~mmaction_aosa.explainers.base.BaseExplainer.explain_full` keeps
    on ``scorer.clean`` for explainers with ``clean_graph = True``: one
    backward pass, no second forward (the graph is spent). Without it (or
    for another clip), one forward and one backward pass.

    Returns:
        tuple: f (1,) and ∂f/∂x (1×C×T×H×W), both detached.
    """
    clean = scorer.clean
    if (clean is None or clean.clip is not x or clean.leaf is None
            or not clean.logits.requires_grad):
        return input_gradient(scorer, x[None], target, score)
    with torch.enable_grad():
        f = score_of(clean.logits, target, score)
        (grad, ) = torch.autograd.grad(f.sum(), clean.leaf)
    scorer.clean = clean._replace(leaf=None, logits=clean.logits.detach())
    return f.detach(), grad.detach()
