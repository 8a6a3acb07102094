"""Assignment–Procrustes alignment in the style of Rosetta (Schnaus et al., 2026, arXiv 2610.09411),
written here from the paper's description: a structure-only (cluster) start, then rounds that
alternate an exact one-to-one assignment between random blocks of the two sets with an orthogonal
Procrustes fit on all the assigned pairs.

Each round splits a random ``n_blocks · block_size`` rows of X and as many of Y into disjoint blocks
of equal size; block k of X is matched to block k of Y under the cost ``1 − cos(X_b W, Y_b)``, by
``scipy.optimize.linear_sum_assignment`` (``solver="exact"``) or by the row argmax of an entropic
plan (``solver="sinkhorn"``, :func:`align.unsupervised.wasserstein.transport_plan`). With several
blocks a row's true partner lies in its block only with probability ``block_size / n``, so a round's
pairs are partly wrong and the fraction of changed matches stays high: early stopping (``tol``)
mainly acts when one block covers the smaller set.
"""
from __future__ import annotations

import numpy as np

from .._params import Interval, StrOptions
from ..base import register_aligner
from ..supervised.procrustes import procrustes
from ._base import COMMON_CONSTRAINTS, UnsupervisedAligner
from .inits import INITS
from .selection import unit_rows
from .wasserstein import transport_plan

SOLVERS = ("exact", "sinkhorn")


