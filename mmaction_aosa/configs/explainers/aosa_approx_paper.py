# AOSA-approx in the paper's one-gradient form on the default AOSA (aosa.py):
# the tubes, map and two rounds of aosa.py, each mask's drop estimated to
# first order from one gradient of the log-odds at the clip (a second one in
# round 2), with the paper's fill (the conditional mean of the surrounding
# patches) and its ReLU (the previous default AOSA-approx). Its
# maps follow the contrast between clip and fill more than the model
# (docs/metrics.md, sanity check).
_base_ = ['./aosa.py']
explainer = dict(type='AOSAApprox', path='point', fill='conditional',
                 relu=True)
