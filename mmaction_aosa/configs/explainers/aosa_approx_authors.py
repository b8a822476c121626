# AOSA-approx as the authors' code computes it: the tubes and map of
# aosa_authors.py, each occluded score estimated to first order with a
# constant fill of 0 and no ReLU: f_i = f(x) + sum over the mask of
# J_v (0 - x_v).
explainer = dict(
    type='AOSAApprox',
    anchor_stride=8,
    box_size=16,
    num_cooccurring=3,
    map_form='sum_drop',
    drop='prob',
    rounds=1,
    tracking='integer',
    cooccurrence='flow_cosine',
    flow_input='swapped_luma',
    flow_method='farneback',
    fill='constant',
    fill_value=0.0,
    relu=False,
    score='prob')
