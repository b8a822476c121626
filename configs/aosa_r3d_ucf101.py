# AOSA for R3D-18 (3D ResNet-18, all 3x3x3 convolutions, Hara et al.) on
# UCF101, the paper's setting: 16 frames at 112 px, anchors every 8 px,
# 16x16 boxes (N = 196).
#
# mmaction2 has no R3D config or UCF101 R3D checkpoint: the model is built
# from mmaction2's ResNet3d (inheriting its R(2+1)D-R34 Kinetics config for
# the runtime), and you train or convert the weights yourself, e.g.
#   python tools/train.py configs/aosa_r3d_ucf101.py   (mmaction2 style)
_base_ = [
    'mmaction::recognition/r2plus1d/'
    'r2plus1d_r34_8xb8-8x8x1-180e_kinetics400-rgb.py',
    './_base_/explainers/aosa.py',
]
custom_imports = dict(imports=['mmaction_aosa'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet3d',
        depth=18,
        pretrained=None,
        pretrained2d=False,
        conv1_kernel=(3, 7, 7),
        conv1_stride_t=1,
        pool1_stride_t=1,
        inflate=(1, 1, 1, 1),
        inflate_style='3x3x3',
        spatial_strides=(1, 2, 2, 2),
        temporal_strides=(1, 2, 2, 2),
        norm_cfg=dict(type='BN3d', requires_grad=True)),
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
