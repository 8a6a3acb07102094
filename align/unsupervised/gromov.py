"""Gromov-Wasserstein alignment (Alvarez-Melis & Jaakkola, 2018, "Gromov-Wasserstein alignment of
word embedding spaces", arXiv 1809.00013) on align's own entropic Gromov-Wasserstein solver.

:func:`entropic_gromov_wasserstein` follows Peyré, Cuturi & Solomon (2016, "Gromov-Wasserstein
averaging of kernel and distance matrices", ICML) as POT's ``ot.gromov.entropic_gromov_wasserstein``
does for the square loss: each outer iteration linearises the GW objective at the current coupling T,
``grad = 2 (constC − C1 T (2 C2)ᵀ)`` with ``constC = C1² p 1ᵀ + 1 qᵀ C2²ᵀ`` (their Prop. 1), and
projects with one Sinkhorn solve at ``epsilon``. :class:`GromovWassersteinAligner` runs it between
the z-scored intra-set cosine distance matrices of two samples, gets W by Procrustes on
``(X_s, n Γ Y_s)`` and refines it by self-learning; several random restarts, lowest GW loss wins.

What fails and why (measured on ``align.synthetic.rotation``): GW needs the two samples to share
most of their points — a Gaussian cloud's distance structure is symmetric under reflections of its
axes, so only point-level structure identifies the map. With 1,000-row sets and ``n_sample ≥ 1000``
``epsilon=0.01`` recovers a noise-0.05 rotation; with 4,000-row sets and ``n_sample=1500`` (≈ 37 %
of sampled rows have their partner in the other sample) it fails (top-1 ≈ 0); ``epsilon=0.05`` is
too blurry even with full overlap (top-1 0.07). Where GW fails its Sinkhorn steps converge slowly at
0.01 (minutes per fit on a 2-core CPU); cap ``max_iter`` when time matters.
"""
from __future__ import annotations

import numpy as np

from .._params import Interval
from .._validate import check_matrix, check_positive_int
from ..base import register_aligner
from ..exceptions import ValidationError
from ..supervised.procrustes import procrustes
from ._base import COMMON_CONSTRAINTS, UnsupervisedAligner, sample_rows
from ..compute import sinkhorn_matrix
from .selection import unit_rows
from .wasserstein import check_reg


def square_loss_terms(C1, C2, p, q):
    """``(constC, hC1, hC2)`` of the square loss (Peyré et al., 2016, Prop. 1): ``L(a, b) = a² + b² − a·2b``.

    Parameters
    ----------
    C1 : ndarray (n, n)
    C2 : ndarray (m, m)
    p, q : ndarray (n,), (m,)

    Returns
    -------
    constC : ndarray (n, m)
    hC1 : ndarray (n, n)
    hC2 : ndarray (m, m)
    """
    constC = (C1 ** 2) @ p[:, None] @ np.ones((1, len(q))) + np.ones((len(p), 1)) @ (q[None, :] @ (C2 ** 2).T)
    return constC, C1, 2.0 * C2


def gw_tensor(constC, hC1, hC2, T):
    """``L(C1, C2) ⊗ T = constC − hC1 T hC2ᵀ``; ``Σ (L ⊗ T) · T`` is the GW loss.

    Parameters
    ----------
    constC, hC1, hC2 : ndarray
        From :func:`square_loss_terms`.
    T : ndarray (n, m)
        A coupling.

    Returns
    -------
    ndarray (n, m)
    """
    return constC - hC1 @ T @ hC2.T


def entropic_gromov_wasserstein(C1, C2, p, q, *, epsilon: float, G0=None, max_iter: int = 1000,
                                tol: float = 1e-9, inner_max_iter: int = 1000, inner_tol: float = 1e-9):
    """Entropic Gromov-Wasserstein coupling for the square loss (projected gradient; Peyré et al., 2016).

    Parameters
    ----------
    C1 : ndarray (n, n), C2 : ndarray (m, m)
        Symmetric intra-set cost matrices.
    p, q : ndarray (n,), (m,)
        Marginals.
    epsilon : float > 0
        Entropic regulariser of each Sinkhorn projection.
    G0 : ndarray (n, m) or None
        Starting coupling (None: ``p qᵀ``).
    max_iter : int, default 1000
        Outer iterations.
    tol : float, default 1e-9
        Stop when ‖T − T_prev‖_F < tol (checked every 10 outer iterations, as POT does).
    inner_max_iter, inner_tol
        Of each Sinkhorn solve.

    Returns
    -------
    T : ndarray (n, m) float64
    loss : float
        ``Σ (L ⊗ T) · T``.
    """
    C1, C2 = np.asarray(C1, np.float64), np.asarray(C2, np.float64)
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    constC, hC1, hC2 = square_loss_terms(C1, C2, p, q)
    T = np.outer(p, q) if G0 is None else np.asarray(G0, np.float64)
    err, it = 1.0, 0
    while err > tol and it < max_iter:
        T_prev = T
        grad = 2.0 * gw_tensor(constC, hC1, hC2, T)
        T = sinkhorn_matrix(p, q, grad, epsilon, max_iter=inner_max_iter, tol=inner_tol, method="auto")
        if it % 10 == 0:
            err = float(np.linalg.norm(T - T_prev))
        it += 1
    return T, float((gw_tensor(constC, hC1, hC2, T) * T).sum())


