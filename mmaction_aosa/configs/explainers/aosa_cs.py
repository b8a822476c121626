# AOSA with conditional sampling (the paper's option) on the default AOSA
# (aosa.py): each occluded box is filled with draws from the Gaussian of the
# surrounding patches (box enlarged by 4 px), and the log-odds of
# num_samples draws are averaged (seeded). num_samples times the forward
# passes of aosa.py.
_base_ = ['./aosa.py']
explainer = dict(fill='conditional', num_samples=4, seed=0)
