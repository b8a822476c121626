# Tiny TimeSformer (divided space-time attention), for tests and the
# ground-truth benchmark: 2 layers, 32-dim tokens, 16-px patches.
model = dict(
    type='Recognizer3D',
    backbone=dict(
        type='TimeSformer',
        pretrained=None,
        num_frames=8,
        img_size=112,
        patch_size=16,
        embed_dims=32,
        num_heads=2,
        num_transformer_layers=2,
        in_channels=3,
        dropout_ratio=0.0,
        transformer_layers=None,
        attention_type='divided_space_time',
        norm_cfg=dict(type='LN', eps=1e-6)),
    cls_head=dict(
        type='TimeSformerHead',
        num_classes=4,
        in_channels=32,
        average_clips='prob'),
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        format_shape='NCTHW'))
