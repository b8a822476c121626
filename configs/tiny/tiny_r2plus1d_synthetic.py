# Tiny R(2+1)D trained on the synthetic ground-truth benchmark: data and
# pipelines of synthetic_base.py, 6 epochs.
_base_ = ['../_base_/models/tiny_r2plus1d.py', './synthetic_base.py']

max_epochs = 6
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=1e-5,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True)
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
