"""Model-parameter randomisation test (Adebayo et al., "Sanity checks for
saliency maps", NeurIPS 2018), cascading version.

The recognizer's layers are re-initialised from the classifier down, one
stage at a time and cumulatively: the head, then the backbone's stages from
the last to the first. After each stage the map of the same clip and the
same target class is computed again and compared with the original map by
Spearman's rank correlation. A method whose maps depend on what the model
learned loses correlation as the randomisation goes down; a method whose
maps stay the same explains the input, not the model.
"""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from ..adapters import LooseParams, get_adapter, unwrap


def rankdata(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n of a 1D array, ties given their average rank."""
    x = np.asarray(x, dtype=np.float64).ravel()
    order = np.argsort(x, kind='mergesort')
    xs = x[order]
    # first index of each run of equal values, and the runs' average rank
    starts = np.r_[0, np.flatnonzero(np.diff(xs)) + 1]
    ends = np.r_[starts[1:], xs.size]
    avg = (starts + ends - 1) / 2.0 + 1.0
    ranks = np.empty(x.size)
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def spearman(a, b) -> float:
    """Spearman's rank correlation of two equally shaped arrays.

    Returns 0.0 when either is constant (no ranking to compare), never NaN.
    """
    a = np.asarray(torch.as_tensor(a).detach().cpu(), np.float64).ravel()
    b = np.asarray(torch.as_tensor(b).detach().cpu(), np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f'shapes differ: {a.shape} vs {b.shape}')
    ra, rb = rankdata(a), rankdata(b)
    ra -= ra.mean()
    rb -= rb.mean()
    den = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / den) if den > 0 else 0.0


def model_stages(recognizer: nn.Module) -> List[Tuple[str, List[nn.Module]]]:
    """Stages of a recognizer in cascade order: head first, input last.

    The recognizer's adapter decides
    (:meth:`mmaction_aosa.adapters.RecognizerAdapter.stages`): ResNet-like
    backbones give ``layer4`` .. ``layer1`` then the stem, SlowFast pairs
    its pathways' stages, transformers give their blocks from the last,
    then the embedding; other backbones their children with parameters.

    Returns:
        list: ``[(name, [modules])]``.
    """
    return get_adapter(recognizer).stages(recognizer)


@torch.no_grad()
def randomize_(modules: Sequence[nn.Module], seed: int = 0) -> None:
    """Re-initialise the parameters of ``modules`` in place (seeded).

    Modules with ``reset_parameters`` (convolutions, linear layers, norms,
    attention) use their own initialiser (norm layers also reset their
    running statistics); any parameter left over is drawn from N(0, 0.02²).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        done = set()
        for top in modules:
            if isinstance(top, LooseParams):
                continue
            for m in top.modules():
                reset = getattr(m, 'reset_parameters', None) or getattr(
                    m, '_reset_parameters', None)
                if callable(reset):
                    reset()
                    done.update(id(p) for p in m.parameters())
        for top in modules:
            for p in top.parameters():
                if id(p) not in done and p.dtype.is_floating_point:
                    p.normal_(0.0, 0.02)
                    done.add(id(p))


def cascade_randomization(explainer,
                          recognizer: nn.Module,
                          clip: torch.Tensor,
                          target: Optional[int] = None,
                          original: Optional[torch.Tensor] = None,
                          stages: Optional[Sequence[str]] = None,
                          seed: int = 0) -> List[Dict[str, object]]:
    """Spearman correlation of maps under cascading randomisation.

    The recognizer itself is not changed: a deep copy is randomised.

    Args:
        explainer: Anything with ``explain(recognizer, clip, target)``.
        recognizer (nn.Module): The trained recognizer.
        clip (Tensor): C×T×H×W normalised clip.
        target (int, optional): Class; default the trained model's top-1
            (kept fixed for every randomised model).
        original (Tensor, optional): The trained model's map, if known.
        stages (sequence of str, optional): Subset of
            :func:`model_stages`' names, in cascade order.
        seed (int): Seed of the re-initialisation.

    Returns:
        list: ``[{'stage': 'original', 'spearman': 1.0}, {'stage': 'head',
        'spearman': ...}, ...]``, cumulative from the head down.
    """
    model = unwrap(recognizer)
    if original is None or target is None:
        exp = explainer.explain_full(model, clip, target)
        target = exp.target if target is None else target
        original = exp.saliency if original is None else original
    rand = copy.deepcopy(model).eval()
    out = [dict(stage='original', spearman=1.0)]
    all_stages = model_stages(rand)
    if stages is not None:
        known = [n for n, _ in all_stages]
        bad = [s for s in stages if s not in known]
        if bad:
            raise ValueError(f'unknown stages {bad}; the model has {known}')
        all_stages = [(n, m) for n, m in all_stages if n in stages]
    for i, (name, mods) in enumerate(all_stages):
        randomize_(mods, seed + i)
        sal = explainer.explain(rand, clip, target)
        out.append(dict(stage=name, spearman=spearman(original, sal)))
    return out


def plot_cascade(results: Dict[str, List[Dict[str, object]]],
                 path: str, title: Optional[str] = None) -> str:
    """Plot Spearman correlation per randomised stage, one line per method.

    Args:
        results (dict): ``{method: [{'stage', 'spearman'}, ...]}`` (e.g. the
            mean over videos of :func:`cascade_randomization`).
        path (str): PNG to write.

    Returns:
        str: ``path``.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for method, rows in results.items():
        xs = [r['stage'] for r in rows]
        ax.plot(range(len(xs)), [r['spearman'] for r in rows], marker='o',
                label=method)
        ax.set_xticks(range(len(xs)))
        ax.set_xticklabels(xs, rotation=30, ha='right')
    ax.axhline(0.0, color='grey', lw=0.5)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel('randomised down to (cumulative)')
    ax.set_ylabel('Spearman rank correlation')
    ax.set_title(title or 'Cascading randomisation')
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