def draw_blocks(n_x: int, n_y: int, block_size: int, n_blocks, rng):
    """Disjoint random blocks of X rows and of Y rows, block k of X the same size as block k of Y.

    Parameters
    ----------
    n_x, n_y : int
        Set sizes.
    block_size : int >= 1
        Rows per block (capped at min(n_x, n_y)).
    n_blocks : int >= 1 or None
        None: enough blocks to cover min(n_x, n_y) rows (the last ones a little smaller).
    rng : numpy.random.Generator

    Returns
    -------
    list of (ndarray, ndarray)
        ``(rows of X, rows of Y)`` per block.
    """
    m = min(n_x, n_y)
    b = min(block_size, m)
    cover = -(-m // b)
    k = cover if n_blocks is None else min(n_blocks, cover)
    used = min(m, k * b)
    ix, iy = rng.permutation(n_x)[:used], rng.permutation(n_y)[:used]
    return list(zip(np.array_split(ix, k), np.array_split(iy, k)))


def assign_block(A, B, *, solver: str = "exact", reg: float = 0.05) -> np.ndarray:
    """Column of B assigned to each row of A under the cost 1 − cosine.

    Parameters
    ----------
    A : array (n, d)
    B : array (n, d)
        Same number of rows (mapped X block, Y block).
    solver : {"exact", "sinkhorn"}, default "exact"
        Optimal assignment, or the row argmax of a uniform-marginal entropic plan.
    reg : float > 0, default 0.05
        Sinkhorn regulariser.

    Returns
    -------
    ndarray (n,) int64
    """
    P, _ = transport_plan(unit_rows(A), unit_rows(B), reg=reg, exact=solver == "exact")
    return P.argmax(1).astype(np.int64)


def assignment_procrustes(Xp, Yp, W, rng, *, n_rounds: int = 10, block_size: int = 10000, n_blocks=None,
                          solver: str = "exact", reg: float = 0.05, tol: float = 1e-3):
    """Alternate block assignment and Procrustes from the map W.

    Parameters
    ----------
    Xp : ndarray (n_x, d_x)
    Yp : ndarray (n_y, d_y)
        Preprocessed sets.
    W : ndarray (d_x, d_y)
        Start map.
    rng : numpy.random.Generator
    n_rounds : int >= 0, default 10
    block_size, n_blocks, solver, reg
        See :func:`draw_blocks` and :func:`assign_block`.
    tol : float in [0, 1], default 1e-3
        Stop when fewer than this fraction of the X rows assigned in a round changed partner.

    Returns
    -------
    W : ndarray (d_x, d_y) float64
    info : dict
        ``rounds`` (rounds run), ``pairs`` (last round's (row of X, row of Y) pairs), ``changed``
        (fraction of changed matches per round; 1.0 in the first), ``cost`` (mean 1 − cos per round).
    """
    W = np.asarray(W, np.float64)
    match = np.full(len(Xp), -1, np.int64)
    changed, costs, pairs, rounds = [], [], np.zeros((0, 2), np.int64), 0
    for _ in range(n_rounds):
        parts = []
        for bx, by in draw_blocks(len(Xp), len(Yp), block_size, n_blocks, rng):
            cols = assign_block(Xp[bx] @ W, Yp[by], solver=solver, reg=reg)
            parts.append(np.stack([bx, by[cols]], 1))
        pairs = np.concatenate(parts).astype(np.int64)
        new = pairs[:, 1]
        frac = float((match[pairs[:, 0]] != new).mean())
        match[pairs[:, 0]] = new
        mapped, target = unit_rows(Xp[pairs[:, 0]] @ W), unit_rows(Yp[pairs[:, 1]])
        costs.append(float(1.0 - (mapped * target).sum(1).mean()))
        W = procrustes(Xp[pairs[:, 0]], Yp[pairs[:, 1]])
        changed.append(frac)
        rounds += 1
        if frac < tol:
            break
    return W, {"rounds": rounds, "pairs": pairs, "changed": changed, "cost": costs}


@register_aligner
class AssignmentProcrustesAligner(UnsupervisedAligner):
    """Structure start → rounds of exact block assignment ⇄ Procrustes (Rosetta-style) → refinement.

    Our implementation of the assignment–Procrustes alternation of Rosetta (Schnaus et al., 2026,
    arXiv 2610.09411), written from the paper's description; the paper reports its quality as
    FOSCTTM (fraction of samples closer than the true match, ``translation_scores(...)["foscttm"]``
    here). A start map from one of :data:`align.unsupervised.inits.INITS` (``start``), then
    ``n_rounds`` rounds: disjoint random blocks of ``block_size`` rows of each set, an assignment per
    block pair under the cost 1 − cos(X_b W, Y_b), Procrustes on all the pairs → the next W (module
    docstring: what the early stop can and cannot see).

    Parameters
    ----------
    start : str, default "relative"
        Start map: ``"relative"`` (relative representations over k-means anchors matched by QAP),
        ``"kmeans"``, ``"sorted_sim"``, ``"principal_axes"`` or ``"ica"``
        (:mod:`align.unsupervised.inits`).
    normalize : {"center", "unit-center", "whiten"}, default "unit-center"
        See :mod:`align.unsupervised._base`.
    n_sample : int >= 2, default 4000
        Rows per set used by the start (sorted_sim, relative, ica).
    n_clusters : int >= 1, default 64
        k of the k-means starts.
    n_restarts : int >= 1, default 10
        QAP restarts of the k-means starts.
    n_components : int >= 1, default 64
        Axes / sources of the spectral starts.
    n_rounds : int >= 0, default 10
        Assignment–Procrustes rounds (0: the start map alone).
    block_size : int >= 1, default 10000
        Rows of each block (capped at the set sizes); the exact solver costs O(block_size³).
    n_blocks : int >= 1 or None, default None
        Blocks per round; None: enough to cover min(n_x, n_y) rows.
    solver : {"exact", "sinkhorn"}, default "exact"
        ``scipy.optimize.linear_sum_assignment``, or the row argmax of a Sinkhorn plan
        (``align.compute.sinkhorn_matrix``, uniform weights).
    reg : float > 0, default 0.05
        Sinkhorn regulariser (cost units: 1 − cosine).
    tol : float in [0, 1], default 0.001
        Stop when fewer than this fraction of the matches changed since the last round.
    n_refine : int >= 0, default 0
        Self-learning refinement rounds after the assignment stage (``refine_iter=`` is its
        deprecated name).
    csls_k : int >= 1, default 10
        CSLS neighbourhood of the refinement.
    n_candidates : int or None, default 20000
        Rows used for refinement (None = all).
    random_state : int >= 0 or None, default 0
        ``seed=`` is its deprecated name.

    Attributes
    ----------
    W_ : ndarray (d_x, d_y)
    pairs_ : ndarray (m, 2) int64
        The last round's assigned (row of X, row of Y) pairs (empty with seed pairs or n_rounds=0).
    history_ : list of dict
        ``init:<start>``, then one ``assignment`` entry per round (changed fraction, mean cost).
    """

    _array_attrs = UnsupervisedAligner._array_attrs + ("pairs_",)
    _parameter_constraints = {
        **COMMON_CONSTRAINTS, "start": [StrOptions(set(INITS))], "n_sample": [Interval(int, 2, None)],
        "n_clusters": [Interval(int, 1, None)], "n_restarts": [Interval(int, 1, None)],
        "n_components": [Interval(int, 1, None)], "n_rounds": [Interval(int, 0, None)],
        "block_size": [Interval(int, 1, None)], "n_blocks": [None, Interval(int, 1, None)],
        "solver": [StrOptions(set(SOLVERS))], "reg": [Interval(float, 0, None, closed="neither")],
        "tol": [Interval(float, 0, 1)],
    }

    def __init__(self, *, start: str = "relative", normalize: str = "unit-center", n_sample: int = 4000,
                 n_clusters: int = 64, n_restarts: int = 10, n_components: int = 64, n_rounds: int = 10,
                 block_size: int = 10000, n_blocks: int | None = None, solver: str = "exact", reg: float = 0.05,
                 tol: float = 0.001, n_refine: int = 0, csls_k: int = 10, n_candidates: int | None = 20000,
                 random_state: int | None = 0):
        self.start = start
        self.normalize = normalize
        self.n_sample = n_sample
        self.n_clusters = n_clusters
        self.n_restarts = n_restarts
        self.n_components = n_components
        self.n_rounds = n_rounds
        self.block_size = block_size
        self.n_blocks = n_blocks
        self.solver = solver
        self.reg = reg
        self.tol = tol
        self.n_refine = n_refine
        self.csls_k = csls_k
        self.n_candidates = n_candidates
        self.random_state = random_state

    def fit(self, X, Y, seed_pairs=None):
        """Fit on unpaired X (n_x, d_x) and Y (n_y, d_y); ``seed_pairs`` (m, 2) optional; returns self."""
        self.pairs_ = np.zeros((0, 2), np.int64)
        return super().fit(X, Y, seed_pairs=seed_pairs)

    def _start_kwargs(self):
        kwargs = {}
        if self.start in ("sorted_sim", "relative", "ica"):
            kwargs["n_sample"] = self.n_sample
        if self.start in ("kmeans", "relative"):
            kwargs.update(n_clusters=self.n_clusters, n_restarts=self.n_restarts)
        if self.start == "principal_axes":
            kwargs["n_axes"] = self.n_components
        if self.start == "ica":
            kwargs["n_components"] = self.n_components
        return kwargs

    def _init_map(self, Xp, Yp, rng):
        W, info = INITS[self.start](Xp, Yp, rng, **self._start_kwargs())
        self.history_.append({"stage": f"init:{self.start}",
                              **{k: v for k, v in info.items() if np.isscalar(v)}})
        W, info = assignment_procrustes(Xp, Yp, W, rng, n_rounds=self.n_rounds, block_size=self.block_size,
                                        n_blocks=self.n_blocks, solver=self.solver, reg=float(self.reg),
                                        tol=float(self.tol))
        for r, (frac, cost) in enumerate(zip(info["changed"], info["cost"])):
            self.history_.append({"stage": "assignment", "round": r, "changed": frac, "mean_cost": cost,
                                  "n_pairs": int(len(info["pairs"]))})
        self.pairs_ = info["pairs"]
        return W
