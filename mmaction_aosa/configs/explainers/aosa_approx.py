# AOSA-approx, the recommended fast path (docs/methods.md, "AOSA-approx"):
# the tubes, map and two rounds of the default AOSA (aosa.py), each mask's
# log-odds drop estimated from input gradients instead of a forward pass per
# mask. The gradient of each voxel is averaged along its way to the fill
# (AOSA's constant 0): read at the clip and with its own half of a 4x4
# checkerboard of cells two-thirds faded, the other half keeping its context.
# No ReLU (it would make the map follow the clip's contrast, not the model).
_base_ = ['./aosa.py']
explainer = dict(type='AOSAApprox', path='cells', grid=4, relu=False)
