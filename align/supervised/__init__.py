"""Supervised translators trained on paired rows."""
from .procrustes import ProcrustesTranslator, procrustes

__all__ = ["ProcrustesTranslator", "procrustes"]
