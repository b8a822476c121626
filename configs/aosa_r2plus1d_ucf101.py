# AOSA for R(2+1)D-18 on UCF101, the paper's setting: 16 frames at 112 px,
# anchors every 8 px, 16x16 boxes (N = 196). Inherits mmaction2's
# R(2+1)D-R34 config and shrinks it to depth 18 with 101 classes.
#
# mmaction2's model zoo has R(2+1)D-R34 for Kinetics-400 only:
# https://download.openmmlab.com/mmaction/v1.0/recognition/r2plus1d/r2plus1d_r34_8xb8-8x8x1-180e_kinetics400-rgb/r2plus1d_r34_8xb8-8x8x1-180e_kinetics400-rgb_20220812-47cfe041.pth
# (use it with depth=34, num_classes=400 and a Kinetics test set); for
# UCF101 train or convert the weights yourself.
_base_ = [
    'mmaction::recognition/r2plus1d/'
    'r2plus1d_r34_8xb8-8x8x1-180e_kinetics400-rgb.py',
    './_base_/explainers/aosa.py',
]
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)

model = dict(
    backbone=dict(depth=18, norm_cfg=dict(type='BN3d', requires_grad=True,
                                          eps=1e-3)),
    cls_head=dict(num_classes=101, in_channels=512))
explainer = dict(anchor_stride=8, box_size=16)

# UCF101 split 1 test list; 16 consecutive frames, 112 px centre crop (the
# input of the paper's R3D-18 / R(2+1)D-18 models, Hara et al.).
data_root_val = 'data/ucf101/videos'
ann_file_test = 'data/ucf101/ucf101_val_split_1_videos.txt'
# class names for the overlays: this file if it exists, else the copy of
# mmaction2's tools/data/ucf101/label_map.txt shipped in
# mmaction_aosa/configs/labels/ucf101/ (README, 'Class names')
label_map = 'data/ucf101/label_map.txt'
test_pipeline = [
    dict(type='DecordInit'),
    dict(type='SampleFrames', clip_len=16, frame_interval=1, num_clips=1,
         test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, 128)),
    dict(type='CenterCrop', crop_size=112),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs'),
]
test_dataloader = dict(
    num_workers=2,
    persistent_workers=False,
    dataset=dict(
        ann_file=ann_file_test,
        data_prefix=dict(video=data_root_val),
        pipeline=test_pipeline))
