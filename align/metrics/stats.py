"""Statistics over per-item results: bootstrap confidence intervals and paired permutation tests."""
from __future__ import annotations

import warnings

import numpy as np
from tqdm.auto import tqdm

from .._validate import check_positive_int
from ..exceptions import ShapeError, ValidationError
from .registry import metric_name
from .similarity_scorers import get_scorer


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


# --------------------------------------------------------------------------- similarity statistics
def _summary(values: np.ndarray) -> dict:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return {"mean": float("nan"), "std": float("nan")}
    q = np.quantile(v, [0.05, 0.5, 0.95, 0.99])
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0, "min": float(v.min()),
            "q05": float(q[0]), "q50": float(q[1]), "q95": float(q[2]), "q99": float(q[3]), "max": float(v.max())}


def _exceed(null: np.ndarray, observed) -> np.ndarray:
    """``null >= observed`` with a relative slack for rounding; NaN counts as exceeding (conservative)."""
    obs = np.asarray(observed, dtype=np.float64)
    tol = 1e-12 * np.maximum(1.0, np.abs(obs))
    return (null >= obs - tol) | ~np.isfinite(null)


def _check_level(level):
    if not 0 < level < 1:
        raise ValidationError(f"level must be in (0, 1); got {level}")


def paired_similarity(metric, sets_a, sets_b=None, *, pairs=None, n_permutations: int = 0, n_boot: int = 0,
                      seed: int = 0, metric_kwargs: dict | None = None, scheme: str = "auto",
                      boot_indices=None, show_progress: bool = False) -> dict:
    """Engine behind the similarity statistics: one metric on many pairs of representations.

    Args:
        metric: a name in :data:`align.metrics.SIMILARITY` or a callable ``(X, Y, **params) -> float``.
        sets_a, sets_b: lists of (n, d_i) matrices with the same n rows, paired across all of them
            (``sets_b`` defaults to ``sets_a``).
        pairs: list of ``(i, j)`` = (index into sets_a, index into sets_b); default every (i, j).
        n_permutations: rounds of the permutation null. Round r draws ONE permutation of the rows and
            applies it to the b side of every pair, so the nulls of different pairs are jointly valid
            (needed for a maximum over pairs).
        n_boot: bootstrap rounds. Round b draws ONE multiset of rows, shared by all pairs.
            A resample repeats rows, and two copies of one item are perfect neighbours and perfectly
            similar in both spaces, so a metric recomputed naively on ``(X[idx], Y[idx])`` is
            inflated. ``scheme="items"`` (mutual_knn, cycle_knn: means over rows) resamples the
            per-row contributions with the neighbour lists fixed; ``"rows"`` scores the resampled
            rows jointly in X and Y, without the pairs of two copies of one item for cka,
            unbiased_cka and rsa (closed forms, see :mod:`align.metrics.similarity_scorers`) and by
            plain recomputation otherwise (cknna: biased upward, a warning says so). ``"auto"``
            picks ``items`` where it exists, else ``rows``.
        show_progress: tqdm bars (stderr) over the permutation and bootstrap rounds.
        boot_indices: optional (B, n) int array of resamples to use instead of drawing ``n_boot``
            (so several metrics, or a metric and another per-item quantity, share the same resamples).
    Returns:
        ``{"metric", "pairs", "values" (P,), "null" (R, P) or None, "boot" (B, P) or None, "scheme"}``.
    """
    n_permutations = check_positive_int(n_permutations, "n_permutations", minimum=0)
    n_boot = check_positive_int(n_boot, "n_boot", minimum=0)
    if scheme not in ("auto", "rows", "items"):
        raise ValidationError(f"scheme must be 'auto', 'rows' or 'items'; got {scheme!r}")
    scorer = get_scorer(metric, **(metric_kwargs or {}))
    same = sets_b is None
    sa = [scorer.prepare(X, f"sets_a[{i}]") for i, X in enumerate(_as_list(sets_a, "sets_a"))]
    sb = sa if same else [scorer.prepare(X, f"sets_b[{j}]") for j, X in enumerate(_as_list(sets_b, "sets_b"))]
    for s in sa[1:] + sb:
        scorer.check_pair(sa[0], s)
    n = scorer.n_rows(sa[0])
    pairs = [(i, j) for i in range(len(sa)) for j in range(len(sb))] if pairs is None else [tuple(p) for p in pairs]
    for i, j in pairs:
        if not (0 <= i < len(sa) and 0 <= j < len(sb)):
            raise ValidationError(f"pair {(i, j)} is out of range for {len(sa)} x {len(sb)} sets")
    values = np.array([scorer.score(sa[i], sb[j]) for i, j in pairs])
    rng = np.random.default_rng(seed)
    null = None
    if n_permutations:
        null = np.empty((n_permutations, len(pairs)))
        for r in tqdm(range(n_permutations), desc=f"{scorer.name} permutations", unit="perm",
                      disable=not show_progress, leave=False):
            perm = rng.permutation(n)
            null[r] = [scorer.score(sa[i], sb[j], perm) for i, j in pairs]
    if boot_indices is not None:
        boot_indices = np.asarray(boot_indices)
        if boot_indices.ndim != 2 or boot_indices.shape[1] != n or not np.issubdtype(boot_indices.dtype, np.integer):
            raise ShapeError(f"boot_indices must be an integer array (B, {n}); got {boot_indices.shape}")
        if boot_indices.size and (boot_indices.min() < 0 or boot_indices.max() >= n):
            raise ValidationError(f"boot_indices must lie in [0, {n})")
        n_boot = boot_indices.shape[0]
    boot = None
    if n_boot:
        rows = {p: scorer.rows(sa[p[0]], sb[p[1]]) for p in pairs} if scheme in ("auto", "items") else {}
        items = bool(rows) and all(v is not None for v in rows.values())
        if scheme == "items" and not items:
            raise ValidationError(f"{scorer.name} is not a mean over rows; use scheme='rows'")
        scheme = "items" if items else "rows"
        if scheme == "rows" and scorer.name in ("cknna",):
            warnings.warn("bootstrap of cknna by row resampling: duplicated rows become mutual neighbours, "
                          "so the resampled values are biased upward; read the interval with care", stacklevel=3)
        boot = np.empty((n_boot, len(pairs)))
        for b in tqdm(range(n_boot), desc=f"{scorer.name} bootstrap", unit="resample", disable=not show_progress,
                      leave=False):
            idx = rng.integers(0, n, size=n) if boot_indices is None else boot_indices[b]
            if items:
                boot[b] = [rows[p][idx].mean() for p in pairs]
                continue
            used_a = sorted({p[0] for p in pairs} | ({p[1] for p in pairs} if same else set()))
            ra = {i: scorer.resample(sa[i], idx) for i in used_a}
            rb = ra if same else {j: scorer.resample(sb[j], idx) for j in sorted({p[1] for p in pairs})}
            boot[b] = [scorer.score(ra[i], rb[j]) for i, j in pairs]
    elif scheme == "auto":
        scheme = "rows"
    return {"metric": scorer.name, "params": scorer.params, "pairs": pairs, "values": values, "null": null,
            "boot": boot, "scheme": scheme, "n": n}


