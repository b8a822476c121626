# C2D R50, Kinetics-400 (Recognizer3D). Test: 10 clips x ThreeCrop;
# explained is the middle clip of the centre crop.
#   python tools/explain.py configs/zoo/c2d_r50.py [CHECKPOINT] --explainer aosa
# Inherit it with an explainer preset for a config of your own (README,
# "Explain your own model").
_base_ = ('mmaction::recognition/c2d/'
          'c2d_r50-in1k-pre_8xb32-8x8x1-100e_kinetics400-rgb.py')
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)
