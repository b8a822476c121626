"""Known, harmless warnings of the pinned stack, silenced on import.

Each filter matches one message, nothing broader:

* mmcv-lite's ``Fail to import MultiScaleDeformableAttention`` (a compiled
  op no model here uses; mmcv-lite has no compiled ops by design);
* torch's ``broadcast_buffers is deprecated`` FutureWarning, raised once
  per rank by mmengine's DDP wrapper, which the CPU runs configure with
  ``broadcast_buffers=False`` (runs/config.py);
* setuptools' ``pkg_resources is deprecated as an API``, raised when
  mmengine imports it (the pinned setuptools 80.9 keeps it for
  ``mmaction::`` config inheritance);
* mmengine's ``"FileClient" will be deprecated`` and ``"HardDiskBackend"
  is the alias of "LocalBackend"`` log lines, which mmaction2's decoders
  trigger through ``FileClient`` on every run.

docs/architecture.md lists the modules.
"""
import logging
import warnings

#: The messages of :func:`silence_known_warnings` (regex starts).
WARNING_FILTERS = (
    (r'Fail to import ``MultiScaleDeformableAttention``', UserWarning),
    (r'`broadcast_buffers` is deprecated', FutureWarning),
    (r'pkg_resources is deprecated as an API', UserWarning),
)
#: Starts of mmengine's FileClient deprecation log lines.
FILECLIENT_MESSAGES = ('"FileClient" will be deprecated',
                       '"HardDiskBackend" is the alias of "LocalBackend"')


def _drop_fileclient_notes(print_log):
    def quiet_print_log(msg, logger=None, level=logging.INFO):
        if isinstance(msg, str) and msg.startswith(FILECLIENT_MESSAGES):
            return None
        return print_log(msg, logger=logger, level=level)
    quiet_print_log._aosa_quiet = True
    return quiet_print_log


def silence_known_warnings() -> None:
    """Install the filters (idempotent)."""
    for message, category in WARNING_FILTERS:
        warnings.filterwarnings('ignore', message=message, category=category)
    try:
        from mmengine.fileio import file_client
    except ImportError:  # pragma: no cover - mmengine is a dependency
        return
    if not getattr(file_client.print_log, '_aosa_quiet', False):
        file_client.print_log = _drop_fileclient_notes(file_client.print_log)
