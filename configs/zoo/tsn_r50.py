# TSN R50, Kinetics-400 (Recognizer2D). The test pipeline samples 25
# segments x TenCrop: explained are the 25 segments of the unflipped centre
# crop.
#   python tools/explain.py configs/zoo/tsn_r50.py [CHECKPOINT] --explainer aosa
# Inherit it with an explainer preset for a config of your own (README,
# "Explain your own model").
_base_ = ('mmaction::recognition/tsn/'
          'tsn_imagenet-pretrained-r50_8xb32-1x1x8-100e_kinetics400-rgb.py')
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)
