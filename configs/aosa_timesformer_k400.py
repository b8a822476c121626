# AOSA for TimeSformer (divided space-time, 8x32x1) on Kinetics-400, the
# paper's TimeSformer setting: 8 frames at 224 px, anchors every 8 px, 16x16
# boxes (N = 784).
#
#   python tools/explain.py configs/aosa_timesformer_k400.py CHECKPOINT
#
# Checkpoint (model zoo):
# https://download.openmmlab.com/mmaction/v1.0/recognition/timesformer/timesformer_divST_8xb8-8x32x1-15e_kinetics400-rgb/timesformer_divST_8xb8-8x32x1-15e_kinetics400-rgb_20220815-a4d0d01f.pth
_base_ = [
    'mmaction::recognition/timesformer/'
    'timesformer_divST_8xb8-8x32x1-15e_kinetics400-rgb.py',
    './_base_/explainers/aosa.py',
]
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)

explainer = dict(anchor_stride=8, box_size=16, batch_size=8)
# class names for the overlays: this file if it exists, else the copy of
# mmaction2's tools/data/kinetics/label_map_k400.txt shipped in
# mmaction_aosa/configs/labels/kinetics400/ (README, 'Class names')
label_map = 'data/kinetics400/label_map_k400.txt'

test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=8, frame_interval=32, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 224)),
    dict(type='CenterCrop', crop_size=224),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_dataloader = dict(
    num_workers=2, persistent_workers=False,
    dataset=dict(pipeline=test_pipeline))
