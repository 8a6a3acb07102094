"""Statistics over per-item results: bootstrap confidence intervals and paired permutation tests."""
from __future__ import annotations

import numpy as np

from .._validate import check_positive_int
from ..exceptions import ShapeError, ValidationError


def _check_values(values, name="values") -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1:
        raise ShapeError(f"{name} must be 1-D per-item values; got shape {v.shape}")
    if v.size == 0:
        raise ValidationError(f"{name} is empty")
    if not np.isfinite(v).all():
        raise ValidationError(f"{name} contains NaN or inf")
    return v


def bootstrap_ci(values, *, statistic=np.mean, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> dict:
    """Percentile bootstrap CI of ``statistic`` over items (Efron & Tibshirani, 1993).

    Args:
        values: (n,) per-item values, e.g. 0/1 top-1 hits or ranks.
        statistic: reduces a resampled vector (or a (n_boot, n) matrix along axis 1 when it accepts
            ``axis``) to a number; default the mean.
    Returns:
        ``{"value", "low", "high", "level", "n_boot"}``.
    """
    v = _check_values(values)
    n_boot = check_positive_int(n_boot, "n_boot")
    if not 0 < level < 1:
        raise ValidationError(f"level must be in (0, 1); got {level}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, v.size, size=(n_boot, v.size))
    try:
        boots = np.asarray(statistic(v[idx], axis=1), dtype=np.float64)
    except TypeError:
        boots = np.array([statistic(v[i]) for i in idx], dtype=np.float64)
    alpha = (1 - level) / 2
    return {"value": float(statistic(v)), "low": float(np.quantile(boots, alpha)),
            "high": float(np.quantile(boots, 1 - alpha)), "level": level, "n_boot": n_boot}


def paired_permutation_test(a, b, *, n_permutations: int = 10000, seed: int = 0) -> dict:
    """Two-sided paired permutation (sign-flip) test of ``mean(a − b) = 0``.

    ``a`` and ``b`` are per-item results of two methods on the same items (e.g. top-1 hits). Under
    the null the sign of each difference is exchangeable. The p-value counts the observed statistic
    among the permuted ones: ``(1 + #{|perm| ≥ |obs|}) / (1 + n_permutations)``.
    Returns ``{"diff", "p_value", "n_permutations"}``.
    """
    a, b = _check_values(a, "a"), _check_values(b, "b")
    if a.shape != b.shape:
        raise ShapeError(f"a and b must have the same length; got {a.size} and {b.size}")
    n_permutations = check_positive_int(n_permutations, "n_permutations")
    d = a - b
    obs = d.mean()
    rng = np.random.default_rng(seed)
    count = 0
    for start in range(0, n_permutations, 1000):
        m = min(1000, n_permutations - start)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(m, d.size))
        count += int((np.abs((signs * d).mean(1)) >= abs(obs) - 1e-12).sum())
    return {"diff": float(obs), "p_value": (1 + count) / (1 + n_permutations), "n_permutations": n_permutations}
