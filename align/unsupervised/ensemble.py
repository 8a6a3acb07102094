"""AnchorEnsembleAligner: an ensemble of k-means/QAP centroid matchings as anchors, relative
representations → mean pseudo-targets → Procrustes, then smoothed refinement (mini-vec2vec).

Written from the description of mini-vec2vec (Dar 2025, "mini-vec2vec: Scaling Universal
Geometry Alignment with Linear Transformations", arXiv 2510.02348); the relative descriptions are
those of Moschella et al. (2023, arXiv 2209.15430). Reuses :func:`~.inits.kmeans_qap_init` (k-means
+ quadratic assignment of centroids), :func:`~align.compute.knn` and
:func:`~align.supervised.procrustes.procrustes`.

Stages of :meth:`AnchorEnsembleAligner._init_map`:

1. ``n_runs`` times: subsample each set, k-means (``n_clusters``) on each, match the centroid sets by
   QAP; keep the matched centroid pairs. Optionally drop the runs with the lowest QAP objective.
2. All matched centroids become anchors; each point of a sample is described by its cosines to
   its own space's anchors (z-scored columns, unit rows); each X point's pseudo-target is the mean
   of its ``n_neighbors`` nearest Y points in that description space. Procrustes → W0.
3. ``n_smooth`` smoothed steps: the targets are the means of the ``n_neighbors_refine`` nearest Y
   points of X W; W ← polar(alpha W + (1 − alpha) procrustes(X, targets)).
4. k-means (``n_final_clusters``) of X W and of Y; mutual nearest centroids → Procrustes; one more
   smoothed step.
"""
from __future__ import annotations

import numpy as np

from .._params import Interval
from ..base import register_aligner
from ..compute import knn
from ..supervised.procrustes import procrustes
from ._base import COMMON_CONSTRAINTS, UnsupervisedAligner, sample_rows
from .anchors import relative_descriptions
from .inits import _kmeans, kmeans_qap_init
from .selection import unit_rows


def nearest_orthogonal(M: np.ndarray) -> np.ndarray:
    """The (semi-)orthogonal matrix nearest to M in Frobenius norm: U Vᵀ of M's thin SVD.

    Parameters
    ----------
    M : ndarray (d_x, d_y)

    Returns
    -------
    ndarray (d_x, d_y) float64
    """
    U, _, Vt = np.linalg.svd(np.asarray(M, np.float64), full_matrices=False)
    return U @ Vt


