from .aosa import AOSA, Tubes, saliency_map
from .base import BaseExplainer, Explanation, ExplainError, denormalize

__all__ = ['AOSA', 'BaseExplainer', 'Explanation', 'ExplainError', 'Tubes',
           'denormalize', 'saliency_map']
