# MViTv2-S (Recognizer3D), Kinetics-400.
# Explained with AOSA; another method: --explainer aosa_approx | gradcam | rollout.
# Random weights unless a checkpoint is given (download it yourself).
_base_ = ['mmaction::recognition/mvit/mvit-small-p244_32xb16-16x4x1-200e_kinetics400-rgb.py',
          '../_base_/explainers/aosa.py']
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)
