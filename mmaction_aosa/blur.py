"""Gaussian blur of every frame of a clip: the insertion metric's start
clip and STEP's perturbation."""
import torch
import torch.nn.functional as F

#: The insertion metric's blur (docs/metrics.md): kernel 11, sigma 5.
BLUR_KERNEL = 11
BLUR_SIGMA = 5.0


def gaussian_kernel1d(kernel_size: int = BLUR_KERNEL,
                      sigma: float = BLUR_SIGMA) -> torch.Tensor:
    """Normalised 1D Gaussian weights (the separable factor of cv2's)."""
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f'kernel_size must be odd and >= 1, got '
                         f'{kernel_size}')
    if sigma <= 0:
        raise ValueError(f'sigma must be positive, got {sigma}')
    r = torch.arange(kernel_size, dtype=torch.float64) - kernel_size // 2
    k = torch.exp(-r**2 / (2 * float(sigma)**2))
    return (k / k.sum()).float()


def blur_clip(clip: torch.Tensor, kernel_size: int = BLUR_KERNEL,
              sigma: float = BLUR_SIGMA) -> torch.Tensor:
    """Gaussian blur of every frame of a C×T×H×W clip (space only).

    Borders are reflected without repeating the edge pixel (OpenCV's
    default BORDER_REFLECT_101); frames too small for that are padded by
    replicating the edge. Differentiable in ``clip``.
    """
    if clip.dim() != 4:
        raise ValueError(f'expected a clip C×T×H×W, got {tuple(clip.shape)}')
    C, T, H, W = clip.shape
    k = gaussian_kernel1d(kernel_size, sigma).to(clip.device, clip.dtype)
    p = kernel_size // 2
    x = clip.reshape(1, C * T, H, W)
    mode = 'reflect' if min(H, W) > p else 'replicate'
    x = F.pad(x, (p, p, p, p), mode=mode)
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(C * T, 1, 1, -1),
                 groups=C * T)
    x = F.conv2d(x, k.view(1, 1, -1, 1).expand(C * T, 1, -1, 1),
                 groups=C * T)
    return x.reshape(C, T, H, W)
