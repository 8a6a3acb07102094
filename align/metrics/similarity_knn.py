"""Neighbourhood similarity: mutual kNN, cycle kNN and CKNNA (Huh et al., 2024, arXiv 2405.07987).

Neighbours are by inner product on the inputs as given (normalise first, e.g. with
:func:`align.metrics.prepare_features`, for cosine neighbours). Row i excludes *itself by position*:
an identical duplicate row at another position is still a neighbour. Ties are broken towards the
lower index (the rule of :func:`align.search.knn`). Neighbour lists come from
:func:`self_neighbours`, which never holds more than one score tile; everything after it is O(n k).
"""
from __future__ import annotations

import numpy as np

from ..compute import knn
from .selfknn import self_knn
from .similarity_base import as_matrix, check_k, check_pair
from .similarity_global import unbiased_cka

PAIR_CHUNK = 1 << 14  # pairs per block when gathering rows for kernel values


def self_neighbours(X, k: int, *, backend: str = "auto", memory_mb: int = 256) -> np.ndarray:
    """Top-``k`` rows of ``X`` by inner product for every row, excluding the row itself by position.

    Args:
        X: (n, d) float32 or float64; k: 1 <= k <= n - 1.
        backend: ``"auto"``: float64 input → exact float64 torch tiles; float32 → faiss when
            installed (the BLAS roof), else torch. ``"screen"``: the exact bf16-screened symmetric
            search of :mod:`align.metrics.selfknn` (certified against float64 scores). Any other
            backend name of :func:`align.search.knn` forces that search.
    Returns:
        (n, k) int64 indices, best first; ties go to the lower index.
    """
    X = as_matrix(X, "X")
    k = check_k(k, X.shape[0])
    if backend == "screen":
        return self_knn(X, k, memory_mb=memory_mb)
    if backend == "auto" and X.dtype == np.float64:
        backend = "torch"
    _, I = knn(X, X, k, metric="ip", exclude_self=True, backend=backend, memory_mb=memory_mb)
    return np.asarray(I, dtype=np.int64)


