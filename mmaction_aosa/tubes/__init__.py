"""AOSA's occlusion tubes: flow, tracking, grouping, box masks, map step."""
from .flow import compute_flow, to_gray_uint8
from .grouping import (flow_cosine, flow_cosine_groups, motion_cosine,
                       top_k_partners)
from .maps import (MAP_FORMS, dense_mask_sums, saliency_map,
                   union_box_scatter, union_box_sums)
from .masks import Tubes, occlusion_indices, render_occlusion, tube_boxes
from .tracking import (Tracks, anchor_grid, track_points,
                       track_points_integer)

__all__ = [
    'MAP_FORMS', 'Tracks', 'Tubes', 'anchor_grid', 'compute_flow',
    'dense_mask_sums', 'flow_cosine', 'flow_cosine_groups', 'motion_cosine',
    'occlusion_indices', 'render_occlusion', 'saliency_map', 'to_gray_uint8',
    'top_k_partners', 'track_points', 'track_points_integer', 'tube_boxes',
    'union_box_scatter', 'union_box_sums'
]
