"""Supervised translators trained on paired rows: ``fit(X, Y)`` with row i of X paired to row i of Y."""
from .linear import LinearTranslator, affine_approximation
from .mlp import MLPTranslator
from .procrustes import ProcrustesTranslator, procrustes

__all__ = ["LinearTranslator", "MLPTranslator", "ProcrustesTranslator", "affine_approximation", "procrustes"]
