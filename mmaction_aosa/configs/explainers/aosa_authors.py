# AOSA exactly as the authors' code computes it (uchiyama33/AOSA,
# OcclusionSensitivityMap3D with gen_mask='flow_one',
# stack_method='flow_vec_corr', N_stack_mask=3, Farneback flow):
# integer tracking, co-occurrence by the cosine of the flow read along the
# tracks, the keep-weighted sum of drops as the map, grey frames by
# cv2.COLOR_BGR2GRAY of the RGB frames (tubes.flow_input), fill 0 in normalised
# space.
# tests/test_aosa_authors.py checks it against a literal re-implementation;
# docs/methods.md lists the facts.
explainer = dict(
    type='AOSA',
    anchor_stride=8,
    box_size=16,
    num_cooccurring=3,
    map_form='sum_drop',
    drop='prob',
    rounds=1,
    tubes=dict(
        tracking='integer',
        cooccurrence='flow_cosine',
        flow_input='swapped_luma',
        flow_method='farneback'),
    fill='constant',
    fill_value=0.0,
    batch_size=32)
