# Tiny R3D trained on the synthetic ground-truth benchmark: 16 frames
# spanning the 32-frame clip, 4 epochs (all in synthetic_base.py).
_base_ = ['../_base_/models/tiny_r3d.py', './synthetic_base.py']
