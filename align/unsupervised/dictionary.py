"""Dictionary induction: pairs of CSLS nearest neighbours between two sets, optionally stochastic.

The building block of self-learning refinement (:mod:`align.unsupervised.refine`) and of the
relative-representation starts (:mod:`align.unsupervised.anchors`): mutual CSLS neighbours
(Conneau et al., 2018, arXiv 1710.04087) or VecMap's union of both directions with stochastic
dictionary induction (Artetxe et al., 2018, arXiv 1805.06297).
"""
from __future__ import annotations

import numpy as np

from ..compute.csls import csls_both
from ..exceptions import ShapeError, ValidationError


def check_pairs(pairs, n_x: int, n_y: int, name: str = "seed_pairs") -> np.ndarray:
    """Validate known pairs.

    Parameters
    ----------
    pairs : array (m, 2) int
        (row of X, row of Y), m ≥ 1.
    n_x, n_y : int
        Rows of X and Y.
    name : str, default "seed_pairs"
        For messages.

    Returns
    -------
    ndarray (m, 2) int64

    Raises
    ------
    ShapeError
        When the array is not (m, 2) with m ≥ 1.
    ValidationError
        For non-integer or out-of-range indices.
    """
    p = np.asarray(pairs)
    if p.ndim != 2 or p.shape[1] != 2 or p.shape[0] == 0:
        raise ShapeError(f"{name} must be a non-empty (m, 2) array of (row of X, row of Y); got shape {p.shape}")
    if not np.issubdtype(p.dtype, np.integer):
        raise ValidationError(f"{name} must hold integer row indices; got dtype {p.dtype}")
    if p.min() < 0 or p[:, 0].max() >= n_x or p[:, 1].max() >= n_y:
        raise ValidationError(f"{name} has indices out of range for X ({n_x} rows) and Y ({n_y} rows)")
    return p.astype(np.int64)


def mutual_csls_pairs(A: np.ndarray, B: np.ndarray, *, csls_k: int = 10):
    """Pairs (i, j) where B[j] is A[i]'s best CSLS match and A[i] is B[j]'s.

    Parameters
    ----------
    A : ndarray (n_a, d)
        Already mapped into B's space.
    B : ndarray (n_b, d)
    csls_k : int, default 10

    Returns
    -------
    pairs : ndarray (m, 2) int64
    scores : ndarray (m,) float32
        Sorted by decreasing CSLS score.
    """
    return induce_dictionary(A, B, csls_k=csls_k)


def _keep_mask(i, j, p, salt):
    """Deterministic pseudo-random keep/drop of match (i, j) with probability p (same mask both ways)."""
    h = (i.astype(np.uint64) * np.uint64(0x9E3779B1) + j.astype(np.uint64) * np.uint64(0x85EBCA77)
         + np.uint64(salt) * np.uint64(0xC2B2AE3D)) & np.uint64(0xFFFFFFFF)
    h = (h ^ (h >> np.uint64(15))) * np.uint64(0x2C1B3C6D) & np.uint64(0xFFFFFFFF)
    h ^= h >> np.uint64(12)
    return (h.astype(np.float64) / 2.0 ** 32) < p


def _best_surviving(D, I, rows, p, salt, flip=False):
    if p >= 1:
        return I[:, 0], D[:, 0]
    ii = np.broadcast_to(rows[:, None], I.shape)
    keep = _keep_mask(I, ii, p, salt) if flip else _keep_mask(ii, I, p, salt)
    keep &= I >= 0
    first = np.where(keep.any(1), keep.argmax(1), -1)
    best = np.where(first >= 0, I[rows, np.maximum(first, 0)], -1)
    score = np.where(first >= 0, D[rows, np.maximum(first, 0)], -np.inf)
    return best, score


def induce_dictionary(A, B, *, csls_k: int = 10, mode: str = "mutual", keep_prob: float = 1.0, salt: int = 0):
    """Dictionary of CSLS matches between A (mapped into B's space) and B.

    ``mode="mutual"``: pairs that are each other's best match; ``"union"``: every row's best match in
    both directions (VecMap). ``keep_prob < 1`` drops each candidate with probability 1 − p before
    taking the best (stochastic induction; the best of the 30 top candidates that survive). CSLS
    comes from :func:`align.compute.csls.csls_both`.

    Parameters
    ----------
    A : ndarray (n_a, d)
    B : ndarray (n_b, d)
    csls_k : int, default 10
    mode : {"mutual", "union"}, default "mutual"
    keep_prob : float, default 1.0
    salt : int, default 0
        Varies the deterministic pseudo-random drops between rounds.

    Returns
    -------
    pairs : ndarray (m, 2) int64
    scores : ndarray (m,) float32
        Sorted by decreasing score.
    """
    (Df, If), (Db, Ib) = csls_both(A, B, 1 if keep_prob >= 1 else 30, csls_k=csls_k)
    fwd, sf = _best_surviving(Df, If, np.arange(A.shape[0]), keep_prob, salt)
    bwd, sb = _best_surviving(Db, Ib, np.arange(B.shape[0]), keep_prob, salt, flip=True)
    if mode == "mutual":
        i = np.flatnonzero((fwd >= 0) & (bwd[np.maximum(fwd, 0)] == np.arange(A.shape[0])))
        pairs, scores = np.stack([i, fwd[i]], axis=1), sf[i]
    else:
        i, j = np.flatnonzero(fwd >= 0), np.flatnonzero(bwd >= 0)
        pairs = np.concatenate([np.stack([i, fwd[i]], 1), np.stack([bwd[j], j], 1)])
        scores = np.concatenate([sf[i], sb[j]])
        pairs, first = np.unique(pairs, axis=0, return_index=True)
        scores = scores[first]
    order = np.argsort(-scores, kind="stable")
    return pairs[order].astype(np.int64), scores[order].astype(np.float32)
