# Tiny SlowFast trained on the synthetic ground-truth benchmark: the 16×2
# sampling and pipelines of synthetic_base.py (the model takes every 4th of
# the 16 frames for the slow pathway, resample_rate=4), 10 epochs.
# (All 32 frames, 32×1, stayed at chance for 6 epochs on the axis classes:
# 1-2 px of motion per frame is little for the 2-channel fast pathway.)
_base_ = ['../_base_/models/tiny_slowfast.py', './synthetic_base.py']

max_epochs = 10
train_cfg = dict(max_epochs=max_epochs, val_interval=2)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=1e-5,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True)
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
