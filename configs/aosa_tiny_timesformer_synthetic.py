# AOSA on the tiny timesformer model of the generated ground-truth benchmark
# (test split, one view; checkpoint: checkpoints/tiny_timesformer_synthetic.pth).
# Used by the tests and `make demo`. The test pipeline is the training
# config's.
_base_ = [
    './tiny/tiny_timesformer_synthetic.py',
    './_base_/explainers/aosa.py',
]
class_names = ['axis_horizontal', 'axis_vertical', 'axis_diagonal_down',
               'axis_diagonal_up']
