"""Wasserstein-Procrustes (Grave, Joulin & Berthet, 2019, "Unsupervised alignment of embeddings
with Wasserstein Procrustes", arXiv 1805.11222) and the entropic transport plans it uses.

:class:`WassersteinProcrustesAligner` minimises over orthogonal W and couplings P the transport cost
``Σ P_ij ||x_i W − y_j||²``, by stochastic steps on mini-batches — an entropic (Sinkhorn) or exact
assignment between a batch of XW and a batch of Y, a gradient step on W, a projection back onto
orthogonal matrices — with the batch growing and the regulariser shrinking each epoch. It can be
initialised by a convex relaxation of the Gram-matching problem ``min_P ||P K_X − K_Y P||²`` on a
sample (Frank-Wolfe over doubly-stochastic P; same paper).

What fails and why (measured on ``align.synthetic.rotation``, a centred anisotropic Gaussian):
``init="convex"`` carries no information on column-centred data: with ``P = 11ᵀ/n`` the objective
``||P K_X − K_Y P||²`` is already 0 (``11ᵀ X = 0``), so Frank-Wolfe starts at a global minimum and
its steps follow noise. Grave et al. centre each *row* and use frequency-aligned vocabularies, so
their first rows largely correspond. Use a structure init (the default).

Sinkhorn runs on align's own solver (``align.compute.sinkhorn_matrix``), POT stays the reference
in the tests. (POT's layout: ``ot.bregman`` for Sinkhorn, ``ot.gromov`` for Gromov-Wasserstein —
here :mod:`align.unsupervised.gromov`.)
"""
from __future__ import annotations

import warnings

import numpy as np
from scipy.optimize import linear_sum_assignment

from .._params import Interval, StrOptions
from .._validate import check_matrix, check_positive_int
from ..base import register_aligner
from ..exceptions import ShapeError, ValidationError
from ..supervised.procrustes import procrustes
from ._base import COMMON_CONSTRAINTS, UnsupervisedAligner, sample_rows
from ..compute import sinkhorn_matrix
from .inits import INITS
from .selection import unit_rows


