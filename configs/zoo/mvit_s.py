# MViTv2-S, Kinetics-400 (Recognizer3D). Test: 5 clips x CenterCrop;
# explained is the middle clip. Grad-CAM reads the tokens entering the last
# block; attention rollout does not apply (pooled attention).
#   python tools/explain.py configs/zoo/mvit_s.py [CHECKPOINT] --explainer aosa
# Inherit it with an explainer preset for a config of your own (README,
# "Explain your own model").
_base_ = ('mmaction::recognition/mvit/'
          'mvit-small-p244_32xb16-16x4x1-200e_kinetics400-rgb.py')
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)
