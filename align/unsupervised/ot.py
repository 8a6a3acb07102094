"""Optimal-transport aligners: Wasserstein-Procrustes and Gromov-Wasserstein.

- :class:`WassersteinProcrustes` (Grave, Joulin & Berthet, 2019, "Unsupervised alignment of
  embeddings with Wasserstein Procrustes", arXiv 1805.11222): minimise over orthogonal W and
  couplings P the transport cost ``Σ P_ij ||x_i W − y_j||²``, by stochastic steps on mini-batches —
  an entropic (Sinkhorn) or exact assignment between a batch of XW and a batch of Y, a gradient step
  on W, a projection back onto orthogonal matrices — with the batch growing and the regulariser
  shrinking each epoch. Initialised by a convex relaxation of the Gram-matching problem
  ``min_P ||P K_X − K_Y P||²`` on a sample (Frank-Wolfe over doubly-stochastic P; same paper).
- :class:`GromovWassersteinAligner` (Alvarez-Melis & Jaakkola, 2018, "Gromov-Wasserstein alignment
  of word embedding spaces", arXiv 1809.00013): entropic GW (POT) between the intra-set cosine
  distance matrices of two samples gives a coupling Γ; Procrustes on ``(X_s, n Γ Y_s)`` gives W;
  self-learning refinement follows. Several random restarts; the lowest GW loss wins.

What fails and why (measured on ``align.synthetic.rotation``, a centred anisotropic Gaussian):

- ``init="convex"`` carries no information on column-centred data: with ``P = 11ᵀ/n`` the
  objective ``||P K_X − K_Y P||²`` is already 0 (``11ᵀ X = 0``), so Frank-Wolfe starts at a global
  minimum and its steps follow noise. Grave et al. centre each *row* and use frequency-aligned
  vocabularies, so their first rows largely correspond. Use a structure init (the default).
- Gromov-Wasserstein needs the two samples to share most of their points: a Gaussian cloud's
  distance structure is symmetric under reflections of its axes, so only point-level structure
  identifies the map. With 1,000-row sets and ``n_sample ≥ 1000`` (both samples = all rows)
  ``epsilon=0.01`` recovers a noise-0.05 rotation (top-1 1.0, 3 s); with 4,000-row sets and
  ``n_sample=1500`` (≈ 37 % of sampled rows have their partner in the other sample) it fails
  (top-1 ≈ 0); ``epsilon=0.05`` is too blurry even with full overlap (top-1 0.07), and
  POT's kernel-domain Sinkhorn underflows below ``epsilon ≈ 0.01`` on z-scored distances
  (such a coupling is rejected). Where GW fails, its Sinkhorn steps converge slowly at 0.01: 100–785 s
  per fit on a shared 2-core CPU (README_issue8p.md); cap ``max_iter`` when time matters.

Sinkhorn goes through :func:`sinkhorn_plan` so a faster solver can replace POT in one place.
"""
from __future__ import annotations

import numpy as np

from .._validate import check_choice, check_matrix, check_positive_int
from ..base import register_aligner
from ..exceptions import ShapeError, ValidationError
from ..supervised.procrustes import procrustes
from ._base import UnsupervisedAligner, sample_rows


