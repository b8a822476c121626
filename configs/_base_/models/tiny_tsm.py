# Tiny TSM (Recognizer2D): MobileNetV2 at a quarter width with temporal
# shift over 8 segments, its last 1x1 conv left out (80 channels into the
# head), a few hundred KB: for tests and the ground-truth benchmark.
model = dict(
    type='Recognizer2D',
    backbone=dict(
        type='MobileNetV2TSM',
        pretrained=None,
        pretrained2d=False,
        num_segments=8,
        is_shift=True,
        shift_div=8,
        widen_factor=0.25,
        out_indices=(6, ),
        norm_eval=False),
    cls_head=dict(
        type='TSMHead',
        num_classes=4,
        in_channels=80,
        num_segments=8,
        spatial_type='avg',
        consensus=dict(type='AvgConsensus', dim=1),
        dropout_ratio=0.0,
        init_std=0.01,
        is_shift=True,
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCHW'))
