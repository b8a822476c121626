# I3D R50, Kinetics-400 (Recognizer3D). Test: 10 clips x ThreeCrop;
# explained is the middle clip of the centre crop.
#   python tools/explain.py configs/zoo/i3d_r50.py [CHECKPOINT] --explainer aosa
# Inherit it with an explainer preset for a config of your own (README,
# "Explain your own model").
_base_ = ('mmaction::recognition/i3d/'
          'i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb.py')
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)
