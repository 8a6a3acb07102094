"""Global similarity of two representations (Gram-matrix methods): linear CKA (biased and
unbiased HSIC), SVCCA and RSA.

Definitions follow the Platonic Representation Hypothesis reference implementation (Huh et al., 2024,
arXiv 2405.07987), so values are comparable with published ones, but every quantity is computed in
feature space (d x d Gram matrices, float64, accumulated over row blocks), never as an n x n kernel:

- ``HSIC(K, L) = trace(K H L H)`` with ``K = X X^T``, ``L = Y Y^T``, ``H = I - 11^T/n`` and no
  ``1/(n-1)^2`` factor, which equals ``||Xc^T Yc||_F^2`` with column-centred ``Xc, Yc``.
- The unbiased HSIC of Song et al. (2012, JMLR 13, eq. 5) on the kernels with zeroed diagonals.
  That estimator is unchanged when ``K_ij`` becomes ``K_ij + a_i + a_j + c`` (off the diagonal), so
  centring the columns of X first (the same kind of change) leaves it exact; with centred columns
  ``1^T K~ 1 = -sum(a)`` and ``K~ 1 = -a`` where ``a_i = ||xc_i||^2``, so every term is O(n d^2).
- CKA divides by ``sqrt(HSIC(K,K) HSIC(L,L)) + 1e-6``.
"""
from __future__ import annotations

import numpy as np

from .._validate import check_positive_int
from ..exceptions import ValidationError
from .similarity_base import CHUNK_ROWS, centred_grams, centred_sq_norms, check_pair

EPS = 1e-6


def _cka_ratio(hxy: float, hxx: float, hyy: float) -> float:
    prod = hxx * hyy
    if prod < 0:  # only the unbiased estimator can go negative (tiny n); the ratio is then undefined
        return float("nan")
    return float(hxy / (np.sqrt(prod) + EPS))


def cka(X, Y) -> float:
    """Linear centred kernel alignment with the biased HSIC (Kornblith et al., 2019, arXiv 1905.00414).

    Args:
        X: (n, d_x) and Y: (n, d_y) paired rows, float32 or float64 (computed in float64).
    Returns:
        ``||Xc^T Yc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F + 1e-6)``; 1 for identical inputs and any
        orthogonal map or isotropic scaling of one side. Constant columns contribute nothing.
    Cost: O(n (d_x + d_y)^2) time, O((d_x + d_y)^2) memory beyond the inputs.
    """
    X, Y = check_pair(X, Y)
    gxx, gyy, gxy, _, _ = centred_grams(X, Y)
    return _cka_ratio(_sq(gxy), _sq(gxx), _sq(gyy))


def _sq(G) -> float:
    return float(np.einsum("ij,ij->", G, G))


