"""Orthogonal Procrustes translator."""
from __future__ import annotations

import numpy as np

from ..base import BaseAligner, register_aligner
from .linear import check_affine_state


def procrustes(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Solve ``min_W ||X W − Y||_F`` over W with orthonormal rows/columns (Schönemann, 1966).

    W = U Vᵀ from the thin SVD of ``Xᵀ Y``. When d_x ≠ d_y, W is semi-orthogonal (``WᵀW = I`` if
    d_x ≥ d_y, else ``W Wᵀ = I``), i.e. an isometry into or a projection onto the smaller space.

    Parameters
    ----------
    X : ndarray (n, d_x)
    Y : ndarray (n, d_y)
        Paired rows.

    Returns
    -------
    ndarray (d_x, d_y) float64
    """
    U, _, Vt = np.linalg.svd(X.T.astype(np.float64) @ Y.astype(np.float64), full_matrices=False)
    return U @ Vt


@register_aligner
class ProcrustesTranslator(BaseAligner):
    """Translate by an orthogonal (or semi-orthogonal) map fitted on paired rows.

    ``transform(X) = s · (X − μ_X) W + μ_Y``. Works with any n ≥ 1 pairs and any d_x, d_y; with
    d_x ≠ d_y it maps onto the best min(d_x, d_y)-dimensional subspace.

    Parameters
    ----------
    center : bool, default True
        Subtract the column means first (μ = 0 otherwise).
    scale : bool, default False
        Fit a global scale ``s = trace(Σ) / ||X − μ_X||²`` (else ``s = 1``).
    random_state : None or int >= 0, default None
        Not used: the fit is closed-form and deterministic. Accepted so that every estimator takes
        ``random_state`` (scikit-learn's convention).

    Attributes
    ----------
    W_ : ndarray (d_x, d_y) float64
    mean_x_, mean_y_ : ndarray float64
    scale_ : float
    """

    _array_attrs = ("W_", "mean_x_", "mean_y_")
    _json_attrs = ("n_features_in_", "n_features_out_", "scale_")
    _parameter_constraints = {"center": ["boolean"], "scale": ["boolean"], "random_state": ["random_state"]}

    def __init__(self, *, center: bool = True, scale: bool = False, random_state: int | None = None):
        self.center = center
        self.scale = scale
        self.random_state = random_state

    def fit(self, X, Y):
        """Fit on paired rows X (n, d_x), Y (n, d_y); returns self."""
        self._validate_params()
        X, Y = self._check_fit_inputs(X, Y)
        mx = X.mean(0) if self.center else np.zeros(X.shape[1], np.float32)
        my = Y.mean(0) if self.center else np.zeros(Y.shape[1], np.float32)
        Xc, Yc = X - mx, Y - my
        W = procrustes(Xc, Yc)
        s = 1.0
        if self.scale:
            denom = float((Xc.astype(np.float64) ** 2).sum())
            s = float(np.trace(W.T @ Xc.T.astype(np.float64) @ Yc)) / denom if denom > 0 else 1.0
        self.W_, self.mean_x_, self.mean_y_, self.scale_ = W, mx.astype(np.float64), my.astype(np.float64), s
        self.n_features_in_, self.n_features_out_ = X.shape[1], Y.shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        """(m, d_x) → (m, d_y) float32."""
        X = self._check_transform_input(X)
        return (self.scale_ * (X - self.mean_x_) @ self.W_ + self.mean_y_).astype(np.float32)

    def affine(self):
        """``(A, b)`` with ``transform(X) = X A + b``: A (d_x, d_y), b (d_y,) float64."""
        self._check_fitted()
        A = self.scale_ * self.W_
        return A, self.mean_y_ - self.mean_x_ @ A

    def _restore_extra(self, arrays: dict) -> None:
        check_affine_state(self)

    def inverse_transform(self, Y) -> np.ndarray:
        """(m, d_y) → (m, d_x) float32 (exact inverse when W is square)."""
        Y = self._check_transform_input(Y, "Y", side="out")
        return ((Y - self.mean_y_) @ self.W_.T / self.scale_ + self.mean_x_).astype(np.float32)
