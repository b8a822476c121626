"""Deletion and insertion curves (Petsiuk et al., RISE, BMVC 2018).

All T·H·W voxels of a clip are ranked by saliency. Deletion removes the top
voxels step by step (they take the value 0 in the model's normalised space,
i.e. the dataset's mean colour); insertion starts from a blurred copy of the
clip (Gaussian, kernel 11, sigma 5, each frame on its own) and restores the
top voxels step by step. y_k is the softmax probability of the target class
after step k, k = 0..steps; with ``steps`` = 28 (the AOSA paper's setting)
a curve has 29 points. A good map makes the deletion curve fall fast (low
AUC) and the insertion curve rise fast (high AUC); over-all = insertion −
deletion.

All steps+1 perturbed clips of a curve are independent and are scored in
batches of ``batch_size`` through :class:`~mmaction_aosa.scoring.Scorer`.
"""
from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch

from ..blur import blur_clip
from ..scoring import Scorer

DEFAULT_STEPS = 28


def auc(curve: Union[Sequence[float], np.ndarray, torch.Tensor]) -> float:
    """Trapezoid area under a curve of steps+1 equally spaced points.

    ``AUC = (Σ y − y_0/2 − y_last/2) / steps``: the x axis runs from 0 (no
    voxel changed) to 1 (all voxels changed), so a constant curve c has AUC
    c and a straight line from a to b has AUC (a + b) / 2.

    Args:
        curve: The steps+1 scores y_0..y_steps.

    Returns:
        float: The normalised area.
    """
    y = np.asarray(
        curve.detach().cpu() if isinstance(curve, torch.Tensor) else curve,
        dtype=np.float64).ravel()
    if y.size < 2:
        raise ValueError(f'a curve needs at least 2 points, got {y.size}')
    steps = y.size - 1
    return float((y.sum() - y[0] / 2 - y[-1] / 2) / steps)


def saliency_order(saliency: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Voxel indices (flattened T·H·W) from the most to the least salient.

    Ties are broken in a fixed pseudo-random order (``seed``), not by index:
    otherwise a map with a flat region (e.g. zeros where no occlusion mask
    reached) would be deleted from its top-left corner first, which favours
    or penalises a method by accident.
    """
    s = saliency.detach().float().reshape(-1).cpu()
    g = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(s.numel(), generator=g)
    idx = torch.argsort(s[perm], descending=True, stable=True)
    return perm[idx]


def step_counts(num_voxels: int, steps: int) -> torch.Tensor:
    """Voxels changed after each step k = 0..steps: round(k·N / steps)."""
    k = torch.arange(steps + 1, dtype=torch.float64)
    return torch.round(k * num_voxels / steps).long()


@torch.no_grad()
def perturbation_curve(scorer: Scorer,
                       clip: torch.Tensor,
                       saliency: torch.Tensor,
                       target: int,
                       mode: str = 'deletion',
                       steps: int = DEFAULT_STEPS,
                       batch_size: int = 16,
                       fill_value: float = 0.0,
                       blurred: Optional[torch.Tensor] = None,
                       order: Optional[torch.Tensor] = None,
                       seed: int = 0) -> torch.Tensor:
    """Target probability after each of ``steps`` deletion/insertion steps.

    Args:
        scorer (Scorer): Scores clips of the recognizer.
        clip (Tensor): C×T×H×W, normalised (as the model sees it).
        saliency (Tensor): T×H×W map of the same clip.
        target (int): Class whose probability is tracked.
        mode (str): ``'deletion'`` or ``'insertion'``.
        steps (int): Number of steps (the curve has steps+1 points).
        batch_size (int): Perturbed clips per forward pass.
        fill_value (float): Deleted voxels' value (normalised space).
        blurred (Tensor, optional): Insertion's start clip; default
            :func:`blur_clip` of ``clip``.
        order (Tensor, optional): Precomputed :func:`saliency_order`.
        seed (int): Tie-breaking seed of :func:`saliency_order`.

    Returns:
        Tensor: (steps+1,) float32 probabilities on the CPU; point 0 is the
        clean clip (deletion) or the fully blurred clip (insertion).
    """
    if mode not in ('deletion', 'insertion'):
        raise ValueError(f"mode must be 'deletion' or 'insertion', got "
                         f'{mode!r}')
    if steps < 1:
        raise ValueError(f'steps must be >= 1, got {steps}')
    if clip.dim() != 4 or tuple(saliency.shape) != tuple(clip.shape[1:]):
        raise ValueError(
            f'clip C×T×H×W {tuple(clip.shape)} and map T×H×W '
            f'{tuple(saliency.shape)} do not match')
    x = clip.detach().float().to(scorer.device)
    n = saliency.numel()
    if order is None:
        order = saliency_order(saliency, seed)
    rank = torch.empty(n, dtype=torch.long)
    rank[order] = torch.arange(n)
    rank = rank.to(x.device).view(1, 1, *saliency.shape)
    counts = step_counts(n, steps).to(x.device)
    if mode == 'deletion':
        changed = torch.full_like(x, float(fill_value))
    else:
        changed = blur_clip(x) if blurred is None else blurred.to(x)
    out = []
    for i in range(0, steps + 1, batch_size):
        c = counts[i:i + batch_size].view(-1, 1, 1, 1, 1)
        top = rank < c  # B×1×T×H×W: voxels already changed at each step
        if mode == 'deletion':
            batch = torch.where(top, changed[None], x[None])
        else:
            batch = torch.where(top, x[None], changed[None])
        out.append(scorer.probs(batch)[:, target].float().cpu())
    return torch.cat(out)


def deletion_insertion(scorer: Union[Scorer, torch.nn.Module],
                       clip: torch.Tensor,
                       saliency: torch.Tensor,
                       target: int,
                       steps: int = DEFAULT_STEPS,
                       batch_size: int = 16,
                       fill_value: float = 0.0,
                       seed: int = 0) -> Dict[str, object]:
    """Deletion and insertion curves and AUCs of one map.

    Args:
        scorer (Scorer | nn.Module): A scorer, or a recognizer to wrap.
        clip (Tensor): C×T×H×W normalised clip.
        saliency (Tensor): T×H×W map.
        target (int): Explained class.
        steps (int): Steps per curve (paper: 28).
        batch_size (int): Perturbed clips per forward pass.
        fill_value (float): Value of deleted voxels (normalised space).
        seed (int): Tie-breaking seed.

    Returns:
        dict: ``deletion``, ``insertion``, ``overall`` (floats) and
        ``deletion_curve``, ``insertion_curve`` (lists of steps+1 floats).
    """
    if not isinstance(scorer, Scorer):
        scorer = Scorer(scorer)
    order = saliency_order(saliency, seed)
    dele = perturbation_curve(scorer, clip, saliency, target, 'deletion',
                              steps, batch_size, fill_value, order=order)
    ins = perturbation_curve(scorer, clip, saliency, target, 'insertion',
                             steps, batch_size, order=order)
    d, i = auc(dele), auc(ins)
    return dict(deletion=d, insertion=i, overall=i - d,
                deletion_curve=dele.tolist(), insertion_curve=ins.tolist())