def sinkhorn_plan(a, b, M, reg: float, *, n_iter: int = 1000, tol: float = 1e-6) -> np.ndarray:
    """Entropic OT plan between histograms a (n,), b (m,) for the cost M (n, m), like POT's
    ``ot.sinkhorn`` (Cuturi, 2013, arXiv 1306.0895), checked inputs, float64 in and out.

    Kernel-domain iterations when ``exp(−M/reg)`` cannot underflow (span(M)/reg < 200), log-domain
    ones otherwise, on align's own Sinkhorn.

    Parameters
    ----------
    a, b : array (n,), (m,)
        Finite non-negative histograms.
    M : array (n, m)
        Finite cost matrix.
    reg : float > 0
        Entropic regulariser.
    n_iter : int, default 1000
        Maximum iterations.
    tol : float, default 1e-6
        Column-marginal violation at which to stop.

    Returns
    -------
    ndarray (n, m) float64

    Raises
    ------
    ShapeError
        When a, b and M disagree in shape.
    ValidationError
        For NaN/inf, negative weights or a bad ``reg``.
    """
    M = check_matrix(M, "M", allow_torch=False, dtype=np.float64)
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != (M.shape[0],) or b.shape != (M.shape[1],):
        raise ShapeError(f"sinkhorn_plan needs a ({M.shape[0]},) and b ({M.shape[1]},) for M {M.shape}; "
                         f"got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()) or a.min() < 0 or b.min() < 0:
        raise ValidationError("sinkhorn_plan needs finite, non-negative histograms a and b")
    check_reg(reg, "reg")
    span = float(M.max() - M.min()) if M.size else 0.0
    method = "kernel" if span / reg < 200 else "log"
    return sinkhorn_matrix(a, b, M, float(reg), max_iter=n_iter, tol=tol, method=method)


def check_reg(value, name):
    """``value`` as a float when it is a finite number > 0.

    Parameters
    ----------
    value : float
    name : str
        For the message.

    Returns
    -------
    float

    Raises
    ------
    ValidationError
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not np.isfinite(value) \
            or value <= 0:
        raise ValidationError(f"{name} must be a finite number > 0; got {value!r}")
    return float(value)


def _orthogonalize(W):
    U, _, Vt = np.linalg.svd(W, full_matrices=False)
    return U @ Vt


def convex_gram_init(Xs, Ys, *, n_iter: int = 50, reg: float = 0.05):
    """Frank-Wolfe on ``min_P ||P K_X − K_Y P||²`` over doubly-stochastic P (Grave et al., 2019).

    P (rows: Y, columns: X) relaxes a permutation with ``K_X[σ(i), σ(j)] ≈ K_Y[i, j]``.

    Parameters
    ----------
    Xs : array (n, d_x)
    Ys : array (n, d_y)
        Equal-size samples (the longer is truncated).
    n_iter : int >= 0, default 50
        Frank-Wolfe steps.
    reg : float > 0, default 0.05
        Entropic regulariser of each linear-minimisation step.

    Returns
    -------
    ndarray (d_x, d_y)
        W = Procrustes(P Xs, Ys).
    """
    Xs = check_matrix(Xs, "Xs", min_rows=2, allow_torch=False, dtype=np.float64)
    Ys = check_matrix(Ys, "Ys", min_rows=2, allow_torch=False, dtype=np.float64)
    check_positive_int(n_iter, "n_iter", minimum=0)
    check_reg(reg, "reg")
    n = min(len(Xs), len(Ys))
    Xs, Ys = Xs[:n], Ys[:n]
    KX, KY = Xs @ Xs.T, Ys @ Ys.T
    KY *= np.linalg.norm(KX) / max(np.linalg.norm(KY), 1e-12)
    KX2, KY2 = KX @ KX, KY @ KY
    P = np.full((n, n), 1.0 / n)
    ones = np.ones(n)
    for it in range(1, n_iter + 1):
        G = P @ KX2 + KY2 @ P - 2 * KY @ P @ KX  # gradient of ||P K_X − K_Y P||² (up to 2)
        G = G / max(np.abs(G).max(), 1e-12)  # unit scale so one reg suits every data set
        Q = sinkhorn_plan(ones, ones, G, reg, n_iter=200, tol=1e-3)
        alpha = 2.0 / (2.0 + it)
        P = alpha * Q + (1 - alpha) * P
    return procrustes(P @ Xs, Ys)


@register_aligner
class WassersteinProcrustesAligner(UnsupervisedAligner):
    """Orthogonal map by mini-batch Wasserstein-Procrustes, then self-learning refinement.

    Each step draws a batch of ``batch_size`` rows from each set, solves an entropic (Sinkhorn, cost
    1 − cosine) or exact assignment between ``X_b W`` and ``Y_b``, and moves W a fraction ``step``
    towards the Procrustes solution onto the barycentric targets ``P Y_b`` (then back onto the
    orthogonal matrices). Each epoch doubles the batch (up to ``max_batch``) and multiplies the
    regulariser by ``reg_decay``: coarse, blurry matching first, sharp matching last.

    Parameters
    ----------
    normalize : {"center", "unit-center", "whiten"}, default "unit-center"
    init : str, default "sorted_sim"
        ``"convex"`` (Gram matching on ``init_sample`` rows as in Grave et al.), ``"identity"``
        (W = I, equal dimensions only) or a structure init of :mod:`align.unsupervised.inits`
        (``"sorted_sim"``, ``"principal_axes"``, ``"kmeans"``, ``"relative"``, ``"ica"``).
    assignment : {"sinkhorn", "exact"}, default "sinkhorn"
    batch_size, max_batch : int >= 2, default 1000, 4000
    n_epochs : int >= 0, default 3
    n_iter : int >= 0, default 20
        Steps per epoch.
    step : float in (0, 1], default 0.5
    reg : float > 0, default 0.05
    reg_decay : float in (0, 1], default 0.5
    init_sample : int >= 2, default 1000
    init_iter : int >= 0, default 30
        Frank-Wolfe steps of ``init="convex"``.
    n_refine : int >= 0, default 5
        Refinement rounds (``refine_iter=`` is its deprecated name).
    csls_k : int, default 10
    n_candidates : int or None, default 20000
    random_state : int >= 0 or None, default 0
        ``seed=`` is its deprecated name.
    """

    _parameter_constraints = {
        **COMMON_CONSTRAINTS, "init": [StrOptions({"convex", "identity", *INITS})],
        "assignment": [StrOptions({"sinkhorn", "exact"})], "batch_size": [Interval(int, 2, None)],
        "max_batch": [Interval(int, 2, None)], "init_sample": [Interval(int, 2, None)],
        "n_iter": [Interval(int, 0, None)], "init_iter": [Interval(int, 0, None)],
        "n_epochs": [Interval(int, 0, None)], "step": [Interval(float, 0, 1, closed="right")],
        "reg": [Interval(float, 0, None, closed="neither")], "reg_decay": [Interval(float, 0, 1, closed="right")],
    }

    def __init__(self, *, normalize: str = "unit-center", init: str = "sorted_sim", assignment: str = "sinkhorn",
                 batch_size: int = 1000, max_batch: int = 4000, n_epochs: int = 3, n_iter: int = 20,
                 step: float = 0.5, reg: float = 0.05, reg_decay: float = 0.5, init_sample: int = 1000,
                 init_iter: int = 30, n_refine: int = 5, csls_k: int = 10, n_candidates: int | None = 20000,
                 random_state: int | None = 0):
        self.normalize = normalize
        self.init = init
        self.assignment = assignment
        self.batch_size = batch_size
        self.max_batch = max_batch
        self.n_epochs = n_epochs
        self.n_iter = n_iter
        self.step = step
        self.reg = reg
        self.reg_decay = reg_decay
        self.init_sample = init_sample
        self.init_iter = init_iter
        self.n_refine = n_refine
        self.csls_k = csls_k
        self.n_candidates = n_candidates
        self.random_state = random_state

    def _check_data(self, X, Y):
        if self.init == "identity" and X.shape[1] != Y.shape[1]:
            raise ValidationError(f"init='identity' needs equal dimensions; got {X.shape[1]} and {Y.shape[1]}")

    def _init_map(self, Xp, Yp, rng):
        if self.init == "identity":
            return np.eye(Xp.shape[1])
        if self.init in INITS:
            W, info = INITS[self.init](Xp, Yp, rng)
            self.history_.append({"stage": f"init:{self.init}", **{k: v for k, v in info.items() if np.isscalar(v)}})
            return W
        m = min(self.init_sample, len(Xp), len(Yp))
        Xs, Ys = Xp[sample_rows(len(Xp), m, rng)], Yp[sample_rows(len(Yp), m, rng)]
        W = convex_gram_init(Xs, Ys, n_iter=self.init_iter)
        self.history_.append({"stage": "init:convex", "sample": int(m)})
        return W

    def _improve(self, Xp, Yp, W, rng):
        Xu, Yu = _unit(Xp), _unit(Yp)
        b, reg = self.batch_size, float(self.reg)
        for epoch in range(self.n_epochs):
            bb = min(b, len(Xu), len(Yu))
            cost = 0.0
            for _ in range(self.n_iter):
                xb = Xu[rng.choice(len(Xu), bb, replace=False)]
                yb = Yu[rng.choice(len(Yu), bb, replace=False)]
                P, c = transport_plan(xb @ W, yb, reg=reg, exact=self.assignment == "exact")
                cost += c
                W = _orthogonalize((1 - self.step) * W + self.step * procrustes(xb, P @ yb))
            self.history_.append({"stage": "wasserstein", "epoch": epoch, "batch": int(bb), "reg": reg,
                                  "mean_cost": cost / max(self.n_iter, 1)})
            b, reg = min(b * 2, self.max_batch), reg * self.reg_decay
        return W


def _unit(A):
    return unit_rows(A).astype(np.float64)


def transport_plan(A, B, *, reg: float = 0.05, exact: bool = False):
    """Row-normalised plan between unit rows A and B under cost 1 − cosine, and its mean cost.

    Parameters
    ----------
    A : array (n_a, d)
    B : array (n_b, d)
    reg : float > 0, default 0.05
        Sinkhorn regulariser (ignored when ``exact``).
    exact : bool, default False
        Optimal assignment (needs n_a = n_b) instead of Sinkhorn with uniform marginals.

    Returns
    -------
    P : ndarray (n_a, n_b)
        Rows sum to 1 (barycentric weights).
    cost : float
        Mean transport cost.
    """
    A = check_matrix(A, "A", allow_torch=False, dtype=np.float64)
    B = check_matrix(B, "B", allow_torch=False, dtype=np.float64)
    if A.shape[1] != B.shape[1]:
        raise ShapeError(f"A has {A.shape[1]} columns but B has {B.shape[1]}")
    if exact and len(A) != len(B):
        raise ShapeError(f"exact assignment needs as many rows in A as in B; got {len(A)} and {len(B)}")
    if not exact:
        check_reg(reg, "reg")
    C = 1.0 - A @ B.T
    if exact:
        r, c = linear_sum_assignment(C)
        P = np.zeros_like(C)
        P[r, c] = 1.0
        return P, float(C[r, c].mean())
    P = sinkhorn_plan(np.full(len(A), 1.0 / len(A)), np.full(len(B), 1.0 / len(B)), C, reg, n_iter=300, tol=1e-4)
    rows = P.sum(1, keepdims=True)
    return P / np.maximum(rows, 1e-300), float((P * C).sum() / max(P.sum(), 1e-300))


def __getattr__(name):
    """PEP 562: ``WassersteinProcrustes`` is the deprecated name of :class:`WassersteinProcrustesAligner`."""
    if name == "WassersteinProcrustes":
        warnings.warn("WassersteinProcrustes is deprecated and will be removed in the next release; use "
                      "WassersteinProcrustesAligner", DeprecationWarning, stacklevel=2)
        return WassersteinProcrustesAligner
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
