# AOSA with conditional sampling: each occluded box is filled with draws
# from the Gaussian of the surrounding patches (box enlarged by 4 px), and
# the scores of num_samples draws are averaged (seeded).
explainer = dict(
    type='AOSA',
    anchor_stride=8,
    box_size=16,
    num_cooccurring=3,
    map_form='mean_drop',
    fill='conditional',
    num_samples=4,
    seed=0)
