from .saliency_recognizer import SaliencyRecognizer, explain_sample, pick_view

__all__ = ['SaliencyRecognizer', 'explain_sample', 'pick_view']