def sinkhorn_plan(a, b, M, reg: float, *, n_iter: int = 1000, tol: float = 1e-6) -> np.ndarray:
    """Entropic OT plan between histograms a (n,), b (m,) for cost M (n, m); float64 in and out.

    Uses POT: the kernel-domain solver when ``exp(−M/reg)`` cannot underflow, the log-domain
    solver otherwise. (One place to swap in a fused solver.)
    """
    import ot
    M = check_matrix(M, "M", allow_torch=False, dtype=np.float64)
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != (M.shape[0],) or b.shape != (M.shape[1],):
        raise ShapeError(f"sinkhorn_plan needs a ({M.shape[0]},) and b ({M.shape[1]},) for M {M.shape}; "
                         f"got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()) or a.min() < 0 or b.min() < 0:
        raise ValidationError("sinkhorn_plan needs finite, non-negative histograms a and b")
    _check_reg(reg, "reg")
    span = float(M.max() - M.min()) if M.size else 0.0
    method = "sinkhorn" if span / reg < 200 else "sinkhorn_log"
    return ot.sinkhorn(a, b, M, reg, method=method, numItermax=n_iter, stopThr=tol, warn=False)


def _check_reg(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not np.isfinite(value) \
            or value <= 0:
        raise ValidationError(f"{name} must be a finite number > 0; got {value!r}")
    return float(value)


def _orthogonalize(W):
    U, _, Vt = np.linalg.svd(W, full_matrices=False)
    return U @ Vt


def convex_gram_init(Xs, Ys, *, n_iter: int = 50, reg: float = 0.05):
    """Frank-Wolfe on ``min_P ||P K_X − K_Y P||²`` over doubly-stochastic P (Grave et al., 2019).

    Xs (n, d_x), Ys (n, d_y): equal-size samples. P (rows: Y, columns: X) relaxes a permutation
    with ``K_X[σ(i), σ(j)] ≈ K_Y[i, j]``. Returns W (d_x, d_y) = Procrustes(P Xs, Ys).
    """
    Xs = check_matrix(Xs, "Xs", min_rows=2, allow_torch=False, dtype=np.float64)
    Ys = check_matrix(Ys, "Ys", min_rows=2, allow_torch=False, dtype=np.float64)
    check_positive_int(n_iter, "n_iter", minimum=0)
    _check_reg(reg, "reg")
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
class WassersteinProcrustes(UnsupervisedAligner):
    """Orthogonal map by mini-batch Wasserstein-Procrustes, then self-learning refinement.

    Each step draws a batch of ``batch_size`` rows from each set, solves an entropic (Sinkhorn, cost
    1 − cosine) or exact assignment between ``X_b W`` and ``Y_b``, and moves W a fraction ``step``
    towards the Procrustes solution onto the barycentric targets ``P Y_b`` (then back onto the
    orthogonal matrices). Each epoch doubles the batch (up to ``max_batch``) and multiplies the
    regulariser by ``reg_decay``: coarse, blurry matching first, sharp matching last.

    Parameters: ``normalize``; ``init`` ("convex": Gram matching on ``init_sample`` rows as in
    Grave et al.; "identity": W = I; or any structure init of
    :mod:`align.unsupervised.inits`: "sorted_sim", "principal_axes", "kmeans", "relative", "ica");
    ``assignment`` ("sinkhorn" or "exact"); ``batch_size``, ``max_batch``, ``n_epochs``,
    ``n_iter`` (steps per epoch), ``step``, ``reg``, ``reg_decay``, ``init_sample``,
    ``init_iter``; ``refine_iter``, ``csls_k``, ``n_candidates``, ``seed``.
    """

    def __init__(self, *, normalize: str = "unit-center", init: str = "sorted_sim", assignment: str = "sinkhorn",
                 batch_size: int = 1000, max_batch: int = 4000, n_epochs: int = 3, n_iter: int = 20,
                 step: float = 0.5, reg: float = 0.05, reg_decay: float = 0.5, init_sample: int = 1000,
                 init_iter: int = 30, refine_iter: int = 5, csls_k: int = 10, n_candidates: int | None = 20000,
                 seed: int | None = 0):
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
        self.refine_iter = refine_iter
        self.csls_k = csls_k
        self.n_candidates = n_candidates
        self.seed = seed

    def _check_params(self, X, Y):
        from .inits import INITS
        check_choice(self.init, "init", ("convex", "identity", *INITS))
        check_choice(self.assignment, "assignment", ("sinkhorn", "exact"))
        for name in ("batch_size", "max_batch", "init_sample"):
            check_positive_int(getattr(self, name), name, minimum=2)
        for name in ("n_iter", "init_iter", "n_epochs"):
            check_positive_int(getattr(self, name), name, minimum=0)
        if not (self.reg > 0 and 0 < self.step <= 1 and 0 < self.reg_decay <= 1):
            raise ValidationError(f"need reg > 0, 0 < step ≤ 1, 0 < reg_decay ≤ 1; got {self.reg}, {self.step}, "
                                  f"{self.reg_decay}")
        if self.init == "identity" and X.shape[1] != Y.shape[1]:
            raise ValidationError(f"init='identity' needs equal dimensions; got {X.shape[1]} and {Y.shape[1]}")

    def _init_map(self, Xp, Yp, rng):
        from .inits import INITS
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
    return (A / np.maximum(np.linalg.norm(A, axis=1, keepdims=True), 1e-12)).astype(np.float64)


def transport_plan(A, B, *, reg: float = 0.05, exact: bool = False):
    """Row-normalised plan (n_a, n_b) between unit rows A and B under cost 1 − cosine, and its mean cost.

    Rows of the returned plan sum to 1 (barycentric weights); ``exact`` uses the optimal
    assignment (needs n_a = n_b), else Sinkhorn with uniform marginals.
    """
    A = check_matrix(A, "A", allow_torch=False, dtype=np.float64)
    B = check_matrix(B, "B", allow_torch=False, dtype=np.float64)
    if A.shape[1] != B.shape[1]:
        raise ShapeError(f"A has {A.shape[1]} columns but B has {B.shape[1]}")
    if exact and len(A) != len(B):
        raise ShapeError(f"exact assignment needs as many rows in A as in B; got {len(A)} and {len(B)}")
    if not exact:
        _check_reg(reg, "reg")
    C = 1.0 - A @ B.T
    if exact:
        from scipy.optimize import linear_sum_assignment
        r, c = linear_sum_assignment(C)
        P = np.zeros_like(C)
        P[r, c] = 1.0
        return P, float(C[r, c].mean())
    P = sinkhorn_plan(np.full(len(A), 1.0 / len(A)), np.full(len(B), 1.0 / len(B)), C, reg, n_iter=300, tol=1e-4)
    rows = P.sum(1, keepdims=True)
    return P / np.maximum(rows, 1e-300), float((P * C).sum() / max(P.sum(), 1e-300))


@register_aligner
class GromovWassersteinAligner(UnsupervisedAligner):
    """Entropic Gromov-Wasserstein on intra-set cosine distances → Procrustes → refinement.

    Parameters: ``normalize``, ``n_sample`` (rows of each set in the GW problem), ``epsilon``
    (entropic regulariser on z-scored distance matrices), ``max_iter`` (GW outer iterations),
    ``n_restarts`` (1 = the uniform start; more add random starts, best GW loss wins),
    ``refine_iter``, ``csls_k``, ``n_candidates``, ``seed``.

    Fitted extras: ``gw_loss_`` (of the chosen restart) in ``history_``.
    """

    def __init__(self, *, normalize: str = "unit-center", n_sample: int = 1500, epsilon: float = 0.01,
                 max_iter: int = 50, n_restarts: int = 1, refine_iter: int = 10, csls_k: int = 10,
                 n_candidates: int | None = 20000, seed: int | None = 0):
        self.normalize = normalize
        self.n_sample = n_sample
        self.epsilon = epsilon
        self.max_iter = max_iter
        self.n_restarts = n_restarts
        self.refine_iter = refine_iter
        self.csls_k = csls_k
        self.n_candidates = n_candidates
        self.seed = seed

    def _check_params(self, X, Y):
        check_positive_int(self.n_sample, "n_sample", minimum=2)
        check_positive_int(self.max_iter, "max_iter")
        check_positive_int(self.n_restarts, "n_restarts")
        if not self.epsilon > 0:
            raise ValidationError(f"epsilon must be > 0; got {self.epsilon}")

    def _init_map(self, Xp, Yp, rng):
        Xs = Xp[sample_rows(len(Xp), self.n_sample, rng)].astype(np.float64)
        Ys = Yp[sample_rows(len(Yp), self.n_sample, rng)].astype(np.float64)
        G, loss = gw_coupling(Xs, Ys, epsilon=self.epsilon, max_iter=self.max_iter,
                              n_restarts=self.n_restarts, rng=rng)
        self.history_.append({"stage": "gromov_wasserstein", "sample": [len(Xs), len(Ys)], "gw_loss": loss})
        return procrustes(Xs, (G / G.sum(1, keepdims=True).clip(1e-300)) @ Ys)


def _zscored_distances(A):
    U = A / np.maximum(np.linalg.norm(A, axis=1, keepdims=True), 1e-12)
    C = 1.0 - U @ U.T
    off = C[~np.eye(len(C), dtype=bool)]
    return (C - off.mean()) / max(off.std(), 1e-12)


def gw_coupling(Xs, Ys, *, epsilon: float = 0.05, max_iter: int = 50, n_restarts: int = 1, rng=None):
    """Entropic GW coupling (n_x, n_y) between two samples' z-scored cosine-distance matrices.

    Restart 0 starts from the uniform coupling; others from a random coupling. Returns
    ``(coupling, gw_loss)`` of the restart with the lowest loss.
    """
    import ot
    Xs = check_matrix(Xs, "Xs", min_rows=2, allow_torch=False, dtype=np.float64)
    Ys = check_matrix(Ys, "Ys", min_rows=2, allow_torch=False, dtype=np.float64)
    _check_reg(epsilon, "epsilon")
    check_positive_int(max_iter, "max_iter")
    check_positive_int(n_restarts, "n_restarts")
    rng = np.random.default_rng(0) if rng is None else rng
    C1, C2 = _zscored_distances(Xs), _zscored_distances(Ys)
    p, q = np.full(len(Xs), 1.0 / len(Xs)), np.full(len(Ys), 1.0 / len(Ys))
    best, best_loss = None, np.inf
    for r in range(n_restarts):
        G0 = None
        if r > 0:
            G0 = sinkhorn_plan(p, q, rng.random((len(p), len(q))), 0.05, n_iter=200)
        G, log = ot.gromov.entropic_gromov_wasserstein(C1, C2, p, q, "square_loss", epsilon=epsilon, G0=G0,
                                                        max_iter=max_iter, tol=1e-7, log=True)
        loss = float(log.get("gw_dist", np.inf))
        # an underflowing Sinkhorn returns a coupling that has lost its marginals: reject it
        if not np.isfinite(G).all() or not np.allclose(G.sum(1), p, rtol=0.05, atol=0.05 / len(p)):
            continue
        if loss < best_loss:
            best, best_loss = G, loss
    if best is None:
        raise ValidationError(f"Gromov-Wasserstein produced no valid coupling at epsilon={epsilon} "
                              "(Sinkhorn underflow); increase epsilon")
    return best, best_loss