def unbiased_hsic_terms(G_xy: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased HSIC from centred quantities: ``G_xy = Xc^T Yc``, ``a_i = ||xc_i||^2``, ``b_i = ||yc_i||^2``."""
    n = a.shape[0]
    ab = float(a @ b)
    value = _sq(G_xy) - ab + a.sum() * b.sum() / ((n - 1) * (n - 2)) - 2.0 * ab / (n - 2)
    return value / (n * (n - 3))


def unbiased_cka(X, Y) -> float:
    """CKA with the unbiased HSIC estimator of Song et al. (2012), linear kernels, zeroed diagonals.

    Args:
        X: (n, d_x), Y: (n, d_y) paired rows, n >= 4.
    Returns:
        ``HSIC_u(K, L) / (sqrt(HSIC_u(K, K) HSIC_u(L, L)) + 1e-6)``; NaN in the rare case where the
        product under the root is negative (possible only for tiny, degenerate n).
    Equal to the n x n formula (see module docstring) without ever forming an n x n matrix.
    """
    X, Y = check_pair(X, Y, min_rows=4)
    gxx, gyy, gxy, mx, my = centred_grams(X, Y)
    a, b = centred_sq_norms(X, mx), centred_sq_norms(Y, my)
    return _cka_ratio(unbiased_hsic_terms(gxy, a, b), unbiased_hsic_terms(gxx, a, a),
                      unbiased_hsic_terms(gyy, b, b))


# --------------------------------------------------------------------------- SVCCA
def _top_subspace(G: np.ndarray, scale: np.ndarray, dim: int, name: str):
    """Top-``dim`` eigenpairs of the standardised Gram ``D^-1 G D^-1`` (exact, ``numpy.linalg.eigh``)."""
    C = G / np.outer(scale, scale)
    w, V = np.linalg.eigh(C)
    w, V = w[::-1][:dim], V[:, ::-1][:, :dim]
    if not w[-1] > 1e-10 * max(w[0], 1e-300):
        rank = int((w > 1e-10 * max(w[0], 1e-300)).sum())
        raise ValidationError(f"svcca: {name} has (numerical) rank {rank} after standardisation, "
                              f"fewer than dim = {dim}; lower dim")
    return w, V


def svcca(X, Y, dim: int = 10) -> float:
    """Singular-vector CCA (Raghu et al., 2017, arXiv 1706.05806) with an exact decomposition.

    Each side is standardised per column (mean 0, ``std`` with ddof = 1, divided by ``std + 1e-8``
    so a constant column becomes 0); its top-``dim`` left singular vectors ``U`` (n x dim) are taken
    exactly (eigendecomposition of the d x d standardised Gram in float64, not a randomised SVD); the
    score is the mean canonical correlation between ``U1`` and ``U2``, i.e. the mean singular value
    of ``U1^T U2`` (their columns are orthonormal and centred).

    Args:
        X: (n, d_x), Y: (n, d_y); dim: 1 <= dim <= min(d_x, d_y, n - 1), and each side must have at
            least ``dim`` non-degenerate directions (else ValidationError).
    Returns: a value in [0, 1].
    """
    X, Y = check_pair(X, Y)
    n = X.shape[0]
    dim = check_positive_int(dim, "dim")
    if dim > min(X.shape[1], Y.shape[1], n - 1):
        raise ValidationError(f"svcca dim = {dim} must be <= min(d_x, d_y, n - 1) = "
                              f"{min(X.shape[1], Y.shape[1], n - 1)}")
    gxx, gyy, gxy, _, _ = centred_grams(X, Y)
    sx = np.sqrt(np.diag(gxx) / (n - 1)) + 1e-8
    sy = np.sqrt(np.diag(gyy) / (n - 1)) + 1e-8
    wx, Vx = _top_subspace(gxx, sx, dim, "X")
    wy, Vy = _top_subspace(gyy, sy, dim, "Y")
    # U1^T U2 = Lx^-1/2 Vx^T (Xs^T Ys) Vy Ly^-1/2 with Xs^T Ys = Dx^-1 Gxy Dy^-1
    M = (Vx / np.sqrt(wx)).T @ (gxy / np.outer(sx, sy)) @ (Vy / np.sqrt(wy))
    s = np.linalg.svd(M, compute_uv=False)
    return float(np.clip(s, 0.0, 1.0).mean())


# --------------------------------------------------------------------------- RSA
def _unit_rows(X: np.ndarray, name: str) -> np.ndarray:
    norms = np.sqrt(centred_sq_norms(X, np.zeros(X.shape[1])))
    if not (norms > 0).all():
        raise ValidationError(f"rsa: {name} has an all-zero row (row {int(np.argmin(norms))}); "
                              "its cosine similarity is undefined")
    return np.asarray(X, np.float64) / norms[:, None]


def _pair_cosines(U: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    out = np.empty(i.shape[0])
    for s in range(0, i.shape[0], CHUNK_ROWS * 8):
        e = s + CHUNK_ROWS * 8
        out[s:e] = np.einsum("ij,ij->i", U[i[s:e]], U[j[s:e]])
    return out


def rsa_pairs(n: int, max_pairs: int, seed: int = 0):
    """Pairs ``(i, j)``, ``i < j``, that :func:`rsa` compares: all of them when ``n(n-1)/2 <=
    max_pairs``, else ``max_pairs`` pairs drawn uniformly with replacement (seeded)."""
    total = n * (n - 1) // 2
    if total <= max_pairs:
        return np.triu_indices(n, 1)
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, size=max_pairs)
    j = rng.integers(0, n - 1, size=max_pairs)
    j = j + (j >= i)  # uniform over j != i
    return np.minimum(i, j), np.maximum(i, j)


def rsa(X, Y, *, max_pairs: int = 2_000_000, seed: int = 0) -> float:
    """Representational similarity analysis (Kriegeskorte et al., 2008, doi:10.3389/neuro.06.004.2008).

    Spearman correlation (average ranks for ties) between the strict upper triangles of the two
    cosine-similarity matrices ``cos(x_i, x_j)`` and ``cos(y_i, y_j)``, computed in float64.

    Exact when the n(n-1)/2 pairs fit in ``max_pairs`` (default 2,000,000, i.e. n <= 2,000: about
    100 MB). Beyond that it is an explicit estimate: the Spearman correlation over ``max_pairs`` pairs
    drawn uniformly with replacement (seed ``seed``) — a consistent estimator of the full value with
    sampling error of order ``1/sqrt(max_pairs)``; memory stays O(max_pairs + n d).

    Raises ValidationError for an all-zero row (cosine undefined) or when all similarities on one
    side are equal (the correlation is undefined).
    """
    from scipy.stats import rankdata  # lazy: scipy.stats takes ~1 s to import (keeps `align --help` fast)
    X, Y = check_pair(X, Y, min_rows=3)
    max_pairs = check_positive_int(max_pairs, "max_pairs", minimum=2)
    Ux, Uy = _unit_rows(X, "X"), _unit_rows(Y, "Y")
    i, j = rsa_pairs(X.shape[0], max_pairs, seed)
    rx = rankdata(_pair_cosines(Ux, i, j))
    ry = rankdata(_pair_cosines(Uy, i, j))
    rx -= rx.mean()
    ry -= ry.mean()
    den = np.sqrt((rx @ rx) * (ry @ ry))
    if den == 0:
        raise ValidationError("rsa: all pairwise similarities of X or of Y are equal; the rank correlation "
                              "is undefined")
    return float((rx @ ry) / den)


__all__ = ["cka", "unbiased_cka", "svcca", "rsa", "unbiased_hsic_terms", "rsa_pairs"]
