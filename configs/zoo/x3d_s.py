# X3D-S (Recognizer3D), Kinetics-400.
# Explained with AOSA; another method: --explainer aosa_approx | gradcam.
# Random weights unless a checkpoint is given (download it yourself).
_base_ = ['mmaction::recognition/x3d/x3d_s_13x6x1_facebook-kinetics400-rgb.py',
          '../_base_/explainers/aosa.py']
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)
