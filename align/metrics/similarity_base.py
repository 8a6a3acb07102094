"""Input checks and small numeric helpers shared by the representation-similarity metrics.

Every metric takes two matrices with *paired rows* (row i of X and row i of Y describe the same
item) and any column counts. Inputs are used as given: no normalisation or centring here.
"""
from __future__ import annotations

import numpy as np

from .._validate import check_matrix, check_paired, check_positive_int
from ..exceptions import ShapeError, ValidationError

CHUNK_ROWS = 8192  # row block of the feature-space accumulations (8192 x 768 float64 = 48 MB)


def _dtype_of(x):
    return np.float64 if str(getattr(x, "dtype", "")).endswith("float64") else np.float32


SAFE_SCALE = (2.0 ** -20, 2.0 ** 40)  # max |x| outside this range is rescaled (see as_matrix)


def as_matrix(x, name: str = "X", *, min_rows: int = 2) -> np.ndarray:
    """A finite 2-D NumPy matrix; float64 stays float64, anything else becomes float32.

    Torch tensors are moved to the CPU. Raises ShapeError / ValidationError with the reason; a
    matrix whose rows are all identical is rejected because no similarity is defined on it.
    Every metric here is invariant to a global scaling of one side, so a matrix whose largest
    magnitude lies outside :data:`SAFE_SCALE` (where float32 products overflow or underflow, e.g.
    ``X * 1e20``) is divided by the power of two nearest its largest magnitude: exact, and the
    values of ordinary inputs are left untouched.
    """
    X = check_matrix(x, name, min_rows=min_rows, allow_torch=False, dtype=_dtype_of(x))
    if X.shape[0] > 1 and not np.any(X != X[:1]):
        raise ValidationError(f"{name} has {X.shape[0]} identical rows (no variation between items); "
                              "similarity is undefined")
    top = float(np.abs(X).max())
    if not SAFE_SCALE[0] <= top <= SAFE_SCALE[1]:
        X = X * X.dtype.type(2.0 ** -round(np.log2(top)))
    return X


def check_pair(X, Y, *, min_rows: int = 2):
    """Validate paired inputs: both finite 2-D matrices with the same number of rows."""
    X = as_matrix(X, "X", min_rows=min_rows)
    Y = as_matrix(Y, "Y", min_rows=min_rows)
    check_paired(X, Y)
    return X, Y


def check_k(k, n: int, *, minimum: int = 1, name: str = "k") -> int:
    """``k`` neighbours per row need ``minimum <= k <= n - 1`` (a row is never its own neighbour)."""
    k = check_positive_int(k, name, minimum=minimum)
    if k > n - 1:
        raise ValidationError(f"{name} = {k} neighbours need at least {k + 1} rows (a row excludes itself); "
                              f"got n = {n}")
    return k


def column_means(X: np.ndarray) -> np.ndarray:
    """Column means of X in float64, shape (d,)."""
    return np.asarray(X.mean(axis=0, dtype=np.float64), dtype=np.float64)


def centred_blocks(X: np.ndarray, mean: np.ndarray, rows: int | None = None):
    """Yield ``(start, float64 block of X - mean)`` so a float32 input is never copied whole."""
    rows = rows or CHUNK_ROWS
    for s in range(0, X.shape[0], rows):
        yield s, np.asarray(X[s:s + rows], np.float64) - mean


def _gemm_dtype(*arrays):
    """float32 inputs multiply in float32 (twice BLAS's float64 speed; each block sums at most
    CHUNK_ROWS products, about 1e-5 relative error); blocks are centred in float64 first and the
    block products are summed in float64. float64 inputs stay float64 throughout."""
    return np.float64 if any(a.dtype == np.float64 for a in arrays) else np.float32


def centred_gram(X: np.ndarray, Y: np.ndarray | None = None, mx=None, my=None) -> np.ndarray:
    """``Xc.T @ Yc`` (or ``Xc.T @ Xc`` when Y is None) from column-centred row blocks; float64 result."""
    mx = column_means(X) if mx is None else mx
    if Y is None:
        dt = _gemm_dtype(X)
        out = np.zeros((X.shape[1], X.shape[1]), dtype=np.float64)
        for _, a in centred_blocks(X, mx):
            a = a.astype(dt, copy=False)
            out += a.T @ a
        return out
    my = column_means(Y) if my is None else my
    dt = _gemm_dtype(X, Y)
    out = np.zeros((X.shape[1], Y.shape[1]), dtype=np.float64)
    for s, a in centred_blocks(X, mx):
        b = np.asarray(Y[s:s + a.shape[0]], np.float64) - my
        out += a.astype(dt, copy=False).T @ b.astype(dt, copy=False)
    return out


def centred_grams(X: np.ndarray, Y: np.ndarray):
    """One pass over the rows: ``(Xc.T Xc, Yc.T Yc, Xc.T Yc, mx, my)``, float64 results."""
    mx, my = column_means(X), column_means(Y)
    dt = _gemm_dtype(X, Y)
    gxx = np.zeros((X.shape[1], X.shape[1]))
    gyy = np.zeros((Y.shape[1], Y.shape[1]))
    gxy = np.zeros((X.shape[1], Y.shape[1]))
    for s, a in centred_blocks(X, mx):
        b = (np.asarray(Y[s:s + a.shape[0]], np.float64) - my).astype(dt, copy=False)
        a = a.astype(dt, copy=False)
        gxx += a.T @ a
        gyy += b.T @ b
        gxy += a.T @ b
    return gxx, gyy, gxy, mx, my


def centred_sq_norms(X: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``||x_i - mean||^2`` for every row, float64, shape (n,)."""
    out = np.empty(X.shape[0], dtype=np.float64)
    for s, a in centred_blocks(X, mean):
        out[s:s + a.shape[0]] = np.einsum("ij,ij->i", a, a)
    return out


def check_same_rows(n_x: int, n_y: int):
    """Check that two row counts match (paired rows).

    Parameters
    ----------
    n_x, n_y : int
        Row counts of X and Y.

    Raises
    ------
    ShapeError
        If they differ.
    """
    if n_x != n_y:
        raise ShapeError(f"X and Y must have the same number of rows (paired); got {n_x} and {n_y}")