def _as_list(sets, name):
    if isinstance(sets, np.ndarray) or not hasattr(sets, "__len__") or len(sets) == 0:
        raise ValidationError(f"{name} must be a non-empty list of matrices")
    return [np.asarray(s.vectors) if hasattr(s, "vectors") else s for s in sets]


def permutation_test(metric, X, Y, *, n_permutations: int = 1000, seed: int = 0,
                     metric_kwargs: dict | None = None, return_null: bool = False, show_progress: bool = False) -> dict:
    """Is ``metric(X, Y)`` larger than for a random pairing of the rows? (one-sided permutation test)

    The null shuffles the pairing (``Y[perm]``) ``n_permutations`` times; the p-value counts the
    observed value among the permuted ones, ``(1 + #{null >= observed}) / (1 + n_permutations)``, so
    it is never 0 and is exactly valid (super-uniform) when rows are exchangeable.

    Args: metric: name in SIMILARITY or callable; X: (n, d_x); Y: (n, d_y); metric_kwargs e.g. ``{"k": 10}``.
    Returns: ``{"metric", "value", "p_value", "n_permutations", "null": {mean, std, min, q05, q50, q95,
        q99, max}, "z"}`` (+ ``"null_values"`` when ``return_null``). ``z`` = (value - null mean) / null std.
    """
    n_permutations = check_positive_int(n_permutations, "n_permutations")
    res = paired_similarity(metric, [X], [Y], pairs=[(0, 0)], n_permutations=n_permutations, seed=seed,
                            metric_kwargs=metric_kwargs, show_progress=show_progress)
    value, null = float(res["values"][0]), res["null"][:, 0]
    if not np.isfinite(value):
        raise ValidationError(f"{res['metric']} is not finite on these inputs ({value})")
    out = {"metric": res["metric"], "value": value,
           "p_value": (1 + int(_exceed(null, value).sum())) / (1 + n_permutations),
           "n_permutations": n_permutations, "null": _summary(null), "z": _z(value, null)}
    if return_null:
        out["null_values"] = null
    return out


