"""Translation quality: how well translated vectors retrieve their true counterparts.

Row ``i`` of ``pred`` is a translation whose true target is row ``i`` of ``target``; by default the
gallery is all rows of ``target``. The rank of item i is ``1 + #{j : s(i, j) > s(i, i)} + #{j < i :
s(i, j) = s(i, i)}`` (ties count against the item only when the rival has a lower index, the same
rule as :func:`align.search.knn`), so rank 1 means the true target is the nearest neighbour.

Options shared by the functions below:

- ``csls_k``: also rank by cross-domain similarity local scaling (Conneau et al., 2018, arXiv
  1710.04087), ``2 cos(p_i, t_j) − r_T(p_i) − r_P(t_j)``, where ``r_P(t_j)`` is the mean cosine of
  target j to its ``csls_k`` nearest translations (computed over all n translations). ``r_T(p_i)``
  is the same for every candidate of item i, so it does not change i's rank. CSLS demotes hubs.
- ``gallery_size``: rank each item among its true target plus ``gallery_size − 1`` distractors
  drawn at random (seeded, without replacement, per item) from the other targets — the usual way to
  compare results measured on galleries of different sizes. ``None`` (or ≥ n): all n targets.
"""
from __future__ import annotations

import numpy as np
import torch

from ..compute.csls import csls_radius
from .._validate import check_choice, check_matrix, check_paired, check_positive_int
from ..exceptions import ShapeError, ValidationError
from .stats import bootstrap_ci


def _normalise(A):
    return A / np.maximum(np.linalg.norm(A, axis=1, keepdims=True), 1e-12)


def _check_pair(pred, target):
    P = check_matrix(pred, "pred", allow_torch=False)
    T = check_matrix(target, "target", allow_torch=False)
    check_paired(P, T, ("pred", "target"))
    if P.shape[1] != T.shape[1]:
        raise ShapeError(f"pred has {P.shape[1]} columns but target has {T.shape[1]}")
    return P, T


def _check_options(n, csls_k, gallery_size):
    if csls_k is not None:
        csls_k = check_positive_int(csls_k, "csls_k")
    if gallery_size is not None:
        gallery_size = check_positive_int(gallery_size, "gallery_size", minimum=2)
        if gallery_size >= n:
            gallery_size = None
    return csls_k, gallery_size


def csls_column_penalty(pred, target, csls_k: int) -> np.ndarray:
    """``r_P(t_j)``: mean cosine of each target row to its ``csls_k`` nearest pred rows.

    A checked front of :func:`align.compute.csls.csls_radius` (CSLS: Conneau et al., 2018,
    arXiv 1710.04087), the column term of the CSLS score of a (pred → target) ranking.

    Parameters
    ----------
    pred : array-like, shape (n_p, d)
        Translated source rows.
    target : array-like, shape (n_t, d)
        Target rows.
    csls_k : int
        Neighbourhood size (capped at ``n_p``).

    Returns
    -------
    numpy.ndarray, shape (n_t,), float32
        The radius of every target row.

    Raises
    ------
    ShapeError, ValidationError
        For a non-matrix, non-finite input or ``csls_k < 1``.
    """
    P = check_matrix(pred, "pred", allow_torch=False)
    T = check_matrix(target, "target", allow_torch=False)
    return csls_radius(T, P, check_positive_int(csls_k, "csls_k"))


def translation_ranks(pred, target, *, metric: str = "cosine", csls_k: int | None = None,
                      gallery_size: int | None = None, seed: int = 0, memory_mb: int = 128) -> np.ndarray:
    """Rank (1 = best) of each item's true target in its gallery. Returns (n,) int64.

    ``metric``: ``"cosine"``, ``"ip"`` or ``"l2"``; with ``csls_k`` the ranking uses CSLS scores
    (cosine-based, so ``metric`` must be ``"cosine"``). See the module docstring for the options.
    """
    check_choice(metric, "metric", ("cosine", "ip", "l2"))
    P, T = _check_pair(pred, target)
    n = P.shape[0]
    csls_k, gallery_size = _check_options(n, csls_k, gallery_size)
    if csls_k is not None and metric != "cosine":
        raise ValidationError(f"CSLS ranks are defined on cosine similarity; got metric={metric!r}")
    if metric == "cosine":
        P, T = _normalise(P), _normalise(T)
    Pt, Tt = torch.from_numpy(np.ascontiguousarray(P)), torch.from_numpy(np.ascontiguousarray(T))
    bias = None
    if metric == "l2":  # maximise 2 p·t − |t|² ⇔ minimise |p − t|²
        bias = -(Tt * Tt).sum(1)
    elif csls_k is not None:  # rank by 2 cos − r_P(t); r_T(p) is constant within a row
        bias = -torch.from_numpy(csls_column_penalty(P, T, csls_k))
    scale = 1.0 if bias is None else 2.0
    rng = np.random.default_rng(seed)
    width = n if gallery_size is None else 2 * n  # the random keys double the memory per row
    chunk = max(1, memory_mb * (1 << 20) // (4 * 3 * width))
    ranks = np.empty(n, dtype=np.int64)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        rows = torch.arange(a, b)
        S = scale * (Pt[a:b] @ Tt.T)
        if bias is not None:
            S = S + bias
        true = S[torch.arange(b - a), rows].unsqueeze(1)
        cols = torch.arange(n).expand(b - a, n)
        if gallery_size is not None:
            keys = rng.random((b - a, n))
            keys[np.arange(b - a), np.arange(a, b)] = np.inf  # the true target is never a distractor
            pick = torch.from_numpy(np.argpartition(keys, gallery_size - 2, axis=1)[:, :gallery_size - 1])
            S, cols = S.gather(1, pick), pick
        better = (S > true).sum(1) + ((S == true) & (cols < rows.unsqueeze(1))).sum(1)
        ranks[a:b] = (better + 1).numpy()
    return ranks


def translation_items(pred, target, *, metric: str = "cosine", csls_k: int | None = None,
                      gallery_size: int | None = None, seed: int = 0) -> dict:
    """Per-item results: ``{"rank", "foscttm", "cosine"[, "csls_rank"]}``, each of shape (n,).

    ``rank`` (int64) is the rank of each item's true target in its gallery; ``foscttm`` (float64) is
    the fraction of the other gallery members closer to the translation than its true target,
    ``(rank − 1) / (gallery − 1)`` (FOSCTTM, Liu et al., 2019, "Jointly embedding multiple
    single-cell omics measurements"; 0 = perfect, 0.5 = random; reported by Rosetta, Schnaus et al.
    2026); ``cosine`` is the cosine of each translation to its own target. Feed these to
    :func:`summarize_items`, :func:`translation_ci` or :func:`align.metrics.paired_permutation_test`.
    """
    P, T = _check_pair(pred, target)
    _, gallery = _check_options(P.shape[0], csls_k, gallery_size)
    items = {"rank": translation_ranks(P, T, metric=metric, gallery_size=gallery_size, seed=seed)}
    g = P.shape[0] if gallery is None else gallery
    items["foscttm"] = (items["rank"] - 1) / max(g - 1, 1)
    if csls_k is not None:
        items["csls_rank"] = translation_ranks(P, T, metric=metric, csls_k=csls_k, gallery_size=gallery_size,
                                               seed=seed)
    Pn, Tn = _normalise(P.astype(np.float64)), _normalise(T.astype(np.float64))
    items["cosine"] = (Pn * Tn).sum(1)
    return items


def _check_ks(ks):
    ks = tuple(ks)
    if not ks or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 for k in ks):
        raise ValidationError(f"ks must be positive integers; got {ks!r}")
    return ks


