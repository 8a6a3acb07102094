"""Ridge / least-squares translator with a built-in leave-one-out choice of the penalty."""
from __future__ import annotations

import numpy as np

from .._params import Check, Interval, StrOptions
from ..base import BaseAligner, register_aligner
from ..exceptions import CorruptFileError, ValidationError

#: Default penalty grid for ``alpha="auto"``, relative to the mean squared singular value of the
#: centred X (so the grid is scale-free): 1e-6 … 1e2.
ALPHA_GRID = tuple(float(a) for a in np.logspace(-6, 2, 17))


def _svd(Xc: np.ndarray):
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    keep = s > s[0] * 1e-10 if s.size and s[0] > 0 else np.zeros(s.shape, bool)
    return U[:, keep], s[keep], Vt[keep]


def ridge_loo_errors(U, s, UtY, Yc, alphas, *, intercept: bool = True) -> np.ndarray:
    """Exact leave-one-out squared error of ridge for each penalty, from one thin SVD.

    With ``Xc = U diag(s) Vᵀ`` (X centred) the hat matrix of ridge with an unpenalised intercept is
    ``H = 11ᵀ/n + U diag(s²/(s²+α)) Uᵀ`` and the LOO residual of row i is ``r_i / (1 − H_ii)``
    (Golub, Heath & Wahba, 1979, Technometrics 21(2); Rifkin & Lippert, 2007,
    MIT-CSAIL-TR-2007-025) — exact, intercept refitted without row i included.

    Parameters
    ----------
    U : ndarray (n, r)
    s : ndarray (r,)
    UtY : ndarray (r, d_y)
    Yc : ndarray (n, d_y)
        Centred targets.
    alphas : sequence of float
        Absolute penalties.
    intercept : bool, default True
        Whether the model has an (unpenalised) intercept.

    Returns
    -------
    ndarray (len(alphas),) float64
        Mean over rows of the squared LOO error summed over outputs.
    """
    errs = np.empty(len(alphas))
    s2 = s * s
    U2 = U * U
    for i, a in enumerate(alphas):
        f = s2 / (s2 + a)
        resid = Yc - U @ (f[:, None] * UtY)
        h = U2 @ f + (1.0 / Yc.shape[0] if intercept else 0.0)
        denom = np.maximum(1.0 - h, 1e-12)
        errs[i] = float(((resid / denom[:, None]) ** 2).sum() / Yc.shape[0])
    return errs


