"""Shared machinery of the unsupervised aligners: preprocessing, seed pairs, refinement, criteria.

Every aligner here learns an orthogonal (or semi-orthogonal) ``W`` between *preprocessed* spaces:

    x̃ = pre(X) = (unit?(X) − μ_x) A_x    (A_x: identity, or a whitening matrix)
    transform(X) = x̃ W B_y + μ_y          (B_y: de-whitening / rescaling into Y's raw space)

``normalize`` chooses ``pre``: ``"center"`` (subtract the mean; A_x = I, B_y = the RMS-norm ratio),
``"unit-center"`` (unit rows, then centre: VecMap's normalisation, Artetxe et al. 2018, arXiv
1805.06297), ``"whiten"`` (centre and whiten both sets, so only a rotation remains between them when
the true relation is any invertible linear map; B_y = C_y^{1/2}).
"""
from __future__ import annotations

import time

import numpy as np

from .._params import Interval, StrOptions
from ..base import BaseAligner
from ..exceptions import ShapeError, ValidationError
from ..supervised.procrustes import procrustes
from .dictionary import check_pairs
from .refine import refine_map
from .selection import label_free_criteria, unit_rows as _unit

NORMALIZE = ("center", "unit-center", "whiten")
#: Constraints of the parameters every :class:`UnsupervisedAligner` has.
COMMON_CONSTRAINTS = {
    "normalize": [StrOptions(set(NORMALIZE))], "n_refine": [Interval(int, 0, None)],
    "csls_k": [Interval(int, 1, None)], "n_candidates": [None, Interval(int, 1, None)],
    "random_state": ["random_state"],
}


def fit_preprocess(A: np.ndarray, normalize: str, eps: float = 1e-3):
    """Learn the preprocessing of one set.

    Parameters
    ----------
    A : ndarray (n, d) float32
    normalize : {"center", "unit-center", "whiten"}
    eps : float, default 1e-3
        Eigenvalue floor of whitening, relative to the largest.

    Returns
    -------
    mean : ndarray (d,)
    pre : ndarray (d, d)
        Maps into the aligned space.
    post : ndarray (d, d)
        Maps back to the raw space.
    """
    A = A.astype(np.float64)
    if normalize == "unit-center":
        A = _unit(A)
    mean = A.mean(0)
    Ac = A - mean
    d = A.shape[1]
    if normalize == "whiten":
        cov = Ac.T @ Ac / max(len(Ac) - 1, 1)
        vals, vecs = np.linalg.eigh(cov)
        vals = np.maximum(vals, eps * max(vals.max(), 1e-12))
        pre = (vecs / np.sqrt(vals)) @ vecs.T
        post = (vecs * np.sqrt(vals)) @ vecs.T
        return mean, pre, post
    rms = float(np.sqrt((Ac ** 2).sum(1).mean())) or 1.0
    return mean, np.eye(d) / rms, np.eye(d) * rms


def apply_preprocess(A, normalize: str, mean, pre) -> np.ndarray:
    """``(unit?(A) − mean) @ pre`` as float32.

    Parameters
    ----------
    A : array (n, d)
    normalize : str
    mean, pre : ndarray
        From :func:`fit_preprocess`.

    Returns
    -------
    ndarray (n, d) float32
    """
    A = A.astype(np.float64)
    if normalize == "unit-center":
        A = _unit(A)
    return ((A - mean) @ pre).astype(np.float32)


