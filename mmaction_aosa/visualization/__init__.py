"""Heat-map overlays (videos, frame grids)."""
from .overlay import (frame_grid, label_text, normalize_map, overlay_frames,
                      write_video)

__all__ = ['frame_grid', 'label_text', 'normalize_map', 'overlay_frames',
           'write_video']
