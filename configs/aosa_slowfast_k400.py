# AOSA for SlowFast-R50 (4x16x1) on Kinetics-400, the paper's SlowFast
# setting: 32 frames at 256 px, anchors every 10 px, 20x20 boxes (N = 676).
#
#   python tools/explain.py configs/aosa_slowfast_k400.py CHECKPOINT
#
# Checkpoint (model zoo; download it yourself, this tool never fetches):
# https://download.openmmlab.com/mmaction/v1.0/recognition/slowfast/slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb/slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb_20220901-701b0f6f.pth
_base_ = [
    'mmaction::recognition/slowfast/'
    'slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb.py',
    './_base_/explainers/aosa.py',
]
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)

explainer = dict(anchor_stride=10, box_size=20, batch_size=16)
# class names for the overlays: this file if it exists, else the copy of
# mmaction2's tools/data/kinetics/label_map_k400.txt shipped in
# mmaction_aosa/configs/labels/kinetics400/ (README, 'Class names')
label_map = 'data/kinetics400/label_map_k400.txt'

# One view: the middle 32x2 clip, centre 256 crop (the base config's test
# pipeline has 10 clips x 3 crops; `explain_view` would pick the centre one).
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=32, frame_interval=2, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 256)),
    dict(type='CenterCrop', crop_size=256),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_dataloader = dict(
    num_workers=2, persistent_workers=False,
    dataset=dict(pipeline=test_pipeline))
