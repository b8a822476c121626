# Video Swin-T (Recognizer3D), Kinetics-400.
# Explained with AOSA; another method: --explainer aosa_approx | gradcam.
# Random weights unless a checkpoint is given (download it yourself).
_base_ = ['mmaction::recognition/swin/swin-tiny-p244-w877_in1k-pre_8xb8-amp-32x2x1-30e_kinetics400-rgb.py',
          '../_base_/explainers/aosa.py']
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)
