"""Saliency evaluation: deletion/insertion, pointing game, sanity check.

Importing this package registers the metrics (``SaliencySummary``,
``TimePerMap``, ``DeletionInsertion``, ``SpatialPointingGame``,
``CascadeRandomization``) in mmaction2's METRICS.
"""
from .deletion_insertion import (auc, blur_clip, deletion_insertion,
                                 perturbation_curve, saliency_order)
from .metrics import (CascadeRandomization, DeletionInsertion,
                      SaliencyMetric, SaliencySummary, SpatialPointingGame,
                      TimePerMap, saliency_metric_classes)
from .pointing_game import (GroundTruthBoxes, boxes_in_clip, point_hits_box,
                            point_of_frame, pointing_game)
from .report import (comparison_table, markdown_table, plot_curves,
                     summarize_records, tables_from_records, write_reports)
from .sanity import (cascade_randomization, model_stages, plot_cascade,
                     randomize_, spearman)

__all__ = [
    'auc', 'blur_clip', 'deletion_insertion', 'perturbation_curve',
    'saliency_order', 'CascadeRandomization', 'DeletionInsertion',
    'SaliencyMetric', 'SaliencySummary', 'SpatialPointingGame', 'TimePerMap',
    'saliency_metric_classes', 'GroundTruthBoxes', 'boxes_in_clip',
    'point_hits_box', 'point_of_frame', 'pointing_game', 'comparison_table',
    'markdown_table', 'plot_curves', 'summarize_records',
    'tables_from_records', 'write_reports', 'cascade_randomization',
    'model_stages', 'plot_cascade', 'randomize_', 'spearman'
]
