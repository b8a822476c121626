"""Heat-map overlays (at the source video's size, or on the clip), frame
grids, the saliency visualizer and the browser report."""
from .overlay import (LabelBand, OverlayPainter, class_label, class_name,
                      display_scale, frame_grid, label_text, normalize_map,
                      overlay_frames, render_overlay, write_video)
from .source import (SourceError, SourceVideo, crop_in_source,
                     source_frame_indices, timeline)
from .visualizer import (SaliencyVisualizer, save_overlay, send_to_backends,
                         write_gif)

__all__ = ['LabelBand', 'OverlayPainter', 'class_label', 'class_name',
           'display_scale', 'frame_grid', 'label_text', 'normalize_map',
           'overlay_frames', 'render_overlay', 'write_video', 'write_gif',
           'SourceError', 'SourceVideo', 'crop_in_source',
           'source_frame_indices', 'timeline', 'SaliencyVisualizer',
           'save_overlay', 'send_to_backends']
