# Tiny TimeSformer trained on the synthetic ground-truth benchmark: 8 frames
# spanning the clip (num_frames=8 in the model), time-reversal augmentation,
# batch 32, AdamW 1e-3 / wd 0.05, 60 epochs; the rest as in
# synthetic_base.py.
_base_ = ['../_base_/models/tiny_timesformer.py', './synthetic_base.py']

clip_len, frame_interval = 8, 4
file_client_args = dict(io_backend='disk')
train_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1),
    dict(type='DecordDecode'),
    # play half the clips backwards (the axis of motion, hence the label,
    # is unchanged): twice the motions per clip for the data-hungry
    # transformer
    dict(type='ReverseTimeWithLabel', prob=0.5),
    dict(type='Resize', scale=(-1, 128)),
    dict(type='RandomCrop', size=112),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='DecordInit', **file_client_args),
    dict(type='SampleFrames', clip_len=clip_len,
         frame_interval=frame_interval, num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 128)),
    dict(type='CenterCrop', crop_size=112),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = val_pipeline  # one view: num_clips=1, CenterCrop
train_dataloader = dict(batch_size=32,
                        dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

max_epochs = 60  # tiny transformers sit at chance for ~600 iterations first
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=1e-5,
         by_epoch=True, begin=1, end=max_epochs, convert_to_iter_based=True)
]
default_hooks = dict(logger=dict(interval=25),
                     checkpoint=dict(interval=max_epochs))
auto_scale_lr = dict(base_batch_size=32)
