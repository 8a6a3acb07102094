"""Old home of the method specs and the word-level data of the unshared-strings study.

Kept so that existing imports work: the spec parsing and building live in :mod:`align.methods`,
the word-level data (:func:`word_data`, :func:`reduce_dim`, :func:`precision_at_k`) in
:mod:`align.recipes.unshared_data`.
"""
from ..methods import build, parse_spec
from .unshared_data import precision_at_k, reduce_dim, word_data

__all__ = ["build", "parse_spec", "precision_at_k", "reduce_dim", "word_data"]
