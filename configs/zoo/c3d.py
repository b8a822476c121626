# C3D (Recognizer3D), UCF101.
# Explained with AOSA; another method: --explainer aosa_approx | gradcam.
# Random weights unless a checkpoint is given (download it yourself).
_base_ = ['mmaction::recognition/c3d/c3d_sports1m-pretrained_8xb30-16x1x1-45e_ucf101-rgb.py',
          '../_base_/explainers/aosa.py']
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)
