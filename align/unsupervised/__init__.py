"""Unsupervised aligners: ``fit(X, Y)`` with rows that are NOT paired."""
from .refine import SelfLearningRefiner, mutual_csls_pairs
from .ot import GromovWassersteinAligner, WassersteinProcrustes
from .selection import label_free_criteria, select

__all__ = ["SelfLearningRefiner", "mutual_csls_pairs", "GromovWassersteinAligner", "WassersteinProcrustes",
           "label_free_criteria", "select"]
