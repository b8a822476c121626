"""The Runner of explain and eval runs: mmengine's, with a quiet terminal.

By default the terminal shows what the run explains with what, one line
per video and the summary; mmengine's environment dump, the full config,
the hook-order table and its SyncBN note go to the log file only
(``WORK_DIR/<timestamp>/<timestamp>.log``). ``verbose=True``
(``--verbose``) prints them too. docs/architecture.md, ``runs/``.
"""
import logging

from mmengine.runner import Runner

#: Start of the log line with every argument of the explainer (the
#: terminal's header line says only what differs from the preset).
EXPLAINER_ARGS = 'explainer arguments: '
#: Starts of the Runner's log messages kept off the terminal by default.
FILE_ONLY_PREFIXES = (
    EXPLAINER_ARGS,
    '\n' + '-' * 60 + '\nSystem environment:',
    'Config:\n',
    'Hooks will be executed in the following order:',
    'Distributed training is not used, all SyncBatchNorm',
)


class FileOnlyFilter(logging.Filter):
    """Drops the Runner's set-up dumps (:data:`FILE_ONLY_PREFIXES`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # noqa: BLE001 - never lose a record to a filter
            return True
        return not msg.startswith(FILE_ONLY_PREFIXES)


def quiet_terminal(logger: logging.Logger) -> logging.Logger:
    """Add :class:`FileOnlyFilter` to the terminal handlers of ``logger``
    (stream handlers that are not file handlers); idempotent."""
    for handler in logger.handlers:
        if isinstance(handler, logging.FileHandler) or not isinstance(
                handler, logging.StreamHandler):
            continue
        if not any(isinstance(f, FileOnlyFilter) for f in handler.filters):
            handler.addFilter(FileOnlyFilter())
    return logger


class QuietRunner(Runner):
    """mmengine's Runner whose terminal leaves out the set-up dumps."""

    def build_logger(self, *args, **kwargs):
        return quiet_terminal(super().build_logger(*args, **kwargs))


def build_runner(cfg, verbose: bool = False, model=None) -> Runner:
    """The Runner of ``cfg``: quiet terminal unless ``verbose``.

    ``model`` (an ``nn.Module``, optional) is used instead of building
    ``cfg.model`` again (the run layer builds it before the Runner, to
    refuse an unknown type or a checkpoint that does not fit at once);
    ``cfg.model`` stays the dict the log and the dumped config show.
    """
    base = Runner if verbose else QuietRunner
    if model is None:
        return base.from_cfg(cfg)

    class PrebuiltRunner(base):

        def build_model(self, _):
            return model

    return PrebuiltRunner.from_cfg(cfg)
