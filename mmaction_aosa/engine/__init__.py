"""Hooks that write saliency outputs during runner.test()."""
from .hooks import SUMMARY_FILE, RecordWriterHook, SaliencyHook

__all__ = ['SUMMARY_FILE', 'RecordWriterHook', 'SaliencyHook']