class UnsupervisedAligner(BaseAligner):
    """Base of the aligners in this package: ``fit(X, Y, seed_pairs=None)`` with unpaired rows.

    Subclasses implement ``_init_map(Xp, Yp, rng) -> W0 (d_x, d_y)`` (the structure-only start),
    may override ``_improve(Xp, Yp, W, rng)`` (a stage between init and refinement) and
    ``_check_data(X, Y)`` (checks that need the data), and extend :data:`COMMON_CONSTRAINTS` (the
    parameters ``normalize``, ``n_refine``, ``csls_k``, ``n_candidates``, ``random_state``).
    ``seed_pairs`` (m, 2) of known (row of X, row of Y) replace the unsupervised init: W0 is
    Procrustes on them and the refinement always keeps them.

    Attributes
    ----------
    W_ : ndarray (d_x, d_y)
    mean_x_, pre_x_, mean_y_, post_y_ : ndarray
        Preprocessing (module docstring).
    dictionary_ : ndarray (m, 2) int64
        The last refinement dictionary.
    history_ : list of dict
    criterion_ : dict
        Label-free criteria, higher = better.
    fit_seconds_ : float
    """

    supervised = False
    _array_attrs = ("W_", "mean_x_", "pre_x_", "mean_y_", "post_y_", "dictionary_")
    _json_attrs = ("n_features_in_", "n_features_out_", "history_", "criterion_", "fit_seconds_")

    def fit(self, X, Y, seed_pairs=None):
        """Fit on unpaired X (n_x, d_x) and Y (n_y, d_y); ``seed_pairs`` (m, 2) optional; returns self."""
        t0 = time.perf_counter()
        self._validate_params()
        X, Y = self._check_fit_inputs(X, Y)
        self._check_data(X, Y)
        seed = None if seed_pairs is None else check_pairs(seed_pairs, X.shape[0], Y.shape[0])
        rng = np.random.default_rng(self.random_state)
        mx, pre_x, _ = fit_preprocess(X, self.normalize)
        my_p, pre_y, post_y = fit_preprocess(Y, self.normalize)
        Xp = apply_preprocess(X, self.normalize, mx, pre_x)
        Yp = apply_preprocess(Y, self.normalize, my_p, pre_y)
        self.history_ = []
        if seed is not None:
            W = procrustes(Xp[seed[:, 0]], Yp[seed[:, 1]])
            self.history_.append({"stage": "seed_pairs", "n_pairs": int(len(seed))})
        else:
            W = self._init_map(Xp, Yp, rng)
            W = self._improve(Xp, Yp, W, rng)
        pairs = np.zeros((0, 2), np.int64)
        if self.n_refine:
            W, pairs, hist, _ = refine_map(Xp, Yp, W, n_iter=self.n_refine, csls_k=self.csls_k,
                                           n_candidates=self._candidates(), seed_pairs=seed,
                                           stochastic=float(getattr(self, "stochastic", 1.0)))
            self.history_ += [{"stage": "refine", **h} for h in hist]
        self.W_ = np.asarray(W, np.float64)
        self.mean_x_, self.pre_x_ = mx, pre_x
        # output = x̃ W post_y + μ_y, where μ_y is Y's raw mean (unit-center: mean of unit rows, rescaled)
        raw_mean = Y.astype(np.float64).mean(0)
        self.mean_y_, self.post_y_ = raw_mean, post_y
        self.dictionary_ = pairs
        self.n_features_in_, self.n_features_out_ = X.shape[1], Y.shape[1]
        self.criterion_ = self._criteria(Xp, Yp, rng)
        self.fit_seconds_ = round(time.perf_counter() - t0, 3)
        return self

    def _criteria(self, Xp, Yp, rng):
        return label_free_criteria(Xp @ self.W_, Yp, seed=int(rng.integers(2 ** 31)))

    def _candidates(self):
        return getattr(self, "n_candidates", None)

    def _check_data(self, X, Y):
        pass

    def _improve(self, Xp, Yp, W, rng):
        return W

    def _init_map(self, Xp, Yp, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def preprocess_x(self, X) -> np.ndarray:
        """X (m, d_x) → x̃ (m, d_x) in the aligned (preprocessed) space."""
        X = self._check_transform_input(X)
        return apply_preprocess(X, self.normalize, self.mean_x_, self.pre_x_)

    def transform(self, X) -> np.ndarray:
        """(m, d_x) → (m, d_y) float32 in Y's raw space."""
        Xp = self.preprocess_x(X)
        return (Xp.astype(np.float64) @ self.W_ @ self.post_y_ + self.mean_y_).astype(np.float32)


def sample_rows(n: int, m: int, rng) -> np.ndarray:
    """Sorted random sample of min(n, m) of the indices 0..n−1.

    Parameters
    ----------
    n, m : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray (min(n, m),) int
    """
    return np.sort(rng.choice(n, size=min(n, m), replace=False))


def check_fraction(value, name):
    """``value`` as a float in (0, 1].

    Parameters
    ----------
    value : float
    name : str
        For the message.

    Raises
    ------
    ValidationError
    """
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 1:
        raise ValidationError(f"{name} must be a number in (0, 1]; got {value!r}")
    return float(value)


def check_dims(X, Y):
    """Raise ShapeError unless X and Y have at least one column each.

    Parameters
    ----------
    X, Y : ndarray (n, d)
    """
    if X.shape[1] < 1 or Y.shape[1] < 1:
        raise ShapeError("X and Y need at least one column")
