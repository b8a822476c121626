# UniFormerV2-B/16 (Recognizer3D), Kinetics-400.
# Explained with AOSA; another method: --explainer aosa_approx | gradcam | rollout.
# Random weights unless a checkpoint is given (download it yourself).
_base_ = ['mmaction::recognition/uniformerv2/uniformerv2-base-p16-res224_clip_8xb32-u8_kinetics400-rgb.py',
          '../_base_/explainers/aosa.py']
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)
