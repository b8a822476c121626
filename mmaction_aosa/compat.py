"""Work-arounds for the pinned OpenMMLab stack, applied once on import.

Two problems of the stack this project pins (see README, "Install"):

1. The PyPI wheel of mmaction2 1.2.0 lacks ``mmaction/models/localizers/drn``
   although ``mmaction/models/localizers/__init__.py`` imports it
   (open-mmlab/mmaction2#2714), so ``import mmaction.models`` fails. We keep
   1.2.0 (1.1.0 has a different data-sample API) and register a placeholder
   module for ``mmaction.models.localizers.drn.drn`` *only when the real one
   is absent*. The placeholder's ``DRN`` raises if anyone builds it.
2. torch >= 2.6 loads checkpoints with ``weights_only=True``; checkpoints
   saved by an mmengine Runner hold numpy arrays and mmengine's
   ``HistoryBuffer`` in their metadata, which that loader refuses.
   :func:`load_checkpoint` keeps ``weights_only=True`` and allows exactly the
   globals such checkpoints need; full unpickling runs only when the caller
   says the file is trusted.
"""
import collections
import contextlib
import importlib.util
import os
import re
import stat
import sys
import types
from collections.abc import Mapping
from typing import List, Optional

import numpy as np
import torch
import torch.distributed as dist
from mmengine.config import ConfigDict
from mmengine.dist import init_dist
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import _load_checkpoint_to_model

_DRN_MODULE = 'mmaction.models.localizers.drn'


def install_drn_stub() -> bool:
    """Register a placeholder for the missing DRN localizer if needed.

    Returns:
        bool: True if the placeholder was installed, False if the real module
        exists (or a placeholder was already installed).
    """
    if _DRN_MODULE + '.drn' in sys.modules:
        return False
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        return False
    pkg_dir = list(spec.submodule_search_locations)[0]
    real = os.path.join(pkg_dir, 'models', 'localizers', 'drn', 'drn.py')
    if os.path.exists(real):
        return False

    class DRN:  # noqa: D401 - placeholder
        """Placeholder for mmaction2's DRN, absent from the 1.2.0 wheel."""

        def __init__(self, *args, **kwargs):
            raise ImportError(
                'DRN is not shipped in the mmaction2 1.2.0 wheel; '
                'mmaction_aosa installed a placeholder so that the rest of '
                'mmaction.models imports. Install mmaction2 from source to '
                'use DRN.')

    pkg = types.ModuleType(_DRN_MODULE)
    pkg.__path__ = []  # mark as a package
    mod = types.ModuleType(_DRN_MODULE + '.drn')
    mod.DRN = DRN
    pkg.drn = mod
    sys.modules[_DRN_MODULE] = pkg
    sys.modules[_DRN_MODULE + '.drn'] = mod
    return True


def _safe_globals() -> list:
    """Globals that checkpoints saved by an mmengine Runner contain."""
    allowed = [np.ndarray, np.dtype]
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    allowed += [_reconstruct, scalar]
    # concrete dtype classes (numpy >= 1.25), e.g. Float64DType
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        allowed += [
            getattr(dtypes, n) for n in dir(dtypes)
            if n.endswith('DType') and isinstance(getattr(dtypes, n), type)
        ]
    allowed += [HistoryBuffer, ConfigDict, collections.OrderedDict,
                collections.defaultdict]
    # HistoryBuffer.statistics_methods holds bound methods, pickled as
    # getattr(buffer, 'mean'). The weights_only unpickler calls only
    # allowlisted callables, so getattr can fetch an attribute but whatever
    # it fetches cannot be called: allowing it does not let a file run code.
    allowed.append(getattr)
    return allowed


def _allowing(allowed: list):
    """Where ``torch.load(weights_only=True)`` also accepts ``allowed``:
    torch >= 2.5 scopes it; torch 2.4 can only add it for the whole process;
    older torch cannot, and Runner checkpoints need ``--trust-checkpoint``
    there (the message says so)."""
    ser = torch.serialization
    if hasattr(ser, 'safe_globals'):
        return ser.safe_globals(allowed)
    if hasattr(ser, 'add_safe_globals'):
        ser.add_safe_globals(allowed)
    return contextlib.nullcontext()


