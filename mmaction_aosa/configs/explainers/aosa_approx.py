# AOSA-approx, the recommended fast path (docs/methods.md, "AOSA-approx"):
# the tubes, map and two rounds of the default AOSA (aosa.py), each mask's
# log-odds drop estimated from input gradients instead of a forward pass per
# mask. Round 1: the gradient of each voxel averaged along its way to the
# fill (AOSA's constant 0), read at the clip and with its own half of a 4x4
# checkerboard of cells two-thirds faded, the other half keeping its
# context. Round 2: one gradient, with the clip (its evidence already at the
# fill) half faded. No ReLU (it would make the map follow the clip's
# contrast, not the model). sign_check=16 adds two forward passes that check
# round 1's sign (docs/metrics.md says what it does and does not buy).
_base_ = ['./aosa.py']
explainer = dict(type='AOSAApprox', path='cells', grid=4,
                 round2_path='midpoint', sign_check=0, relu=False)
