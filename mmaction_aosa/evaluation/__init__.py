"""Saliency evaluation: deletion/insertion, pointing game, sanity check.

Importing this package registers the metrics (``DeletionInsertion``,
``SpatialPointingGame``, ``TimePerMap``, ``CascadeRandomization``) in
mmaction2's METRICS and the ``SaliencyEvaluator`` model in mmaction2's
MODELS.
"""
from .deletion_insertion import (auc, blur_clip, deletion_insertion,
                                 perturbation_curve, saliency_order)
from .evaluator_model import SaliencyEvaluator
from .metrics import (CascadeRandomization, DeletionInsertion,
                      SpatialPointingGame, TimePerMap)
from .pointing_game import (GroundTruthBoxes, add_geometry_meta_keys,
                            boxes_in_clip, point_hits_box, point_of_frame,
                            pointing_game)
from .report import (comparison_table, markdown_table, plot_curves,
                     summarize_records, tables_from_records)
from .sanity import (cascade_randomization, model_stages, plot_cascade,
                     randomize_, spearman)

__all__ = [
    'auc', 'blur_clip', 'deletion_insertion', 'perturbation_curve',
    'saliency_order', 'SaliencyEvaluator', 'CascadeRandomization',
    'DeletionInsertion', 'SpatialPointingGame', 'TimePerMap',
    'GroundTruthBoxes',
    'add_geometry_meta_keys', 'boxes_in_clip', 'point_hits_box',
    'point_of_frame', 'pointing_game', 'comparison_table', 'markdown_table',
    'plot_curves',
    'summarize_records', 'tables_from_records',
    'cascade_randomization', 'model_stages', 'plot_cascade', 'randomize_',
    'spearman'
]