class CheckpointError(RuntimeError):
    """Raised when a checkpoint is missing or cannot be loaded safely."""


def load_checkpoint_file(path: str,
                         trust: bool = False,
                         map_location: str = 'cpu') -> dict:
    """Load a checkpoint file with the safe loader.

    Args:
        path (str): Path of a ``.pth`` file.
        trust (bool): If True, fall back to full unpickling
            (``weights_only=False``). Only for files you trust: unpickling
            can run arbitrary code.
        map_location (str): Passed to :func:`torch.load`.

    Returns:
        dict: The loaded object.

    Raises:
        CheckpointError: The file is missing, or it needs globals outside the
            allowlist and ``trust`` is False.
    """
    if path.startswith(('http://', 'https://', 's3://')):
        raise CheckpointError(
            f'checkpoint {path!r} is remote; download it first and pass the '
            'local path (this tool never fetches files).')
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CheckpointError(f'checkpoint not found: {path}') from None
    except OSError as exc:
        raise CheckpointError(f'cannot read checkpoint {path}: '
                              f'{exc.strerror}') from None
    if not stat.S_ISREG(st.st_mode):
        kind = 'a folder' if stat.S_ISDIR(st.st_mode) else \
            'not a regular file (a FIFO, a device or a socket)'
        raise CheckpointError(f'checkpoint {path} is {kind}; give the .pth '
                              'file')
    try:
        if trust:
            return torch.load(path, map_location=map_location,
                              weights_only=False)
        with _allowing(_safe_globals()):
            return torch.load(
                path, map_location=map_location, weights_only=True)
    except Exception as exc:  # pickle.UnpicklingError and friends
        text = str(exc)
        blocked = re.search(
            r'(?:Unsupported global: |unsupported )GLOBAL ([\w.]+)'
            r'|Unsupported class ([\w.]+)', text)  # the latter: torch < 2.4
        if blocked and not trust:
            old = ('' if hasattr(torch.serialization, 'add_safe_globals')
                   else f'; torch {torch.__version__} cannot allowlist '
                   'globals, torch >= 2.4 can')
            raise CheckpointError(
                f'checkpoint {path} holds objects outside the safe allowlist '
                f'(it needs the global {blocked.group(1) or blocked.group(2)}'
                f'{old}). If you trust this file, pass --trust-checkpoint to '
                'unpickle it fully.') from exc
        first = (text.strip().splitlines() or [''])[0]
        if 'Weights only load failed' in first:
            first = next((ln.strip() for ln in text.splitlines()
                          if 'Unsupported operand' in ln
                          or 'invalid load key' in ln), first)
        raise CheckpointError(
            f'checkpoint {path} is not a readable PyTorch checkpoint '
            f'(truncated, or not a .pth file): {type(exc).__name__}: '
            f'{first[:200]}') from exc


#: Prefixes mmengine strips from checkpoint keys when loading (DDP's).
_REVISE_KEYS = ((r'^module\.', ''), )


