"""Engine pieces: explain dataset wrapper, writer hook, summary metric."""
from .explain_dataset import ExplainDataset, VideoError, video_id
from .hooks import SaliencyHook, SaliencyWriterHook
from .io import append_line, done_ids, load_map, read_summary, save_map
from .summary_metric import SaliencySummary

__all__ = ['ExplainDataset', 'VideoError', 'video_id', 'SaliencyHook', 'SaliencyWriterHook',
           'SaliencySummary', 'append_line', 'done_ids', 'load_map',
           'read_summary', 'save_map']
