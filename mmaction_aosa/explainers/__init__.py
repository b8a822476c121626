from .aosa import AOSA, Tubes, saliency_map
from .aosa_approx import AOSAApprox, dense_mask_sums, union_box_sums
from .base import BaseExplainer, Explanation, ExplainError, denormalize
from .conditional import conditional_fill, conditional_mean, conditional_std
from .gradcam import GradCAM
from .occlusion import Occlusion3D
from .rollout import AttentionRollout
from .smoothgrad import SmoothGrad, input_gradient
from .step import STEP

__all__ = ['AOSA', 'AOSAApprox', 'AttentionRollout', 'BaseExplainer',
           'Explanation', 'ExplainError', 'GradCAM', 'Occlusion3D', 'STEP',
           'SmoothGrad', 'Tubes', 'conditional_fill', 'conditional_mean',
           'conditional_std', 'dense_mask_sums', 'denormalize',
           'input_gradient', 'saliency_map', 'union_box_sums']