def state_dict_of(ckpt, path: str = 'checkpoint') -> dict:
    """The weights of a checkpoint's content: ``ckpt['state_dict']`` (what
    a Runner saves, and every mmaction2 model-zoo checkpoint) or ``ckpt``
    itself (a bare state dict), checked to be names → tensors.

    Raises:
        CheckpointError: One line saying what the content is instead.
    """
    if not isinstance(ckpt, Mapping):
        raise CheckpointError(f'checkpoint {path} holds a '
                              f'{type(ckpt).__name__}, not a dict of weights')
    state = ckpt.get('state_dict', ckpt)
    where = "its 'state_dict'" if 'state_dict' in ckpt else 'it'
    if not isinstance(state, Mapping):
        raise CheckpointError(
            f'checkpoint {path}: {where} is a {type(state).__name__}, not a '
            'dict of weight names → tensors')
    bad = [str(k) for k, v in state.items()
           if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(
            f'checkpoint {path}: {where} holds entries that are not weights '
            f'(tensors): {", ".join(bad[:5])}'
            + (f' and {len(bad) - 5} more' if len(bad) > 5 else ''))
    if not state:
        raise CheckpointError(f'checkpoint {path} holds no weights')
    return state  # as it is: its _metadata (module versions) matters


def _names(keys: List[str], n: int = 4) -> str:
    more = f' and {len(keys) - n} more' if len(keys) > n else ''
    return ', '.join(keys[:n]) + more


def state_mismatch(model: torch.nn.Module, state: dict) -> Optional[str]:
    """How a state dict does not fit ``model`` (None: it fits): missing
    and unexpected keys and shapes that differ, each named."""
    own = model.state_dict()
    revised = {}
    for key, value in state.items():
        for pattern, repl in _REVISE_KEYS:
            key = re.sub(pattern, repl, key)
        revised[key] = value
    missing = [k for k in own if k not in revised
               and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in revised if k not in own]
    shapes = [f'{k} {tuple(revised[k].shape)} vs {tuple(own[k].shape)}'
              for k in own if k in revised
              and tuple(revised[k].shape) != tuple(own[k].shape)]
    parts = []
    if shapes:
        parts.append(f'{len(shapes)} weights of another shape (checkpoint vs '
                     f'model: {_names(shapes, 3)})')
    if missing:
        parts.append(f'{len(missing)} missing ({_names(missing)})')
    if unexpected:
        parts.append(f'{len(unexpected)} unexpected ({_names(unexpected)})')
    return '; '.join(parts) or None


def load_state(model: torch.nn.Module, ckpt: dict, path: str = 'checkpoint',
               strict: bool = True, logger: Optional[object] = None) -> None:
    """Load the weights of an already read checkpoint into ``model``.

    Accepts ``{'state_dict': ...}`` (what a Runner saves, and every
    mmaction2 model-zoo checkpoint) or a bare state dict.

    Raises:
        CheckpointError: The content is not weights, or the weights do not
            fit the model (the message names the keys).
    """
    state = state_dict_of(ckpt, path)
    if strict:
        misfit = state_mismatch(model, state)
        if misfit:
            raise CheckpointError(
                f'checkpoint {path} does not fit the model of this config: '
                f'{misfit}')
    try:
        _load_checkpoint_to_model(model, {'state_dict': state}, strict=strict,
                                  logger=logger)
    except RuntimeError as exc:
        raise CheckpointError(
            f'checkpoint {path} does not fit the model of this config: '
            f'{" ".join(str(exc).split())[:400]}') from exc


def load_checkpoint(model: torch.nn.Module,
                    path: str,
                    trust: bool = False,
                    strict: bool = True,
                    logger: Optional[object] = None) -> dict:
    """Load weights into ``model`` from an mmengine/mmaction2 checkpoint.

    Args:
        model (nn.Module): The recognizer.
        path (str): Local checkpoint path.
        trust (bool): See :func:`load_checkpoint_file`.
        strict (bool): Require that keys match exactly.
        logger: Optional mmengine logger for key mismatch messages.

    Returns:
        dict: The checkpoint (its ``meta`` may hold ``dataset_meta``).
    """
    ckpt = load_checkpoint_file(path, trust=trust)
    load_state(model, ckpt, path, strict, logger)
    return ckpt


def init_dist_cpu_safe(launcher: str, backend: Optional[str] = None) -> None:
    """Initialise torch.distributed for ``launcher='pytorch'`` also on CPU.

    mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device``
    unconditionally, which fails on a CPU build of torch. Without CUDA we
    initialise a gloo process group ourselves (mmengine then sees an
    initialised group and uses it).
    """
    if launcher == 'none' or dist.is_available() and dist.is_initialized():
        return
    if torch.cuda.is_available():
        init_dist(launcher, backend=backend or 'nccl')
        return
    if launcher != 'pytorch':
        raise ValueError(
            f'launcher {launcher!r} needs CUDA; on CPU use --launcher pytorch')
    dist.init_process_group(backend=backend or 'gloo')
