from .aosa import AOSA
from .aosa_approx import AOSAApprox
from .base import BaseExplainer, Explanation, ExplainError, denormalize
from .conditional import conditional_fill, conditional_mean, conditional_std
from .gradcam import GradCAM
from .gradients import input_gradient, target_score
from .occlusion import Occlusion3D
from .rollout import AttentionRollout
from .smoothgrad import SmoothGrad
from .step import STEP
from .tube_explainer import TubeExplainer

__all__ = ['AOSA', 'AOSAApprox', 'AttentionRollout', 'BaseExplainer',
           'Explanation', 'ExplainError', 'GradCAM', 'Occlusion3D', 'STEP',
           'SmoothGrad', 'TubeExplainer', 'conditional_fill', 'conditional_mean',
           'conditional_std', 'denormalize', 'input_gradient',
           'target_score']
