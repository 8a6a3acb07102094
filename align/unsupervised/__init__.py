"""Unsupervised aligners: ``fit(X, Y)`` with rows that are NOT paired.

One module per family: :mod:`~align.unsupervised.adversarial` (MUSE), :mod:`~align.unsupervised.cycle`
(vec2vec), :mod:`~align.unsupervised.wasserstein` (Wasserstein-Procrustes),
:mod:`~align.unsupervised.gromov` (Gromov-Wasserstein), :mod:`~align.unsupervised.structure`
(structure-only inits), :mod:`~align.unsupervised.restarts`; shared :mod:`~align.unsupervised.refine`,
:mod:`~align.unsupervised.selection` and :mod:`~align.unsupervised.forecast`.
"""
from .dictionary import mutual_csls_pairs
from .refine import SelfLearningRefiner
from .adversarial import AdversarialAligner
from .cycle import CycleAligner
from .gromov import GromovWassersteinAligner
from .wasserstein import WassersteinProcrustesAligner
from .wasserstein import __getattr__  # noqa: F401  (the deprecated name WassersteinProcrustes)
from .structure import StructureMatchingAligner
from .assignment import AssignmentProcrustesAligner
from .restarts import RestartsAligner
from .ensemble import AnchorEnsembleAligner
from .selection import label_free_criteria, select
from .forecast import forecast_alignability

__all__ = ["SelfLearningRefiner", "mutual_csls_pairs", "AdversarialAligner", "CycleAligner",
           "GromovWassersteinAligner", "WassersteinProcrustesAligner", "StructureMatchingAligner",
           "RestartsAligner", "AssignmentProcrustesAligner", "AnchorEnsembleAligner",
           "label_free_criteria", "select", "forecast_alignability"]
