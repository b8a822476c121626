"""Conditional sampling of occluded boxes (docs/methods.md, "Conditional
sampling"): AOSA's ``fill='conditional'``, and the mean μ that AOSA-approx
uses.

The paper fills an occluded box with draws from N(μ, Σ) estimated from "the
patches of the box's size that include the anchor, taken from the region
enlarged by 4 pixels, without the box itself": the box shifted by every
offset d with ‖d‖∞ ≤ 4, d ≠ 0, as long as the shifted box still contains the
anchor (|d| < h/2 per axis, which only matters for boxes under 10 px).

Model (why it is tractable). A full Gaussian over a box of C×h×w values has
a (C·h·w)² covariance: 768² for a 16×16 RGB box, for each of the K+1 boxes
of every mask in every frame (196·16·4 of them at s=8: ~30 GB), and with at
most 80 shifted patches it is singular anyway (rank ≤ 80). We never form it:

* **Mean.** The mean of the shifted patches at box position q is the mean of
  x over the shifts, i.e. at pixel p = box origin + q,
  μ(p) = (Σ_{d ∈ D} x(p + d)) / |D|, with D the offsets above minus d = 0.
  That does not depend on which box covers p, so μ is one box filter of the
  whole clip (:func:`conditional_mean`), which AOSA-approx reuses. Offsets
  that fall outside the frame are dropped from D per pixel (patches that
  leave the frame contribute only their in-frame pixels).
* **Covariance.** Σ is the empirical (maximum-likelihood) covariance of the
  centred patches, Σ = (1/n) Σ_k (p_k − μ)(p_k − μ)ᵀ. Sampling from it needs
  no factorisation: v = μ + n^{-1/2} Σ_k z_k (p_k − μ) with z ~ N(0, I_n)
  has exactly that covariance. This keeps the spatial and colour
  correlation of the surround (a textured wall is filled with texture, not
  white noise) at the cost of one 9×9 correlation per box; one z per box
  and frame, shared by the channels. The per-pixel marginal is
  N(μ(p), σ²(p)) with σ²(p) the variance of x over p + D.

Where the boxes of one integrated mask overlap, the draw of the mask's own
tube (member 0) wins, then member 1, and so on.

When the surround has zero variance the draw equals μ exactly, so one
sample equals the constant-mean fill.
"""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

#: The paper's enlargement of the occluded box, in pixels.
MARGIN = 4


