# AOSA, the recommended default (docs/methods.md, "The default").
# Tubes as the authors build them: anchors every 8 px, 16x16 boxes, integer
# tracking on cv2's BGR2GRAY of the RGB frames, each mask the union of a tube
# and its K=3 partners by the cosine of the flow read along the tracks.
# Map: each mask's drop in log-odds shared out among its tubes by ridge least
# squares (lambda=10), then a second round that scores every mask again with
# the first round's evidence occluded. Twice the forward passes of
# aosa_authors; measured against it and Occlusion3D in docs/metrics.md.
explainer = dict(
    type='AOSA',
    anchor_stride=8,
    box_size=16,
    num_cooccurring=3,
    tubes=dict(
        tracking='integer',
        cooccurrence='flow_cosine',
        flow_input='swapped_luma',
        flow_method='farneback'),
    map_form='tube_lsq',
    drop='log_odds',
    ridge=10.0,
    rounds=2,
    evidence_fraction=0.5,
    fill='constant',
    fill_value=0.0,
    batch_size=32)
