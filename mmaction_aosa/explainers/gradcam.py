"""Grad-CAM (Selvaraju et al., 2017) for any recognizer layout.

The feature map is captured with a forward hook (or a forward pre-hook) and
its gradient with :func:`torch.autograd.grad` on the captured tensor, so no
module backward hook is involved (mmaction2's own GradCAM uses the
deprecated ``register_backward_hook`` and fails on TimeSformer). Which
layer, and how its output becomes T×h×w maps, is the recognizer adapter's
knowledge (:meth:`mmaction_aosa.adapters.RecognizerAdapter.cam_target`,
:meth:`~mmaction_aosa.adapters.RecognizerAdapter.feature_maps`).
"""
from typing import Optional

import torch
import torch.nn.functional as F

from ..registry import EXPLAINERS
from .base import BaseExplainer
from .gradients import check_score, target_score


@EXPLAINERS.register_module()
class GradCAM(BaseExplainer):
    """Grad-CAM on the last convolutional stage, upsampled to T×H×W.

    L = ReLU(Σ_k α_k A_k), α_k = mean over t, h, w of ∂y/∂A_k, trilinearly
    upsampled to the clip. Where the layer gives several maps (SlowFast's
    slow and fast pathways, whose pooled features the head concatenates),
    their weighted sums are upsampled and added before the ReLU: Grad-CAM on
    the concatenated channel set. The ReLU therefore always comes after the
    upsampling (for a single map this differs from ReLU-then-upsample only
    next to zero crossings).

    Default layer (the adapter's choice): the backbone's output (the last
    conv stage of ResNet3d, R(2+1)D, X3D, C2D, SlowOnly, Video Swin, both
    pathways of SlowFast; for 2D models the B·T segment maps regrouped
    into B×C×T×h×w); C3D's last conv stage ``conv5b`` (its backbone ends in
    fully connected layers); the input of the last transformer layer or
    block for TimeSformer and MViT (their output's patch tokens get no
    gradient: only the cls token reaches the head) and for UniFormerV2's
    ViT blocks. Tokens are reshaped to T×h×w (cls
    tokens dropped).

    Args:
        target_layer (str, optional): Dotted name of the module (in the
            recognizer) whose output is used, e.g. ``'backbone.layer3'``;
            overrides the adapter's choice.
        score (str): y is the target logit (``'logit'``, Grad-CAM's choice,
            default) or its softmax probability (``'prob'``).
        amp (bool | str): Mixed precision (:mod:`mmaction_aosa.scoring`).
    """

    def __init__(self, target_layer: Optional[str] = None,
                 score: str = 'logit', amp=False):
        super().__init__(amp=amp)
        if target_layer is not None and not isinstance(target_layer, str):
            raise ValueError('target_layer must be a dotted module name, '
                             f'got {target_layer!r}')
        self.target_layer = target_layer
        self.score = check_score(score)

    def _saliency(self, scorer, x, target, base_score, timings):
        model, adapter = scorer.model, scorer.adapter
        cam = adapter.cam_target(model, x, self.target_layer)
        captured = []
        if cam.where == 'input':
            handle = cam.module.register_forward_pre_hook(
                lambda mod, args: captured.append(tuple(args)))
        else:
            handle = cam.module.register_forward_hook(
                lambda mod, args, out: captured.append(out))
        T, H, W = x.shape[1:]
        try:
            with torch.enable_grad():
                clip = x[None].clone().requires_grad_(True)
                f = target_score(scorer, clip, target, self.score)
                maps = adapter.feature_maps(model, cam, captured, T)
                grads = torch.autograd.grad(
                    f.sum(), [t for t, _ in maps], allow_unused=True)
        finally:
            handle.remove()
        total = torch.zeros(1, 1, T, H, W, device=x.device)
        for (raw, to_map), grad in zip(maps, grads):
            raw = raw.detach()
            grad = torch.zeros_like(raw) if grad is None else grad.detach()
            feat, grad = to_map(raw), to_map(grad)
            weights = grad.mean(dim=(2, 3, 4), keepdim=True)
            cam_map = (weights * feat).sum(1, keepdim=True)[:1].float()
            total += F.interpolate(
                cam_map, size=(T, H, W), mode='trilinear',
                align_corners=False)
        return F.relu(total)[0, 0]
