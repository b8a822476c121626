from .saliency_recognizer import SaliencyRecognizer, pick_view

__all__ = ['SaliencyRecognizer', 'pick_view']
