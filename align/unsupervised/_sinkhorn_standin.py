"""TEMPORARY stand-in for ``align.compute.sinkhorn_matrix`` (being added by another change); the
lead swaps the imports in :mod:`align.unsupervised.wasserstein` and :mod:`align.unsupervised.gromov`
for the real function when merging, then deletes this file.

Entropic OT on a given cost matrix, like POT's ``ot.sinkhorn(a, b, M, reg)`` (Cuturi, 2013,
arXiv 1306.0895), on align's own Sinkhorn engine (:mod:`align._sinkhorn`), never on POT.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .. import _sinkhorn as S
from .._validate import check_choice

METHODS = ("auto", "kernel", "log")


def _kernel(a, b, M, reg, max_iter, tol):
    """POT's ``sinkhorn_knopp`` iterates (u = 1/n, v = 1/m start; column violation every 10
    iterations); returns the plan, or None when a scaling stops being finite (underflow)."""
    K = np.exp(M / -reg)
    u, v = np.full(len(a), 1.0 / len(a)), np.full(len(b), 1.0 / len(b))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for it in range(max_iter):
            Ktu = K.T @ u
            v = b / Ktu
            u = a / (K @ v)
            if not (np.isfinite(u).all() and np.isfinite(v).all()) or (Ktu == 0).any():
                return None
            if it % 10 == 0 and np.linalg.norm(v * (K.T @ u) - b) < tol:
                break
    return u[:, None] * K * v[None, :]


def _log(a, b, M, reg, max_iter, tol):
    """Log-domain iterates of :func:`align._sinkhorn.log_iterations` on a stored cost."""
    ops = S.StoredCost(torch.from_numpy(np.array(M, np.float64)), reg)  # holds −M/reg
    with np.errstate(divide="ignore"):
        loga, logb = torch.from_numpy(np.log(a)), torch.from_numpy(np.log(b))
    u, v, _, _ = S.log_iterations(ops, loga, logb, max_iter, tol, 10)
    return torch.exp(ops.M + u[:, None] + v[None, :]).numpy()


def sinkhorn_matrix(a, b, M, reg, *, max_iter: int = 1000, tol: float = 1e-9, method: str = "auto") -> np.ndarray:
    """Entropic OT plan (n, m) float64 between histograms a (n,), b (m,) for the cost M (n, m).

    Parameters
    ----------
    a, b : array (n,), (m,)
        Non-negative weights with equal sums.
    M : array (n, m)
        Cost matrix.
    reg : float > 0
        Entropic regulariser ε.
    max_iter : int, default 1000
    tol : float, default 1e-9
        Stop when the column-marginal violation ‖P·1ᵀ − b‖₂ < tol (checked every 10 iterations).
    method : {"auto", "kernel", "log"}, default "auto"
        ``"kernel"``: POT's kernel-domain iterates; ``"log"``: log domain (never underflows);
        ``"auto"``: kernel, falling back to the log domain when the kernel underflows.

    Returns
    -------
    ndarray (n, m) float64
    """
    check_choice(method, "method", METHODS)
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    M = np.asarray(M, np.float64)
    reg = float(reg)
    if not math.isfinite(reg) or reg <= 0:
        raise ValueError(f"reg must be > 0; got {reg}")
    if method != "log":
        P = _kernel(a, b, M, reg, max_iter, tol)
        if P is not None:
            return P
    return _log(a, b, M, reg, max_iter, tol)
