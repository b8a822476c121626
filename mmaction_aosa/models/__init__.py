"""The model of explain and eval runs (registered in mmaction2's MODELS)."""
from .explain_model import (ExplainContext, ExplainModel, explain_sample,
                            load_sample, new_record, pick_view)

__all__ = ['ExplainContext', 'ExplainModel', 'explain_sample', 'load_sample',
           'new_record', 'pick_view']
