"""Dense optical flow between consecutive frames of one clip (AOSA step 1)."""
from typing import Optional

import cv2
import numpy as np

#: Farneback parameters of the authors' code (docs/methods.md, "AOSA").
FARNEBACK_PARAMS = dict(
    pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5,
    poly_sigma=1.2, flags=0)

FLOW_METHODS = ('farneback', 'dis', 'tvl1')

#: What the flow is computed on (AOSA's ``flow_input``):
#:
#: * ``'luma'``: the grey luma of the RGB frames (cv2.COLOR_RGB2GRAY);
#: * ``'swapped_luma'``: cv2.COLOR_BGR2GRAY applied to the RGB frames, i.e.
#:   the red and blue weights swapped, as the authors' code does (it
#:   converts RGB PIL images with COLOR_BGR2GRAY);
#: * ``'color'``: a flow per YCrCb channel, and at each pixel the flow of the
#:   channel with the most local structure (gradient energy over the flow's
#:   window in both frames). Grey-level flow is blind to edges between
#:   colours of equal luma (a red object on a grey background); the chroma
#:   channels see them, and textured regions keep the luma's flow.
FLOW_INPUTS = ('luma', 'swapped_luma', 'color')
#: Grey conversions by name (what :func:`to_gray_uint8` takes).
GRAY_CONVERSIONS = ('rgb', 'bgr')


def to_gray_uint8(frames: np.ndarray, conversion: str = 'rgb') -> np.ndarray:
    """Turn T×H×W×3 RGB frames (any range 0..255) into T×H×W uint8 grey.

    Args:
        frames (np.ndarray): T×H×W×3 RGB (or T×H×W grey) frames.
        conversion (str): One of :data:`GRAY_CONVERSIONS`.
    """
    if conversion not in GRAY_CONVERSIONS:
        raise ValueError(f'gray conversion must be one of {GRAY_CONVERSIONS},'
                         f' got {conversion!r}')
    frames = np.clip(np.rint(frames), 0, 255).astype(np.uint8)
    if frames.ndim == 3:
        return frames
    code = cv2.COLOR_RGB2GRAY if conversion == 'rgb' else cv2.COLOR_BGR2GRAY
    return np.stack([cv2.cvtColor(np.ascontiguousarray(f), code)
                     for f in frames])


def compute_flow(gray: np.ndarray,
                 method: str = 'farneback',
                 params: Optional[dict] = None) -> np.ndarray:
    """Optical flow from frame t to frame t+1 for every t.

    Args:
        gray (np.ndarray): T×H×W uint8 grey frames (un-normalised).
        method (str): ``'farneback'`` (default, OpenCV), ``'dis'`` (OpenCV
            DIS, medium preset) or ``'tvl1'`` (needs opencv-contrib).
        params (dict, optional): Overrides of the Farneback parameters.

    Returns:
        np.ndarray: (T-1)×H×W×2 float32, (dx, dy) in pixels.
    """
    if gray.ndim != 3 or gray.dtype != np.uint8:
        raise ValueError('compute_flow expects T×H×W uint8 frames, got '
                         f'{gray.dtype} {gray.shape}')
    T, H, W = gray.shape
    out = np.zeros((max(T - 1, 0), H, W, 2), np.float32)
    if method == 'farneback':
        p = dict(FARNEBACK_PARAMS, **(params or {}))
        for t in range(T - 1):
            out[t] = cv2.calcOpticalFlowFarneback(
                gray[t], gray[t + 1], None, p['pyr_scale'], p['levels'],
                p['winsize'], p['iterations'], p['poly_n'], p['poly_sigma'],
                p['flags'])
    elif method == 'dis':
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        for t in range(T - 1):
            out[t] = dis.calc(gray[t], gray[t + 1], None)
    elif method == 'tvl1':
        if not hasattr(cv2, 'optflow'):
            raise RuntimeError('TV-L1 flow needs opencv-contrib-python')
        tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
        for t in range(T - 1):
            out[t] = tvl1.calc(gray[t], gray[t + 1], None)
    else:
        raise ValueError(f'unknown flow method {method!r}; '
                         f'choose one of {FLOW_METHODS}')
    return out


def _structure_energy(channel: np.ndarray, window: int) -> np.ndarray:
    """Local gradient energy of an H×W image: Sobel magnitude², box-summed."""
    g = channel.astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.boxFilter(gx * gx + gy * gy, -1, (window, window))


def color_flow(frames: np.ndarray, method: str = 'farneback',
               params: Optional[dict] = None) -> np.ndarray:
    """Flow of the frames' YCrCb channels, per pixel the best-structured one.

    Args:
        frames (np.ndarray): T×H×W×3 RGB frames, 0..255.

    Returns:
        np.ndarray: (T-1)×H×W×2 float32.
    """
    u8 = np.clip(np.rint(frames), 0, 255).astype(np.uint8)
    ycc = np.stack([cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2YCrCb)
                    for f in u8])
    flows = [compute_flow(np.ascontiguousarray(ycc[..., c]), method, params)
             for c in range(3)]
    window = int(dict(FARNEBACK_PARAMS, **(params or {}))['winsize'])
    energy = np.stack([
        np.stack([_structure_energy(ycc[t, ..., c], window)
                  for t in range(len(ycc))]) for c in range(3)
    ])  # 3×T×H×W
    pair = energy[:, :-1] + energy[:, 1:]  # both frames of each pair
    best = pair.argmax(0)  # (T-1)×H×W
    out = np.zeros_like(flows[0])
    for c in range(3):
        out[best == c] = flows[c][best == c]
    return out


def clip_flow(frames: np.ndarray, flow_input: str = 'luma',
              method: str = 'farneback',
              params: Optional[dict] = None) -> np.ndarray:
    """The flow AOSA tracks on, from T×H×W×3 RGB frames (0..255).

    Args:
        flow_input (str): One of :data:`FLOW_INPUTS`.
        method, params: See :func:`compute_flow`.
    """
    if flow_input == 'color':
        if frames.ndim == 3:  # grey frames have no colour to use
            return compute_flow(to_gray_uint8(frames), method, params)
        return color_flow(frames, method, params)
    if flow_input not in FLOW_INPUTS:
        raise ValueError(f'flow_input must be one of {FLOW_INPUTS}, got '
                         f'{flow_input!r}')
    gray = 'rgb' if flow_input == 'luma' else 'bgr'
    return compute_flow(to_gray_uint8(frames, gray), method, params)
