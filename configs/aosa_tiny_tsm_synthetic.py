# AOSA on the tiny TSM (Recognizer2D) of the generated ground-truth
# benchmark (test split, one view of 8 segments at 64 px; checkpoint:
# checkpoints/tiny_tsm_synthetic.pth). The test pipeline is the training
# config's; the clip's 8 frames are the model's segments.
_base_ = [
    './tiny/tiny_tsm_synthetic.py',
    './_base_/explainers/aosa.py',
]
class_names = ['axis_horizontal', 'axis_vertical', 'axis_diagonal_down',
               'axis_diagonal_up']