def describe(A: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Relative representation: cosines of A's rows to ``anchors``, z-scored columns, unit rows.

    Parameters
    ----------
    A : ndarray (n, d)
    anchors : ndarray (m, d)

    Returns
    -------
    ndarray (n, m) float32
    """
    R = relative_descriptions(A.astype(np.float64), anchors.astype(np.float64))
    return unit_rows(R).astype(np.float32)


def mean_neighbours(Q: np.ndarray, B: np.ndarray, targets: np.ndarray, k: int) -> np.ndarray:
    """For each row of Q, the mean of ``targets`` over its k nearest rows of B (cosine).

    Parameters
    ----------
    Q : ndarray (m, r)
    B : ndarray (n, r)
        Queries and database in one space.
    targets : ndarray (n, d)
        What to average (rows aligned with B).
    k : int

    Returns
    -------
    ndarray (m, d) float64
    """
    k = max(1, min(int(k), len(B)))
    _, idx = knn(np.ascontiguousarray(Q, np.float32), np.ascontiguousarray(B, np.float32), k,
                 metric="cosine", device="cpu")
    return targets.astype(np.float64)[np.asarray(idx)].mean(1)


def smoothed_step(W, X, target, alpha):
    """polar(alpha W + (1 − alpha) procrustes(X, target)).

    Parameters
    ----------
    W : ndarray (d_x, d_y)
    X : ndarray (n, d_x)
    target : ndarray (n, d_y)
    alpha : float

    Returns
    -------
    ndarray (d_x, d_y) float64
    """
    return nearest_orthogonal(alpha * W + (1.0 - alpha) * procrustes(X, target))


@register_aligner
class AnchorEnsembleAligner(UnsupervisedAligner):
    """Ensemble of matched k-means centroids as anchors → relative pseudo-pairs → smoothed Procrustes.

    A linear, unsupervised aligner after mini-vec2vec (Dar 2025, arXiv 2510.02348): many cheap
    k-means + quadratic-assignment matchings of centroids (each on a subsample) are pooled as
    anchors; points are described by their cosines to their own space's anchors (relative
    representations, Moschella et al. 2023, "Relative representations enable zero-shot latent
    space communication", ICLR, arXiv 2209.15430); each X point's pseudo-target is the mean of its
    nearest Y points in that description space, and Procrustes on them gives the first map. Smoothed
    Procrustes steps on mean-of-neighbours targets, then a matching of fine k-means centroids,
    refine it; the base class then runs ``n_refine`` rounds of CSLS self-learning.

    Parameters
    ----------
    n_runs : int >= 1, default 30
        k-means/QAP matchings pooled as anchors.
    n_clusters : int >= 2, default 20
        Centroids per run (capped at the subsample size).
    run_sample : int >= 2, default 10000
        Rows per set drawn for each run.
    n_restarts : int >= 1, default 10
        QAP restarts of each run's matching.
    drop_fraction : float in [0, 1), default 0.0
        Fraction of runs with the lowest QAP objective dropped (0: keep all).
    n_sample : int >= 2, default 20000
        Rows per set described and matched for the pseudo-pairs and the refinement.
    n_neighbors : int >= 1, default 50
        Y points averaged into each X point's pseudo-target (description space).
    n_smooth : int >= 0, default 100
        Smoothed refinement steps (stop early when W moves by < 1e-6 in Frobenius norm).
    alpha : float in [0, 1], default 0.5
        Weight of the previous W in each smoothed step.
    n_neighbors_refine : int >= 1, default 10
        Y points averaged into each target of the smoothed steps (mapped space).
    n_final_clusters : int >= 0, default 500
        k of the final cluster refinement (capped at n/4; 0 or < 2 after capping: skipped).
    normalize : {"center", "unit-center", "whiten"}, default "unit-center"
        See :mod:`align.unsupervised._base`.
    n_refine : int >= 0, default 10
        CSLS self-learning rounds after the init.
    csls_k : int, default 10
        CSLS neighbourhood of the refinement.
    n_candidates : int or None, default 20000
        Rows used for refinement (None = all).
    random_state : int >= 0 or None, default 0

    Attributes
    ----------
    init_info_ : dict
        ``n_runs`` (kept), ``n_anchors``, ``smooth_steps`` (used), ``n_final_pairs``.
    """

    _parameter_constraints = {
        **COMMON_CONSTRAINTS, "n_runs": [Interval(int, 1, None)], "n_clusters": [Interval(int, 2, None)],
        "run_sample": [Interval(int, 2, None)], "n_restarts": [Interval(int, 1, None)],
        "drop_fraction": [Interval(float, 0, 1, closed="left")], "n_sample": [Interval(int, 2, None)],
        "n_neighbors": [Interval(int, 1, None)], "n_smooth": [Interval(int, 0, None)],
        "alpha": [Interval(float, 0, 1)], "n_neighbors_refine": [Interval(int, 1, None)],
        "n_final_clusters": [Interval(int, 0, None)],
    }
    _json_attrs = UnsupervisedAligner._json_attrs + ("init_info_",)

    def __init__(self, *, n_runs: int = 30, n_clusters: int = 20, run_sample: int = 10000,
                 n_restarts: int = 10, drop_fraction: float = 0.0, n_sample: int = 20000,
                 n_neighbors: int = 50, n_smooth: int = 100, alpha: float = 0.5,
                 n_neighbors_refine: int = 10, n_final_clusters: int = 500, normalize: str = "unit-center",
                 n_refine: int = 10, csls_k: int = 10, n_candidates: int | None = 20000,
                 random_state: int | None = 0):
        self.n_runs = n_runs
        self.n_clusters = n_clusters
        self.run_sample = run_sample
        self.n_restarts = n_restarts
        self.drop_fraction = drop_fraction
        self.n_sample = n_sample
        self.n_neighbors = n_neighbors
        self.n_smooth = n_smooth
        self.alpha = alpha
        self.n_neighbors_refine = n_neighbors_refine
        self.n_final_clusters = n_final_clusters
        self.normalize = normalize
        self.n_refine = n_refine
        self.csls_k = csls_k
        self.n_candidates = n_candidates
        self.random_state = random_state

    def _anchors(self, Xp, Yp, rng):
        """Matched centroids of ``n_runs`` subsampled k-means/QAP runs → (Ax, Ay, n_kept)."""
        runs = []
        for _ in range(self.n_runs):
            ix = sample_rows(len(Xp), self.run_sample, rng)
            iy = sample_rows(len(Yp), self.run_sample, rng)
            _, info = kmeans_qap_init(Xp[ix], Yp[iy], rng, n_clusters=self.n_clusters,
                                      n_restarts=self.n_restarts)
            runs.append((info["qap"], info["Cx"], info["Cy"][info["perm"]]))
        n_drop = int(np.floor(self.drop_fraction * len(runs)))
        if n_drop:
            order = np.argsort([-r[0] for r in runs], kind="stable")
            runs = [runs[i] for i in np.sort(order[:len(runs) - n_drop])]
        Ax = np.concatenate([r[1] for r in runs]).astype(np.float64)
        Ay = np.concatenate([r[2] for r in runs]).astype(np.float64)
        return Ax, Ay, len(runs)

    def _smooth(self, X, Y, W):
        """``n_smooth`` smoothed steps on mean-of-neighbours targets; returns (W, steps used)."""
        steps = 0
        for steps in range(1, self.n_smooth + 1):
            target = mean_neighbours(X @ W, Y, Y, self.n_neighbors_refine)
            W_new = smoothed_step(W, X, target, self.alpha)
            moved = np.linalg.norm(W_new - W)
            W = W_new
            if moved < 1e-6:
                break
        return W, steps

    def _cluster_step(self, X, Y, W, rng):
        """Fine k-means of X W and Y, mutual nearest centroids → one smoothed step; (W, n pairs)."""
        k = min(self.n_final_clusters, len(X) // 4, len(Y) // 4)
        if k < 2:
            return W, 0
        _, _, lx = _kmeans(X @ W, k, rng)
        Cy, _, _ = _kmeans(Y, k, rng)
        used = np.unique(lx)
        Cx = np.stack([X[lx == c].mean(0) for c in used])
        S = unit_rows(Cx @ W) @ unit_rows(Cy).T
        fwd, back = S.argmax(1), S.argmax(0)
        mutual = np.flatnonzero(back[fwd] == np.arange(len(Cx)))
        if len(mutual) < 2:
            return W, int(len(mutual))
        return smoothed_step(W, Cx[mutual], Cy[fwd[mutual]], self.alpha), int(len(mutual))

    def _init_map(self, Xp, Yp, rng):
        Ax, Ay, n_kept = self._anchors(Xp, Yp, rng)
        ix, iy = sample_rows(len(Xp), self.n_sample, rng), sample_rows(len(Yp), self.n_sample, rng)
        X, Y = Xp[ix].astype(np.float64), Yp[iy].astype(np.float64)
        target = mean_neighbours(describe(X, Ax), describe(Y, Ay), Y, self.n_neighbors)
        W = procrustes(X, target)
        W, steps = self._smooth(X, Y, W)
        W, n_final = self._cluster_step(X, Y, W, rng)
        self.init_info_ = {"n_runs": int(n_kept), "n_anchors": int(len(Ax)), "smooth_steps": int(steps),
                           "n_final_pairs": int(n_final)}
        self.history_.append({"stage": "init:anchor_ensemble", **self.init_info_})
        return W
