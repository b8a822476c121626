"""Grad-CAM (Selvaraju et al., 2017) for 3D CNNs, SlowFast and TimeSformer.

The feature map is captured with a forward hook (or a forward pre-hook) and
its gradient with :func:`torch.autograd.grad` on the captured tensor, so no
module backward hook is involved (mmaction2's own GradCAM uses the
deprecated ``register_backward_hook`` and fails on TimeSformer).
"""
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import EXPLAINERS
from .base import BaseExplainer, ExplainError
from .gradients import check_score, target_score
from .tokens import is_timesformer, tokens_to_map


def _get_module(model: nn.Module, name: str) -> nn.Module:
    try:
        return model.get_submodule(name)
    except AttributeError as e:
        raise ExplainError(f'the model has no module {name!r}') from e


@EXPLAINERS.register_module()
class GradCAM(BaseExplainer):
    """Grad-CAM on the last convolutional stage, upsampled to T×H×W.

    L = ReLU(Σ_k α_k A_k), α_k = mean over t, h, w of ∂y/∂A_k, trilinearly
    upsampled to the clip. Where the layer gives several maps (SlowFast's
    slow and fast pathways, whose pooled features the head concatenates),
    their weighted sums are upsampled and added before the ReLU: Grad-CAM on
    the concatenated channel set. The ReLU therefore always comes after the
    upsampling (for a single map this differs from ReLU-then-upsample only
    next to zero crossings). TimeSformer's patch tokens are reshaped to
    T×h×w (cls token dropped).

    Default layer: the backbone's output (the last conv stage of ResNet3d,
    R(2+1)D, both pathways of SlowFast); for TimeSformer the input of the
    last transformer layer (its output's patch tokens get no gradient: only
    the cls token reaches the head).

    Args:
        target_layer (str, optional): Dotted name of the module (in the
            recognizer) whose output is used, e.g. ``'backbone.layer3'``.
        score (str): y is the target logit (``'logit'``, Grad-CAM's choice,
            default) or its softmax probability (``'prob'``).
        amp (bool): Score under CUDA autocast when on a GPU.
    """

    def __init__(self, target_layer: Optional[str] = None,
                 score: str = 'logit', amp: bool = False):
        super().__init__(amp=amp)
        self.target_layer = target_layer
        self.score = check_score(score)

    def _hook_point(self, model: nn.Module):
        """(module, 'output' | 'input'): where the feature map is captured."""
        if self.target_layer is not None:
            module = _get_module(model, self.target_layer)
            return module, 'output'
        backbone = getattr(model, 'backbone', None)
        if backbone is None:
            raise ExplainError('GradCAM needs a recognizer with a backbone; '
                               f'{type(model).__name__} has none')
        if is_timesformer(backbone):
            layers = getattr(backbone.transformer_layers, 'layers', None)
            if not layers:
                raise ExplainError('TimeSformer without transformer layers')
            return layers[-1], 'input'
        return backbone, 'output'

    def _maps(self, captured, model) -> Tuple[List[torch.Tensor], nn.Module]:
        """The captured tensors (tuples flattened) and the backbone."""
        backbone = getattr(model, 'backbone', None)
        tensors = []
        for c in captured:
            if isinstance(c, (tuple, list)):
                tensors.extend(t for t in c if isinstance(t, torch.Tensor))
            elif isinstance(c, torch.Tensor):
                tensors.append(c)
        if not tensors:
            raise ExplainError('GradCAM captured no feature map')
        return tensors, backbone

    def _saliency(self, scorer, x, target, base_score, timings):
        model = scorer.model
        module, where = self._hook_point(model)
        captured = []

        if where == 'input':
            handle = module.register_forward_pre_hook(
                lambda mod, args: captured.append(args[0]))
        else:
            handle = module.register_forward_hook(
                lambda mod, args, out: captured.append(out))
        try:
            with torch.enable_grad():
                clip = x[None].clone().requires_grad_(True)
                f = target_score(scorer, clip, target, self.score)
                feats, backbone = self._maps(captured, model)
                grads = torch.autograd.grad(
                    f.sum(), feats, allow_unused=True)
        finally:
            handle.remove()
        T, H, W = x.shape[1:]
        total = torch.zeros(1, 1, T, H, W, device=x.device)
        for feat, grad in zip(feats, grads):
            feat = feat.detach()
            grad = torch.zeros_like(feat) if grad is None else grad.detach()
            if feat.dim() == 3 and backbone is not None and is_timesformer(
                    backbone):
                feat = tokens_to_map(feat, backbone)
                grad = tokens_to_map(grad, backbone)
            if feat.dim() != 5:
                raise ExplainError(
                    'GradCAM needs a convolutional feature map N×C×T×h×w '
                    f'(or TimeSformer tokens); the layer gave '
                    f'{tuple(feat.shape)}. Name a conv stage with '
                    '`target_layer`.')
            weights = grad.mean(dim=(2, 3, 4), keepdim=True)
            cam = (weights * feat).sum(1, keepdim=True)[:1].float()
            total += F.interpolate(
                cam, size=(T, H, W), mode='trilinear', align_corners=False)
        return F.relu(total)[0, 0]