def summarize_items(items: dict, ks=(1, 5, 10)) -> dict:
    """Aggregate per-item results (see :func:`translation_items`) into the scores dict."""
    ks = _check_ks(ks)
    out = {}
    for prefix, key in (("", "rank"), ("csls_", "csls_rank")):
        if key not in items:
            continue
        r = np.asarray(items[key])
        out.update({f"{prefix}top{k}": float((r <= k).mean()) for k in ks})
        out.update({f"{prefix}mean_rank": float(r.mean()), f"{prefix}median_rank": float(np.median(r)),
                    f"{prefix}mrr": float((1.0 / r).mean())})
    if "foscttm" in items:
        out["foscttm"] = float(np.mean(items["foscttm"]))
    out["mean_cosine"] = float(np.mean(items["cosine"]))
    out["n"] = int(len(items["rank"]))
    return out


def translation_scores(pred, target, ks=(1, 5, 10), *, metric: str = "cosine", csls_k: int | None = None,
                       gallery_size: int | None = None, seed: int = 0, return_items: bool = False):
    """Retrieval and similarity scores of translated vectors against their true targets.

    Args:
        pred: (n, d) translated vectors; target: (n, d) true targets, row-paired with ``pred``.
        ks: cut-offs for top-k accuracy. csls_k, gallery_size, seed: see the module docstring.
        return_items: also return the per-item results of :func:`translation_items`.
    Returns:
        dict with ``top{k}`` (fraction of items whose target ranks ≤ k), ``mean_rank``,
        ``median_rank``, ``mrr`` (mean reciprocal rank), ``foscttm`` (see :func:`translation_items`), ``mean_cosine`` (cosine of each pred to its
        own target, averaged), ``n`` (number of items) and ``gallery_size`` (candidates per item);
        with ``csls_k`` also ``csls_top{k}``, ``csls_mean_rank``, ``csls_median_rank``, ``csls_mrr``.
        With ``return_items``: ``(scores, items)``.
    """
    ks = _check_ks(ks)
    P, T = _check_pair(pred, target)
    _, gallery = _check_options(P.shape[0], csls_k, gallery_size)
    items = translation_items(P, T, metric=metric, csls_k=csls_k, gallery_size=gallery_size, seed=seed)
    out = summarize_items(items, ks)
    out["gallery_size"] = P.shape[0] if gallery is None else gallery
    return (out, items) if return_items else out


def translation_ci(items: dict, ks=(1, 5, 10), *, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> dict:
    """Bootstrap CIs over items for every score of :func:`summarize_items`.

    Returns ``{metric: {"value", "low", "high"}}`` (percentile bootstrap, ``level`` coverage).
    """
    ks = _check_ks(ks)
    out = {}
    for prefix, key in (("", "rank"), ("csls_", "csls_rank")):
        if key not in items:
            continue
        r = np.asarray(items[key], dtype=np.float64)
        series = {**{f"{prefix}top{k}": (r <= k).astype(np.float64) for k in ks},
                  f"{prefix}mean_rank": r, f"{prefix}mrr": 1.0 / r}
        for name, values in series.items():
            out[name] = _ci(values, np.mean, n_boot, level, seed)
        out[f"{prefix}median_rank"] = _ci(r, np.median, n_boot, level, seed)
    if "foscttm" in items:
        out["foscttm"] = _ci(np.asarray(items["foscttm"], np.float64), np.mean, n_boot, level, seed)
    out["mean_cosine"] = _ci(np.asarray(items["cosine"], np.float64), np.mean, n_boot, level, seed)
    return out


def _ci(values, statistic, n_boot, level, seed):
    ci = bootstrap_ci(values, statistic=statistic, n_boot=n_boot, level=level, seed=seed)
    return {"value": ci["value"], "low": ci["low"], "high": ci["high"]}
