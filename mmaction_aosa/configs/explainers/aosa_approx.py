# AOSA-approx (docs/methods.md): the tubes and map of the default AOSA
# (aosa.py), each mask's drop estimated to first order from one gradient of
# the log-odds, with the paper's fill (the conditional mean of the
# surrounding patches) and its ReLU; the second round takes a second
# gradient at the clip with the evidence set to its fill.
explainer = dict(
    type='AOSAApprox',
    anchor_stride=8,
    box_size=16,
    num_cooccurring=3,
    tracking='integer',
    cooccurrence='flow_cosine',
    flow_input='swapped_luma',
    flow_method='farneback',
    map_form='tube_lsq',
    drop='log_odds',
    ridge=10.0,
    rounds=2,
    evidence_fraction=0.5,
    fill='conditional',
    relu=True)
