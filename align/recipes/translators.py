"""Old home of the translator registry of the paired-vs-unpaired study.

Kept so that existing imports work: :class:`Method`, :data:`METHODS`, :func:`register_method` and
:func:`get_method` live in :mod:`align.methods`.
"""
from ..methods import METHODS, Method, get_method, register_method

__all__ = ["METHODS", "Method", "get_method", "register_method"]