def _z(value, null):
    sd = float(np.nanstd(null, ddof=1)) if np.isfinite(null).sum() > 1 else 0.0
    return float((value - np.nanmean(null)) / sd) if sd > 0 else float("nan")


def bootstrap_metric(metric, X, Y, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0,
                     metric_kwargs: dict | None = None, scheme: str = "auto", show_progress: bool = False) -> dict:
    """Percentile bootstrap CI of ``metric(X, Y)`` over items (rows resampled jointly in X and Y).

    ``scheme`` as in :func:`paired_similarity`: for mutual_knn / cycle_knn the default resamples the
    per-row contributions (neighbour lists fixed); cka, unbiased_cka and rsa score the resample
    without the pairs formed by two copies of one item; other metrics are recomputed on
    ``(X[idx], Y[idx])`` (for cknna that is biased upward: copies are mutual neighbours).
    Returns ``{"metric", "value", "low", "high", "level", "n_boot", "scheme", "se"}``.
    """
    n_boot = check_positive_int(n_boot, "n_boot")
    _check_level(level)
    res = paired_similarity(metric, [X], [Y], pairs=[(0, 0)], n_boot=n_boot, seed=seed,
                            metric_kwargs=metric_kwargs, scheme=scheme, show_progress=show_progress)
    return {"metric": res["metric"], "value": float(res["values"][0]), **ci_from_boot(res["boot"][:, 0], level),
            "scheme": res["scheme"]}


def ci_from_boot(boot: np.ndarray, level: float = 0.95) -> dict:
    """Percentile interval and standard error of bootstrap values (NaNs ignored)."""
    b = boot[np.isfinite(boot)]
    alpha = (1 - level) / 2
    return {"low": float(np.quantile(b, alpha)), "high": float(np.quantile(b, 1 - alpha)), "level": level,
            "n_boot": int(boot.shape[0]), "se": float(b.std(ddof=1)) if b.size > 1 else 0.0}


