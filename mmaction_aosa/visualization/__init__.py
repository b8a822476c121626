"""Heat-map overlays (videos, frame grids) and the saliency visualizer."""
from .overlay import (frame_grid, label_text, normalize_map, overlay_frames,
                      write_video)
from .visualizer import (SaliencyVisualizer, save_overlay, send_to_backends,
                         write_gif)

__all__ = ['frame_grid', 'label_text', 'normalize_map', 'overlay_frames',
           'write_video', 'write_gif', 'SaliencyVisualizer', 'save_overlay',
           'send_to_backends']
