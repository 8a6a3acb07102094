"""StructureMatchingAligner: an initial map from the shape of each cloud alone, then Procrustes +
self-learning refinement (see :mod:`align.unsupervised.inits` for the initialisations and their
papers).

What each init recovers, no pairs given (bench/unsupervised_planted.py; held-out top-1 at the
defaults; bench/RESULTS.md, "Unsupervised aligners on planted problems", has the full table):

- ``sorted_sim`` recovers a noise-0.05 rotation (d=64, 4,000 rows), a 64 → 48 projection and a 50 %
  partial overlap of 2,000 rows. It needs its two samples (``n_sample`` rows each) to share most
  points: a 2,000-row sample of 4,000-row sets, or 50 % overlap at 5,000 rows (where the 4,000-row
  samples share only ≈ 40 % of their rows) fail (top-1 ≈ 0.01–0.06); the latter reaches 0.94 with
  ``n_sample=5000`` (all rows; cost grows as n_sample³).
- ``principal_axes`` recovers the rotation (the axes' signs come from each sample's skewness, which
  the two sets share when they hold the same points) but not a 64 → 48 projection (Y's principal
  axes are not images of X's) nor partial overlap (the sample skewness differs).
- ``kmeans`` fails on a Gaussian cloud: a unimodal cloud has no clusters, so the two k-means
  partitions are unrelated local optima and the centroids cannot be matched; it matches HMM symbol
  clusters perfectly. ``relative`` inherits those anchors: on the rotation its top-1 was 0.66 or 0.0
  depending only on the random stream of the QAP restarts (unstable).
- ``ica`` fails on Gaussian data by construction (Gaussian sources are not identifiable, Comon 1994)
  and on the HMM embeddings.
"""
from __future__ import annotations

import numpy as np

from .._params import Interval, StrOptions
from ..base import register_aligner
from ._base import COMMON_CONSTRAINTS, UnsupervisedAligner
from .inits import INITS


@register_aligner
class StructureMatchingAligner(UnsupervisedAligner):
    """Structure-only initialisation → Procrustes → (stochastic) self-learning refinement.

    Parameters
    ----------
    init : str, default "sorted_sim"
        ``"sorted_sim"`` (VecMap sorted similarity rows), ``"kmeans"`` (k-means centroids
            matched by quadratic assignment), ``"relative"`` (relative representations over the
            matched centroids), ``"principal_axes"`` (principal axes matched by eigenvalue and
            marginal shape), ``"ica"`` (independent components matched by marginal shape).
    normalize : {"center", "unit-center", "whiten"}, default "unit-center"
        See :mod:`align.unsupervised._base`.
    n_sample : int >= 2, default 4000
        Rows per set used by the initialisation (sorted_sim: equal-size samples).
    n_clusters : int, default 64
        k of the k-means inits.
    n_components : int, default 64
        Axes / sources of the spectral inits.
    n_restarts : int, default 10
        QAP restarts (k-means inits).
    stochastic : float in (0, 1], default 1.0
        Initial keep probability of VecMap's stochastic dictionary induction in the refinement
        (1 = deterministic).
    n_refine : int >= 0, default 10
        Refinement rounds (``refine_iter=`` is its deprecated name).
    csls_k : int, default 10
        CSLS neighbourhood.
    n_candidates : int or None, default 20000
        Rows used for refinement (None = all).
    random_state : int >= 0 or None, default 0
        ``seed=`` is its deprecated name.
    """

    _parameter_constraints = {
        **COMMON_CONSTRAINTS, "init": [StrOptions(set(INITS))], "n_sample": [Interval(int, 2, None)],
        "n_clusters": [Interval(int, 1, None)], "n_components": [Interval(int, 1, None)],
        "n_restarts": [Interval(int, 1, None)], "stochastic": [Interval(float, 0, 1, closed="right")],
    }

    def __init__(self, *, init: str = "sorted_sim", normalize: str = "unit-center", n_sample: int = 4000,
                 n_clusters: int = 64, n_components: int = 64, n_restarts: int = 10, stochastic: float = 1.0,
                 n_refine: int = 10, csls_k: int = 10, n_candidates: int | None = 20000,
                 random_state: int | None = 0):
        self.init = init
        self.normalize = normalize
        self.n_sample = n_sample
        self.n_clusters = n_clusters
        self.n_components = n_components
        self.n_restarts = n_restarts
        self.stochastic = stochastic
        self.n_refine = n_refine
        self.csls_k = csls_k
        self.n_candidates = n_candidates
        self.random_state = random_state

    def _init_map(self, Xp, Yp, rng):
        fn = INITS[self.init]
        kwargs = {}
        if self.init in ("sorted_sim", "relative", "ica"):
            kwargs["n_sample"] = self.n_sample
        if self.init in ("kmeans", "relative"):
            kwargs.update(n_clusters=self.n_clusters, n_restarts=self.n_restarts)
        if self.init == "principal_axes":
            kwargs["n_axes"] = self.n_components
        if self.init == "ica":
            kwargs["n_components"] = self.n_components
        W, info = fn(Xp, Yp, rng, **kwargs)
        self.history_.append({"stage": f"init:{self.init}",
                              **{k: v for k, v in info.items() if np.isscalar(v)}})
        return W
