"""Unsupervised aligners: ``fit(X, Y)`` with rows that are NOT paired."""
from .refine import SelfLearningRefiner, mutual_csls_pairs
from .adversarial import AdversarialAligner
from .cycle import CycleAligner

__all__ = ["SelfLearningRefiner", "mutual_csls_pairs"]
__all__ += ["AdversarialAligner", "CycleAligner"]
