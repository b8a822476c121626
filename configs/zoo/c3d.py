# C3D, UCF101 (Recognizer3D). Test: 10 clips x CenterCrop; explained is the
# middle clip. Grad-CAM reads conv5b, the last conv stage before fc6/fc7.
#   python tools/explain.py configs/zoo/c3d.py [CHECKPOINT] --explainer aosa
# Inherit it with an explainer preset for a config of your own (README,
# "Explain your own model").
_base_ = ('mmaction::recognition/c3d/'
          'c3d_sports1m-pretrained_8xb30-16x1x1-45e_ucf101-rgb.py')
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)
