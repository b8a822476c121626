# TSM R50 (Recognizer2D, temporal shift over 8 segments), Kinetics-400.
# Explained with AOSA; another method: --explainer aosa_approx | gradcam.
# Random weights unless a checkpoint is given (download it yourself).
_base_ = ['mmaction::recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py',
          '../_base_/explainers/aosa.py']
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)
