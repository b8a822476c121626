# AOSA-approx as the authors' code computes it: the tubes and map of
# aosa_authors.py, each occluded score estimated to first order from one
# gradient at the clip, with a constant fill of 0 and no ReLU:
# f_i = f(x) + sum over the mask of J_v (0 - x_v).
_base_ = ['./aosa_authors.py']
explainer = dict(type='AOSAApprox', path='point', relu=False, score='prob')
