# Video Swin-T, Kinetics-400 (Recognizer3D). Test: 4 clips x ThreeCrop;
# explained is the middle clip of the centre crop. Attention rollout does
# not apply (shifted-window attention).
#   python tools/explain.py configs/zoo/swin_t.py [CHECKPOINT] --explainer aosa
# Inherit it with an explainer preset for a config of your own (README,
# "Explain your own model").
_base_ = ('mmaction::recognition/swin/'
          'swin-tiny-p244-w877_in1k-pre_8xb8-amp-32x2x1-30e_kinetics400-rgb.py')
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)
