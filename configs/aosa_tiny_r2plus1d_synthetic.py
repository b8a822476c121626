# AOSA on the tiny r2plus1d model and the generated ground-truth clips
# (tools/make_synthetic.py). Used by tests and `make demo`.
_base_ = [
    'mmaction::_base_/default_runtime.py',
    './_base_/models/tiny_r2plus1d.py',
    './_base_/datasets/synthetic_test.py',
    './_base_/explainers/aosa.py',
]
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)

test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=16, frame_interval=2, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 128)),
    dict(type='CenterCrop', crop_size=112),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
class_names = ['moving_right', 'moving_left', 'moving_down', 'moving_up']