def shift_radius(box_size: Union[int, Sequence[int]],
                 margin: int = MARGIN) -> Tuple[int, int]:
    """Largest shift (rows, cols) of a box that still contains its anchor.

    Args:
        box_size (int | tuple): h×w of the occluding box.
        margin (int): Enlargement of the box (paper: 4 px).

    Returns:
        tuple: (ry, rx), each ``min(margin, ceil(size / 2) - 1)``.
    """
    bh, bw = (box_size, box_size) if isinstance(box_size, int) else box_size
    ry = max(0, min(int(margin), (int(bh) + 1) // 2 - 1))
    rx = max(0, min(int(margin), (int(bw) + 1) // 2 - 1))
    if ry == 0 and rx == 0:
        raise ValueError(f'box of {bh}×{bw} px has no shifted patches that '
                         'contain its anchor: conditional sampling needs '
                         'boxes of at least 3 px')
    return ry, rx


def _box_sum(v: torch.Tensor, ry: int, rx: int) -> torch.Tensor:
    """Sum over the (2ry+1)×(2rx+1) window (zero outside) of ...×H×W."""
    shape = v.shape
    v = v.reshape(-1, 1, *shape[-2:])
    v = F.pad(v, (rx + 1, rx, ry + 1, ry))
    ii = v.cumsum(-1).cumsum(-2)  # integral image with a zero first row/col
    H, W = shape[-2:]
    ky, kx = 2 * ry + 1, 2 * rx + 1
    out = (ii[..., ky:ky + H, kx:kx + W] - ii[..., :H, kx:kx + W] -
           ii[..., ky:ky + H, :W] + ii[..., :H, :W])
    return out.reshape(shape)


def _neighbour_count(height: int, width: int, ry: int, rx: int,
                     device) -> torch.Tensor:
    """|D| per pixel: in-frame shifts excluding the pixel itself, H×W."""
    ys = torch.arange(height, device=device)
    xs = torch.arange(width, device=device)
    cy = (torch.clamp(ys + ry, max=height - 1) -
          torch.clamp(ys - ry, min=0) + 1)
    cx = (torch.clamp(xs + rx, max=width - 1) - torch.clamp(xs - rx, min=0) +
          1)
    return (cy[:, None] * cx[None, :]).to(torch.float64) - 1


def _surround_mean(xd: torch.Tensor, ry: int, rx: int) -> tuple:
    """Mean of ``xd`` (...×H×W) over the shifts 0 < ‖d‖∞ ≤ r in the frame,
    and |D| per pixel (H×W)."""
    H, W = xd.shape[-2:]
    count = _neighbour_count(H, W, ry, rx, xd.device)
    return (_box_sum(xd, ry, rx) - xd) / count, count


def conditional_mean(x: torch.Tensor,
                     box_size: Union[int, Sequence[int]] = 16,
                     margin: int = MARGIN) -> torch.Tensor:
    """μ of conditional sampling for every voxel of a clip.

    μ(p) is the mean of x over the shifts p + d, 0 < ‖d‖∞ ≤ r, in the same
    frame (see the module docstring): the mean of the surrounding patches at
    the position of p in its box, whichever box that is.

    Args:
        x (Tensor): C×T×H×W (or any ...×H×W) clip, normalised space.
        box_size (int | tuple): h×w of the occluding box (sets the shifts).
        margin (int): Enlargement of the box (paper: 4 px).

    Returns:
        Tensor: μ, same shape and dtype as x.
    """
    ry, rx = shift_radius(box_size, margin)
    mu, _ = _surround_mean(x.detach().to(torch.float64), ry, rx)
    return mu.to(x.dtype)


def conditional_std(x: torch.Tensor,
                    box_size: Union[int, Sequence[int]] = 16,
                    margin: int = MARGIN) -> torch.Tensor:
    """σ(p), the per-voxel standard deviation of the conditional Gaussian.

    The square root of the diagonal of Σ: the (maximum-likelihood) variance
    of x over the same shifts as :func:`conditional_mean`.
    """
    ry, rx = shift_radius(box_size, margin)
    xd = x.detach().to(torch.float64)
    mu, _ = _surround_mean(xd, ry, rx)
    sq, _ = _surround_mean(xd * xd, ry, rx)
    return (sq - mu * mu).clamp(min=0).sqrt().to(x.dtype)


def box_size_of(boxes: torch.Tensor) -> Tuple[int, int]:
    """(h, w) of the largest box in N×T×4 boxes (unclipped size)."""
    h = int((boxes[..., 3] - boxes[..., 1]).max()) if boxes.numel() else 0
    w = int((boxes[..., 2] - boxes[..., 0]).max()) if boxes.numel() else 0
    return max(h, 1), max(w, 1)


def conditional_fill(x: torch.Tensor,
                     tubes,
                     indices: torch.Tensor,
                     occ: torch.Tensor,
                     generator: Optional[torch.Generator] = None,
                     margin: int = MARGIN) -> torch.Tensor:
    """One draw of conditional-sampling fill values for a batch of masks.

    Args:
        x (Tensor): The clip, C×T×H×W, normalised space.
        tubes (Tubes): The integrated masks (boxes and groups).
        indices (Tensor): B mask indices.
        occ (Tensor): B×T×H×W bool occlusion of those masks (only its shape
            and device are used: values outside the boxes are not drawn).
        generator (torch.Generator, optional): CPU generator of the draws
            (seeded by the explainer); the global RNG when None.
        margin (int): Enlargement of the box (paper: 4 px).

    Returns:
        Tensor: B×C×T×H×W fill values; only voxels where ``occ`` is True are
        meaningful (elsewhere they hold μ).
    """
    C, T, H, W = x.shape
    B = len(indices)
    dev = x.device
    bh, bw = box_size_of(tubes.boxes)
    ry, rx = shift_radius((bh, bw), margin)
    xd = x.detach().to(torch.float64)
    mu, count = _surround_mean(xd, ry, rx)  # C×T×H×W, H×W
    # x and in-frame indicator, zero-padded so that shifted reads are valid
    xpad = F.pad(xd, (rx, rx, ry, ry))  # C×T×(H+2ry)×(W+2rx)
    vpad = F.pad(torch.ones(H, W, dtype=torch.float64, device=dev),
                 (rx, rx, ry, ry))
    ky, kx = 2 * ry + 1, 2 * rx + 1
    rows = torch.arange(bh + 2 * ry, device=dev)
    cols = torch.arange(bw + 2 * rx, device=dev)
    ii = torch.arange(bh, device=dev)
    jj = torch.arange(bw, device=dev)
    t_idx = torch.arange(T, device=dev)
    b_idx = torch.arange(B, device=dev)
    c_idx = torch.arange(C, device=dev)
    # the full-size tensors in x's dtype (B×C×T×H×W float64 would be 150 MB
    # for a batch of 32 clips of 16×112×112); box statistics in float64
    noise = torch.zeros(B, C, T, H, W, dtype=x.dtype, device=dev)
    flat = noise.view(-1)
    members = tubes.boxes[tubes.groups[indices.to(tubes.groups.device)]]
    members = members.to(dev).long()  # B×M×T×4
    centre = torch.zeros(ky, kx, dtype=torch.bool)
    centre[ry, rx] = True
    # later members first, so that member 0 (the mask's own tube) wins
    for m in range(members.shape[1] - 1, -1, -1):
        b = members[:, m]  # B×T×4
        x0, y0, x1, y1 = b.unbind(-1)
        z = torch.randn(B, T, ky, kx, generator=generator,
                        dtype=torch.float64)
        z = z.masked_fill(centre, 0).to(dev)
        # box + margin regions in padded coordinates (clamped reads only
        # feed outputs outside the box, which are discarded)
        r = (y0[..., None] + rows).clamp(max=H + 2 * ry - 1)  # B×T×R
        c = (x0[..., None] + cols).clamp(max=W + 2 * rx - 1)  # B×T×Cc
        reg = xpad[:, t_idx[None, :, None, None], r[..., :, None],
                   c[..., None, :]]  # C×B×T×R×Cc
        reg = reg.permute(1, 2, 0, 3, 4).reshape(1, B * T * C, *reg.shape[-2:])
        val = vpad[r[..., :, None], c[..., None, :]]  # B×T×R×Cc
        val = val.reshape(1, B * T, *val.shape[-2:])
        weight = z.reshape(B * T, 1, ky, kx)
        sx = F.conv2d(reg, weight.repeat_interleave(C, 0), groups=B * T * C)
        sv = F.conv2d(val, weight, groups=B * T)
        sx = sx.view(B, T, C, bh, bw)
        sv = sv.view(B, T, 1, bh, bw)
        # μ and n over the box area
        yy = (y0[..., None] + ii).clamp(max=H - 1)  # B×T×bh
        xx = (x0[..., None] + jj).clamp(max=W - 1)  # B×T×bw
        mu_box = mu[:, t_idx[None, :, None, None], yy[..., :, None],
                    xx[..., None, :]].permute(1, 2, 0, 3, 4)  # B×T×C×bh×bw
        n_box = count[yy[..., :, None], xx[..., None, :]][:, :, None]
        vals = (sx - mu_box * sv) / n_box.sqrt()
        inside = (((y0[..., None] + ii) < y1[..., None])[..., :, None] &
                  ((x0[..., None] + jj) < x1[..., None])[..., None, :])
        inside = inside[:, :, None].expand(B, T, C, bh, bw)
        index = ((((b_idx[:, None, None, None, None] * C +
                    c_idx[None, None, :, None, None]) * T +
                   t_idx[None, :, None, None, None]) * H +
                  yy[:, :, None, :, None]) * W + xx[:, :, None, None, :])
        flat[index[inside]] = vals[inside].to(x.dtype)
    return noise.add_(mu.to(x.dtype)[None])
