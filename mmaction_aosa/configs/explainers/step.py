# STEP, spatio-temporal extremal perturbation: a smooth mask keeping 10% of
# the clip, optimised for 100 Adam steps with a temporal smoothness penalty.
explainer = dict(
    type='STEP',
    volume_fraction=0.1,
    num_iterations=100,
    learning_rate=0.1,
    area_weight=100.0,
    smooth_weight=10.0,
    mask_stride=8,
    score='logit')
