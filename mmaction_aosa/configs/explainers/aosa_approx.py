# AOSA-approx (docs/methods.md): AOSA's tubes and map step, per-mask scores
# from one forward + backward pass. Paper settings at 112 px: s=8, 16×16
# boxes, K=3; the fill is the conditional mean of the surrounding patches.
explainer = dict(
    type='AOSAApprox',
    anchor_stride=8,
    box_size=16,
    num_cooccurring=3,
    map_form='mean_drop',
    fill='conditional',
    relu=True,
    score='prob')