def permute_neighbours(I: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Neighbour lists of ``Y[perm]`` from those of ``Y`` (exact up to the order of tied scores)."""
    inv = np.empty_like(perm)
    inv[perm] = np.arange(perm.shape[0])
    return inv[I[perm]]


def mutual_knn_rows(IX: np.ndarray, IY: np.ndarray) -> np.ndarray:
    """Per-row ``|N_k^X(i) ∩ N_k^Y(i)| / k`` from two (n, k) neighbour lists; float64 (n,)."""
    n, k = IX.shape
    out = np.empty(n, dtype=np.float64)
    step = max(1, (1 << 22) // (k * k))
    for s in range(0, n, step):
        a, b = IX[s:s + step], IY[s:s + step]
        out[s:s + step] = (a[:, :, None] == b[:, None, :]).sum(axis=(1, 2)) / k
    return out


def cycle_knn_rows(IX: np.ndarray, IY: np.ndarray) -> np.ndarray:
    """Per-row 1.0 when some Y-neighbour j of i has i among its X-neighbours, else 0.0."""
    n, k = IX.shape
    out = np.empty(n, dtype=np.float64)
    step = max(1, (1 << 22) // (k * k))
    for s in range(0, n, step):
        back = IX[IY[s:s + step]]  # (rows, k, k): X-neighbours of each Y-neighbour
        rows = np.arange(s, s + back.shape[0])[:, None, None]
        out[s:s + step] = (back == rows).any(axis=(1, 2))
    return out


def mutual_knn(X, Y, k: int = 10) -> float:
    """Mutual k-nearest-neighbour alignment: mean over rows of ``|N_k^X(i) ∩ N_k^Y(i)| / k``.

    Args:
        X: (n, d_x), Y: (n, d_y) paired rows; k: 1 <= k <= n - 1.
    Returns: a value in [0, 1]; about k / (n - 1) for unrelated representations.
    Time: two exact self-kNN searches, O(n^2 (d_x + d_y)); memory O(n k) plus one score tile.
    """
    X, Y = check_pair(X, Y)
    k = check_k(k, X.shape[0])
    return float(mutual_knn_rows(self_neighbours(X, k), self_neighbours(Y, k)).mean())


def cycle_knn(X, Y, k: int = 10) -> float:
    """Cycle kNN: fraction of rows i such that some Y-neighbour of i has i among its X-neighbours.

    Not symmetric: ``cycle_knn(X, Y) != cycle_knn(Y, X)`` in general. X: (n, d_x), Y: (n, d_y).
    """
    X, Y = check_pair(X, Y)
    k = check_k(k, X.shape[0])
    return float(cycle_knn_rows(self_neighbours(X, k), self_neighbours(Y, k)).mean())


# --------------------------------------------------------------------------- CKNNA
def _pair_products(X: np.ndarray, r: np.ndarray, c: np.ndarray) -> np.ndarray:
    out = np.empty(r.shape[0], dtype=np.float64)
    for s in range(0, r.shape[0], PAIR_CHUNK):
        e = s + PAIR_CHUNK
        out[s:e] = np.einsum("ij,ij->i", X[r[s:e]].astype(np.float64), X[c[s:e]].astype(np.float64))
    return out


def masked_unbiased_hsic(r: np.ndarray, c: np.ndarray, A: np.ndarray, B: np.ndarray, n: int) -> float:
    """Unbiased HSIC (Song et al., 2012, eq. 5) of two sparse n x n matrices on the same support.

    ``A[r[t], c[t]] = A[t]`` and likewise B; every other entry and the diagonal are 0. Keeps the term
    order of ``hsic_unbiased(A, B)``: ``sum(A * B^T) + sum(A) sum(B) / ((n-1)(n-2))
    - 2 sum(A @ B) / (n-2)``, all over ``n (n-3)``; A and B need not be symmetric.
    """
    key = r * n + c
    order = np.argsort(key)
    skey = key[order]
    tkey = c * n + r  # position of (c, r), the transposed entry
    pos = np.minimum(np.searchsorted(skey, tkey), max(skey.shape[0] - 1, 0))
    hit = skey[pos] == tkey if skey.shape[0] else np.zeros(0, bool)
    trace_ab = float((A[hit] * B[order[pos[hit]]]).sum())
    col_a = np.bincount(c, weights=A, minlength=n)
    row_b = np.bincount(r, weights=B, minlength=n)
    value = trace_ab + A.sum() * B.sum() / ((n - 1) * (n - 2)) - 2.0 * float(col_a @ row_b) / (n - 2)
    return value / (n * (n - 3))


def _mask_pairs(IA: np.ndarray, IB: np.ndarray):
    """Entries (i, j) with j in both neighbour lists of row i (the product of the two top-k masks)."""
    n, k = IA.shape
    keep = np.empty((n, k), dtype=bool)
    step = max(1, (1 << 22) // (k * k))
    for s in range(0, n, step):
        keep[s:s + step] = (IA[s:s + step, :, None] == IB[s:s + step, None, :]).any(axis=2)
    r = np.repeat(np.arange(n), k)[keep.ravel()]
    return r, IA.ravel()[keep.ravel()]


def cknna_from_neighbours(X: np.ndarray, Y: np.ndarray, IX: np.ndarray, IY: np.ndarray) -> float:
    """CKNNA given the two (n, k) neighbour lists (see :func:`cknna`)."""
    n = X.shape[0]

    def sim(A, B, IA, IB):
        r, c = _mask_pairs(IA, IB)
        return masked_unbiased_hsic(r, c, _pair_products(A, r, c), _pair_products(B, r, c), n)

    kl, kk, ll = sim(X, Y, IX, IY), sim(X, X, IX, IX), sim(Y, Y, IY, IY)
    prod = kk * ll
    if prod < 0:
        return float("nan")
    return float(kl / (np.sqrt(prod) + 1e-6))


def cknna(X, Y, k: int | None = 10) -> float:
    """Centered kernel nearest-neighbour alignment (Huh et al., 2024, arXiv 2405.07987).

    ``K = X X^T`` and ``L = Y Y^T`` are masked to the pairs (i, j), j != i, where j is among the
    top-k of row i in *both* kernels; the score is ``HSIC_u(mask*K, mask*L)`` over
    ``sqrt(HSIC_u(mask_K*K, mask_K*K) HSIC_u(mask_L*L, mask_L*L)) + 1e-6`` with the unbiased HSIC of
    Song et al. (2012). The masked matrices are not symmetric and the estimator's term order is kept
    (first matrix from X), so ``cknna(X, Y) != cknna(Y, X)`` in general.

    Args:
        X: (n, d_x), Y: (n, d_y) paired rows, n >= 4.
        k: 2 <= k <= n - 1; ``None`` means n - 1, where the masks keep every off-diagonal pair and
            the value equals :func:`unbiased_cka` (computed that way, in feature space).
    Returns: the score; NaN when the normalising product is negative (degenerate inputs).
    Cost: two self-kNN searches plus O(n k (k + d)); no n x n matrix.
    """
    X, Y = check_pair(X, Y, min_rows=4)
    n = X.shape[0]
    if k is None:
        k = n - 1
    k = check_k(k, n, minimum=2)
    if k == n - 1:
        return unbiased_cka(X, Y)
    return cknna_from_neighbours(X, Y, self_neighbours(X, k), self_neighbours(Y, k))


__all__ = ["self_neighbours", "mutual_knn", "cycle_knn", "cknna", "mutual_knn_rows", "cycle_knn_rows",
           "permute_neighbours", "masked_unbiased_hsic", "cknna_from_neighbours"]
