# I3D R50 (Recognizer3D), Kinetics-400.
# Explained with AOSA; another method: --explainer aosa_approx | gradcam.
# Random weights unless a checkpoint is given (download it yourself).
_base_ = ['mmaction::recognition/i3d/i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb.py',
          '../_base_/explainers/aosa.py']
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)