def layer_grid_test(metric, layers_a, layers_b, *, n_permutations: int = 1000, seed: int = 0,
                    metric_kwargs: dict | None = None) -> dict:
    """Best layer pair of two models, with a permutation null for the *maximum* over the grid.

    Picking the best of many (layer_a, layer_b) pairs is not a free win: the maximum of many null
    values is larger than one null value. Each permutation round applies the same row permutation to
    every B layer, recomputes the whole grid and keeps its maximum; the p-value of the observed
    maximum is ``(1 + #{round max >= observed max}) / (1 + n_permutations)`` (family-wise valid).

    Args:
        layers_a: list of (n, d_i) matrices (e.g. every hidden state of model A), layers_b likewise;
            all with the same paired rows. metric / metric_kwargs as in :func:`permutation_test`.
    Returns:
        ``{"metric", "grid" (len_a x len_b list), "argmax" (i, j), "max", "p_value" (max-null),
        "p_values" (per-cell, uncorrected), "null_max": summary, "null_cell": summary of all cells'
        null values, "n_permutations"}``.
    """
    n_permutations = check_positive_int(n_permutations, "n_permutations")
    res = paired_similarity(metric, layers_a, layers_b, n_permutations=n_permutations, seed=seed,
                            metric_kwargs=metric_kwargs)
    la, lb = len(layers_a), len(layers_b)
    grid = res["values"].reshape(la, lb)
    null = res["null"]
    finite = np.where(np.isfinite(grid), grid, -np.inf)
    i, j = np.unravel_index(int(np.argmax(finite)), grid.shape)
    best = float(grid[i, j])
    null_max = np.nanmax(np.where(np.isfinite(null), null, np.nan), axis=1)
    cells = (1 + _exceed(null, res["values"][None, :]).sum(0)) / (1 + n_permutations)
    return {"metric": res["metric"], "grid": grid.tolist(), "argmax": (int(i), int(j)), "max": best,
            "p_value": (1 + int(_exceed(null_max, best).sum())) / (1 + n_permutations),
            "p_values": cells.reshape(la, lb).tolist(), "null_max": _summary(null_max),
            "null_cell": _summary(null.ravel()), "n_permutations": n_permutations}


def similarity_matrix(metric, sets, *, n_permutations: int = 0, n_boot: int = 0, level: float = 0.95,
                      seed: int = 0, metric_kwargs: dict | None = None, symmetric: bool | None = None,
                      boot_indices=None) -> dict:
    """``metric`` between every pair of ``sets`` (m matrices with the same paired rows), with
    per-pair permutation p-values and bootstrap CIs (one shared permutation / resample per round).

    ``symmetric`` (default: True except for cycle_knn and cknna) computes i < j and mirrors it.
    Returns ``{"metric", "values", "p_values", "low", "high", "null_mean", "null_q95"}`` as m x m
    lists (diagonal: metric of a set with itself, p-value None) plus ``"boot"``: (B, m, m) array or None.
    """
    _check_level(level)
    m = len(_as_list(sets, "sets"))
    name = metric_name(metric)
    if symmetric is None:
        symmetric = name not in ("cycle_knn", "cknna")
    pairs = [(i, j) for i in range(m) for j in range(m) if (i < j if symmetric else i != j)]
    res = paired_similarity(metric, sets, pairs=pairs, n_permutations=n_permutations, n_boot=n_boot, seed=seed,
                            metric_kwargs=metric_kwargs, boot_indices=boot_indices)
    n_boot = 0 if res["boot"] is None else res["boot"].shape[0]
    nan = np.full((m, m), np.nan)
    out = {k: nan.copy() for k in ("values", "p_values", "low", "high", "null_mean", "null_q95")}
    diag = paired_similarity(metric, sets, pairs=[(i, i) for i in range(m)], metric_kwargs=metric_kwargs)
    np.fill_diagonal(out["values"], diag["values"])  # a set with itself: no null, no interval
    boot = None if res["boot"] is None else np.full((res["boot"].shape[0], m, m), np.nan)
    for t, (i, j) in enumerate(pairs):
        cells = [(i, j), (j, i)] if symmetric else [(i, j)]
        for a, b in cells:
            out["values"][a, b] = res["values"][t]
            if res["null"] is not None and i != j:
                col = res["null"][:, t]
                out["p_values"][a, b] = (1 + int(_exceed(col, res["values"][t]).sum())) / (1 + n_permutations)
                out["null_mean"][a, b] = float(np.nanmean(col))
                out["null_q95"][a, b] = float(np.nanquantile(col, 0.95))
            if boot is not None:
                ci = ci_from_boot(res["boot"][:, t], level)
                out["low"][a, b], out["high"][a, b] = ci["low"], ci["high"]
                boot[:, a, b] = res["boot"][:, t]
    result = {k: [[None if not np.isfinite(v) else float(v) for v in row] for row in arr] for k, arr in out.items()}
    return {"metric": res["metric"], "params": res["params"], **result, "boot": boot, "scheme": res["scheme"],
            "n": res["n"], "n_permutations": n_permutations, "n_boot": n_boot, "level": level}
