"""Translation quality: how well translated vectors retrieve their true counterparts.

Row ``i`` of ``pred`` is a translation whose true target is row ``i`` of ``target``; the gallery is
all rows of ``target``. The rank of item i is ``1 + #{j : s(i, j) > s(i, i)} + #{j < i : s(i, j) =
s(i, i)}`` (ties count against the item only when the rival has a lower index, the same rule as
:func:`align.search.knn`), so rank 1 means the true target is the nearest neighbour.
"""
from __future__ import annotations

import numpy as np
import torch

from .._validate import check_choice, check_matrix, check_paired
from ..exceptions import ShapeError, ValidationError


def _normalise(A):
    return A / np.maximum(np.linalg.norm(A, axis=1, keepdims=True), 1e-12)


def translation_ranks(pred, target, *, metric: str = "cosine", memory_mb: int = 128) -> np.ndarray:
    """Rank (1 = best) of each item's true target in the gallery ``target``. Returns (n,) int64."""
    check_choice(metric, "metric", ("cosine", "ip", "l2"))
    P = check_matrix(pred, "pred", allow_torch=False)
    T = check_matrix(target, "target", allow_torch=False)
    check_paired(P, T, ("pred", "target"))
    if P.shape[1] != T.shape[1]:
        raise ShapeError(f"pred has {P.shape[1]} columns but target has {T.shape[1]}")
    if metric == "cosine":
        P, T = _normalise(P), _normalise(T)
    Pt, Tt = torch.from_numpy(np.ascontiguousarray(P)), torch.from_numpy(np.ascontiguousarray(T))
    n = P.shape[0]
    if metric == "l2":
        sq = (Tt * Tt).sum(1)
    chunk = max(1, memory_mb * (1 << 20) // (4 * 3 * n))
    ranks = np.empty(n, dtype=np.int64)
    cols = torch.arange(n)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        S = Pt[a:b] @ Tt.T
        if metric == "l2":
            S = 2 * S - sq
        true = S[torch.arange(b - a), torch.arange(a, b)].unsqueeze(1)
        better = (S > true).sum(1) + ((S == true) & (cols < torch.arange(a, b).unsqueeze(1))).sum(1)
        ranks[a:b] = (better + 1).numpy()
    return ranks


def translation_scores(pred, target, ks=(1, 5, 10), *, metric: str = "cosine") -> dict:
    """Retrieval and similarity scores of translated vectors against their true targets.

    Args:
        pred: (n, d) translated vectors; target: (n, d) true targets, row-paired with ``pred``.
        ks: cut-offs for top-k accuracy.
    Returns:
        dict with ``top{k}`` (fraction of items whose target ranks ≤ k), ``mean_rank``,
        ``median_rank``, ``mrr`` (mean reciprocal rank), ``mean_cosine`` (cosine of each pred to its
        own target, averaged) and ``n`` (gallery size).
    """
    ks = tuple(ks)
    if not ks or any(isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 for k in ks):
        raise ValidationError(f"ks must be positive integers; got {ks!r}")
    ranks = translation_ranks(pred, target, metric=metric)
    P = _normalise(np.asarray(pred, dtype=np.float64))
    T = _normalise(np.asarray(target, dtype=np.float64))
    out = {f"top{k}": float((ranks <= k).mean()) for k in ks}
    out.update(mean_rank=float(ranks.mean()), median_rank=float(np.median(ranks)),
               mrr=float((1.0 / ranks).mean()), mean_cosine=float((P * T).sum(1).mean()), n=int(len(ranks)))
    return out
