# 3D occlusion sensitivity (the paper's OSA baseline): a cuboid half the clip
# long and 2% of the frame area (16×16 at 112 px), strides half the window.
explainer = dict(
    type='Occlusion3D',
    temporal_fraction=0.5,
    area_fraction=0.02,
    strides=None,
    fill_value=0.0,
    batch_size=32)
