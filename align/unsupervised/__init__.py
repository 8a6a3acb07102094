"""Unsupervised aligners: ``fit(X, Y)`` with rows that are NOT paired."""
from .refine import SelfLearningRefiner, mutual_csls_pairs
from .adversarial import AdversarialAligner
from .cycle import CycleAligner
from .ot import GromovWassersteinAligner, WassersteinProcrustes
from .structure import StructureMatchingAligner
from .selection import label_free_criteria, select

__all__ = ["SelfLearningRefiner", "mutual_csls_pairs", "AdversarialAligner", "CycleAligner",
           "GromovWassersteinAligner", "WassersteinProcrustes", "StructureMatchingAligner",
           "label_free_criteria", "select"]
from .forecast import forecast_alignability  # noqa: E402
__all__ += ["forecast_alignability"]
