# SmoothGrad: mean |df/dx| summed over channels, over 50 noisy copies with
# sigma = 15% of the clip's value range (Smilkov et al.'s recommendations).
explainer = dict(
    type='SmoothGrad', num_samples=50, noise_level=0.15, score='prob',
    batch_size=8)
