# AOSA-approx (docs/methods.md): the tubes and map of the default AOSA
# (aosa.py), each mask's drop estimated to first order from one gradient of
# the log-odds, with the paper's fill (the conditional mean of the
# surrounding patches) and its ReLU; the second round takes a second
# gradient at the clip with the evidence set to its fill.
_base_ = ['./aosa.py']
explainer = dict(type='AOSAApprox', fill='conditional', relu=True)
