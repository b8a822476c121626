"""The run layer behind tools/explain.py and tools/eval_saliency.py."""
from .config import (PRESET_DIR, RunError, available_explainers,
                     load_class_names, load_config, preset_path,
                     resolve_explainer)
from .evaluate import run_eval
from .explain import run_explain
from .workdir import WorkDir, read_summary

__all__ = ['PRESET_DIR', 'RunError', 'WorkDir', 'available_explainers',
           'load_class_names', 'load_config', 'preset_path', 'read_summary',
           'resolve_explainer', 'run_eval', 'run_explain']
