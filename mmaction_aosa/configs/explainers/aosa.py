# AOSA with the paper's settings at 112 px (anchor every 8 px, 16x16 boxes,
# K=3 co-occurring tubes merged into each mask). Family configs override
# anchor_stride/box_size for their input size (docs/methods.md, "AOSA", step 2).
explainer = dict(
    type='AOSA',
    anchor_stride=8,
    box_size=16,
    num_cooccurring=3,
    map_form='mean_drop',
    flow_method='farneback',
    fill='constant',
    fill_value=0.0,
    batch_size=32,
    seed=0)