def _positive_grid(alphas) -> bool:
    try:
        grid = np.asarray(alphas, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return False
    return bool(grid.size and np.isfinite(grid).all() and (grid > 0).all())


@register_aligner
class LinearTranslator(BaseAligner):
    """Affine map ``Y ≈ (X − μ_X) W + μ_Y`` by ridge regression (closed form, one SVD).

    Any n ≥ 1, any d_x, d_y. With n ≤ 2 there is nothing to cross-validate and ``"auto"`` uses the
    relative penalty 1.

    Parameters
    ----------
    alpha : float or "auto", default "auto"
        Ridge penalty ``λ`` in ``min ||Xc W − Yc||² + λ ||W||²``; ``0`` gives minimum-norm least
        squares; ``"auto"`` picks λ from ``alphas`` by exact leave-one-out error, computed for the
        whole grid from the same SVD (Hoerl & Kennard, 1970).
    alphas : sequence of float or None, default None
        The grid for ``"auto"``, relative to ``mean(s²)`` of the centred X (scale-free); None:
        :data:`ALPHA_GRID`.
    center : bool, default True
        Fit an intercept through the column means.
    random_state : None or int >= 0, default None
        Not used: the fit is closed-form and deterministic. Accepted so that every estimator takes
        ``random_state`` (scikit-learn's convention).

    Attributes
    ----------
    W_ : ndarray (d_x, d_y) float64
    mean_x_, mean_y_ : ndarray
    alpha_ : float
        The absolute λ used.
    loo_errors_ : list of float or None
        Leave-one-out error per grid point (``"auto"`` only).
    """

    _array_attrs = ("W_", "mean_x_", "mean_y_")
    _json_attrs = ("n_features_in_", "n_features_out_", "alpha_", "loo_errors_")
    _parameter_constraints = {
        "alpha": [StrOptions({"auto"}), Interval(float, 0, None)],
        "alphas": [None, Check(_positive_grid, "a non-empty list of positive numbers")],
        "center": ["boolean"], "random_state": ["random_state"],
    }

    def __init__(self, *, alpha="auto", alphas=None, center: bool = True, random_state: int | None = None):
        self.alpha = alpha
        self.alphas = alphas
        self.center = center
        self.random_state = random_state

    def fit(self, X, Y):
        """Fit on paired rows.

        Parameters
        ----------
        X : array (n, d_x)
        Y : array (n, d_y)
            Row i of Y is the translation of row i of X.

        Returns
        -------
        self
        """
        self._validate_params()
        grid = None
        if isinstance(self.alpha, str):
            grid = np.asarray(ALPHA_GRID if self.alphas is None else self.alphas, dtype=np.float64).ravel()
        X, Y = self._check_fit_inputs(X, Y)
        X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
        mx = X64.mean(0) if self.center else np.zeros(X.shape[1])
        my = Y64.mean(0) if self.center else np.zeros(Y.shape[1])
        Xc, Yc = X64 - mx, Y64 - my
        U, s, Vt = _svd(Xc)
        UtY = U.T @ Yc
        scale = float((s * s).mean()) if s.size else 1.0
        self.loo_errors_ = None
        if grid is None:
            alpha = float(self.alpha)
        elif X.shape[0] <= 2 or s.size == 0:
            alpha = scale
        else:
            errs = ridge_loo_errors(U, s, UtY, Yc, grid * scale, intercept=self.center)
            alpha = float(grid[int(np.argmin(errs))] * scale)
            self.loo_errors_ = errs.tolist()
        with np.errstate(divide="ignore", invalid="ignore"):
            coef = s / (s * s + alpha) if alpha > 0 else 1.0 / s
        self.W_ = Vt.T @ (coef[:, None] * UtY) if s.size else np.zeros((X.shape[1], Y.shape[1]))
        self.mean_x_, self.mean_y_, self.alpha_ = mx, my, alpha
        self.n_features_in_, self.n_features_out_ = X.shape[1], Y.shape[1]
        return self

    def transform(self, X) -> np.ndarray:
        """(m, d_x) → (m, d_y) float32."""
        X = self._check_transform_input(X)
        return ((X - self.mean_x_) @ self.W_ + self.mean_y_).astype(np.float32)

    def affine(self):
        """``(A, b)`` with ``transform(X) = X A + b``: A (d_x, d_y), b (d_y,) float64."""
        self._check_fitted()
        return self.W_, self.mean_y_ - self.mean_x_ @ self.W_

    def _restore_extra(self, arrays: dict) -> None:
        check_affine_state(self)


def check_affine_state(obj) -> None:
    """Check a loaded affine state: ``W_`` (d_in, d_out), ``mean_x_`` (d_in,), ``mean_y_`` (d_out,).

    Parameters
    ----------
    obj : BaseAligner
        A loaded aligner with ``n_features_in_``, ``n_features_out_`` and the three arrays.

    Raises
    ------
    CorruptFileError
        When the arrays do not agree with the saved dimensions (weights saved for other dimensions).
    """
    try:
        d_in, d_out = int(obj.n_features_in_), int(obj.n_features_out_)
    except (AttributeError, TypeError, ValueError):
        raise CorruptFileError(f"saved {type(obj).__name__} lacks valid n_features_in_/n_features_out_") from None
    for name, shape in (("W_", (d_in, d_out)), ("mean_x_", (d_in,)), ("mean_y_", (d_out,))):
        got = tuple(np.shape(getattr(obj, name)))
        if got != shape:
            raise CorruptFileError(f"saved {type(obj).__name__}: {name} has shape {got} but a {d_in} → {d_out} "
                                   f"map needs {shape}; the weights were saved for other dimensions")


def affine_approximation(aligner, X=None):
    """An affine map ``(A, b)`` (``x ↦ x A + b``) equal to, or fitted to, a fitted aligner.

    Uses the aligner's own ``affine()`` when it has one (Linear, Procrustes); otherwise reads a
    linear state ``W_`` (+ ``mean_x_``, ``mean_y_``, ``scale_``); otherwise fits least squares to
    ``aligner.transform(X)``. This lets any aligner, including a nonlinear or unsupervised one,
    initialise another translator.

    Parameters
    ----------
    aligner : BaseAligner
        A fitted aligner.
    X : array (n, d_x) or None
        Rows to fit on; needed only when the aligner exposes no linear map.

    Returns
    -------
    A : ndarray (d_x, d_y) float64
    b : ndarray (d_y,) float64

    Raises
    ------
    ValidationError
        When a fit is needed and ``X`` is None.
    """
    if hasattr(aligner, "affine"):
        A, b = aligner.affine()
        return np.asarray(A, np.float64), np.asarray(b, np.float64)
    if all(hasattr(aligner, a) for a in ("W_", "mean_x_", "mean_y_")):
        A = float(getattr(aligner, "scale_", 1.0)) * np.asarray(aligner.W_, np.float64)
        return A, np.asarray(aligner.mean_y_, np.float64) - np.asarray(aligner.mean_x_, np.float64) @ A
    if X is None:
        raise ValidationError(f"{type(aligner).__name__} exposes no linear map; pass the rows X to fit one")
    X = np.asarray(X, np.float64)
    fitted = LinearTranslator(alpha=1e-8 * max(float((X - X.mean(0)).var()), 1e-12) * X.shape[0]).fit(
        X, aligner.transform(X))
    return fitted.affine()
