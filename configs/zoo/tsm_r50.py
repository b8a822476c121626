# TSM R50, Kinetics-400 (Recognizer2D, temporal shift over 8 segments).
# The test pipeline samples 8 segments x TenCrop: explained are the 8
# segments of the unflipped centre crop.
#   python tools/explain.py configs/zoo/tsm_r50.py [CHECKPOINT] --explainer aosa
# Inherit it with an explainer preset for a config of your own (README,
# "Explain your own model").
_base_ = ('mmaction::recognition/tsm/'
          'tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py')
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)
