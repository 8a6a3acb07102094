"""Unsupervised aligners: ``fit(X, Y)`` with rows that are NOT paired."""
from .refine import SelfLearningRefiner, mutual_csls_pairs
from .adversarial import AdversarialAligner
from .cycle import CycleAligner
from .ot import GromovWassersteinAligner, WassersteinProcrustes
from .structure import StructureMatchingAligner
from .restarts import RestartsAligner
from .selection import label_free_criteria, select
from .forecast import forecast_alignability

__all__ = ["SelfLearningRefiner", "mutual_csls_pairs", "AdversarialAligner", "CycleAligner",
           "GromovWassersteinAligner", "WassersteinProcrustes", "StructureMatchingAligner", "RestartsAligner",
           "label_free_criteria", "select", "forecast_alignability"]