def _zscored_distances(A):
    U = unit_rows(A)
    C = 1.0 - U @ U.T
    off = C[~np.eye(len(C), dtype=bool)]
    return (C - off.mean()) / max(off.std(), 1e-12)


def gw_coupling(Xs, Ys, *, epsilon: float = 0.05, max_iter: int = 50, n_restarts: int = 1, rng=None):
    """Entropic GW coupling between two samples' z-scored cosine-distance matrices.

    Restart 0 starts from the uniform coupling, the others from a random one.

    Parameters
    ----------
    Xs : array (n_x, d_x), Ys : array (n_y, d_y)
        At least 2 rows each.
    epsilon : float > 0, default 0.05
    max_iter : int, default 50
        Outer GW iterations.
    n_restarts : int, default 1
    rng : numpy.random.Generator or None
        For the random starts (None: seed 0).

    Returns
    -------
    coupling : ndarray (n_x, n_y)
        Of the restart with the lowest GW loss.
    loss : float

    Raises
    ------
    ValidationError
        When no restart gives a coupling that keeps its marginals.
    """
    Xs = check_matrix(Xs, "Xs", min_rows=2, allow_torch=False, dtype=np.float64)
    Ys = check_matrix(Ys, "Ys", min_rows=2, allow_torch=False, dtype=np.float64)
    check_reg(epsilon, "epsilon")
    check_positive_int(max_iter, "max_iter")
    check_positive_int(n_restarts, "n_restarts")
    rng = np.random.default_rng(0) if rng is None else rng
    C1, C2 = _zscored_distances(Xs), _zscored_distances(Ys)
    p, q = np.full(len(Xs), 1.0 / len(Xs)), np.full(len(Ys), 1.0 / len(Ys))
    best, best_loss = None, np.inf
    for r in range(n_restarts):
        G0 = None
        if r > 0:
            G0 = sinkhorn_matrix(p, q, rng.random((len(p), len(q))), 0.05, max_iter=200, tol=1e-6, method="kernel")
        G, loss = entropic_gromov_wasserstein(C1, C2, p, q, epsilon=epsilon, G0=G0, max_iter=max_iter, tol=1e-7)
        # a coupling that has lost its marginals (a failed projection) is rejected
        if not np.isfinite(G).all() or not np.allclose(G.sum(1), p, rtol=0.05, atol=0.05 / len(p)):
            continue
        if loss < best_loss:
            best, best_loss = G, loss
    if best is None:
        raise ValidationError(f"Gromov-Wasserstein produced no valid coupling at epsilon={epsilon}; "
                              "increase epsilon")
    return best, best_loss


@register_aligner
class GromovWassersteinAligner(UnsupervisedAligner):
    """Entropic Gromov-Wasserstein on intra-set cosine distances → Procrustes → refinement.

    Parameters
    ----------
    normalize : {"center", "unit-center", "whiten"}, default "unit-center"
    n_sample : int >= 2, default 1500
        Rows of each set in the GW problem.
    epsilon : float > 0, default 0.01
        Entropic regulariser on z-scored distance matrices.
    max_iter : int, default 50
        GW outer iterations.
    n_restarts : int, default 1
        1 = the uniform start; more add random starts, the best GW loss wins.
    n_refine : int >= 0, default 10
        Refinement rounds (``refine_iter=`` is its deprecated name).
    csls_k : int, default 10
    n_candidates : int or None, default 20000
    random_state : int >= 0 or None, default 0
        ``seed=`` is its deprecated name.

    Attributes
    ----------
    history_ : list of dict
        Holds ``gw_loss`` of the chosen restart.
    """

    _parameter_constraints = {
        **COMMON_CONSTRAINTS, "n_sample": [Interval(int, 2, None)], "max_iter": [Interval(int, 1, None)],
        "n_restarts": [Interval(int, 1, None)], "epsilon": [Interval(float, 0, None, closed="neither")],
    }

    def __init__(self, *, normalize: str = "unit-center", n_sample: int = 1500, epsilon: float = 0.01,
                 max_iter: int = 50, n_restarts: int = 1, n_refine: int = 10, csls_k: int = 10,
                 n_candidates: int | None = 20000, random_state: int | None = 0):
        self.normalize = normalize
        self.n_sample = n_sample
        self.epsilon = epsilon
        self.max_iter = max_iter
        self.n_restarts = n_restarts
        self.n_refine = n_refine
        self.csls_k = csls_k
        self.n_candidates = n_candidates
        self.random_state = random_state

    def _init_map(self, Xp, Yp, rng):
        Xs = Xp[sample_rows(len(Xp), self.n_sample, rng)].astype(np.float64)
        Ys = Yp[sample_rows(len(Yp), self.n_sample, rng)].astype(np.float64)
        G, loss = gw_coupling(Xs, Ys, epsilon=self.epsilon, max_iter=self.max_iter,
                              n_restarts=self.n_restarts, rng=rng)
        self.history_.append({"stage": "gromov_wasserstein", "sample": [len(Xs), len(Ys)], "gw_loss": loss})
        return procrustes(Xs, (G / G.sum(1, keepdims=True).clip(1e-300)) @ Ys)
