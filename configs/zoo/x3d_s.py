# X3D-S, Kinetics-400 (Recognizer3D). Test: 10 clips x ThreeCrop;
# explained is the middle clip of the centre crop.
#   python tools/explain.py configs/zoo/x3d_s.py [CHECKPOINT] --explainer aosa
# Inherit it with an explainer preset for a config of your own (README,
# "Explain your own model").
_base_ = ('mmaction::recognition/x3d/'
          'x3d_s_13x6x1_facebook-kinetics400-rgb.py')
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)
