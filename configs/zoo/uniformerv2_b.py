# UniFormerV2-B/16, Kinetics-400 (Recognizer3D). Test: 4 clips x ThreeCrop;
# explained is the middle clip of the centre crop. Attention rollout follows
# its per-frame ViT attention. Random weights need no CLIP download (no
# init_weights in explain runs).
#   python tools/explain.py configs/zoo/uniformerv2_b.py [CHECKPOINT] --explainer aosa
# Inherit it with an explainer preset for a config of your own (README,
# "Explain your own model").
_base_ = ('mmaction::recognition/uniformerv2/'
          'uniformerv2-base-p16-res224_clip_8xb32-u8_kinetics400-rgb.py')
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)
