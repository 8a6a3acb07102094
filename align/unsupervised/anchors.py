"""Few known pairs as anchors: relative representations → pseudo-pairs → Procrustes.

With a handful of true pairs (10–50), Procrustes on the pairs alone is badly under-determined in
384 dimensions (top-1 0.06 from 25 pairs on minilm-l6 → e5-small) and refinement from it stays in
a poor basin. Relative representations (Moschella et al., 2023, "Relative representations enable
zero-shot latent space communication", ICLR, arXiv 2209.15430) describe every point of each space
by its cosines to that space's own anchors; the descriptions are comparable across spaces without
any map, so mutual nearest neighbours between them give thousands of pseudo-pairs, and Procrustes
on those starts refinement in the right basin. mini-vec2vec (Dar 2025, arXiv 2510.02348) builds the
same descriptions over matched k-means centroids when no pair is known; here the anchors are known.
"""
from __future__ import annotations

import numpy as np

from ..exceptions import ValidationError
from .dictionary import induce_dictionary
from .selection import unit_rows


def relative_descriptions(A, anchors) -> np.ndarray:
    """Relative representation (Moschella et al., 2023): cosines of A's rows to ``anchors``, each
    anchor column z-scored (two encoders' cosines live on different scales). Computed in A's dtype.

    Parameters
    ----------
    A : ndarray (n, d)
    anchors : ndarray (k, d)

    Returns
    -------
    ndarray (n, k)
    """
    R = unit_rows(A) @ unit_rows(anchors).T
    return (R - R.mean(0)) / np.maximum(R.std(0), 1e-9)


def relative_pairs(A, B, anchors_a, anchors_b, *, csls_k: int = 10) -> np.ndarray:
    """Mutual CSLS neighbours between relative representations of A and B.

    Each row of A is described by its cosines to ``anchors_a`` and each row of B by its cosines to
    ``anchors_b`` (anchor i of A corresponds to anchor i of B); each anchor column is z-scored,
    since two encoders' cosines live on different scales (e5's sit in a narrow band).

    Parameters
    ----------
    A : ndarray (n_a, d_a)
    B : ndarray (n_b, d_b)
        Preprocessed (centred) points of the two spaces.
    anchors_a : ndarray (k, d_a)
    anchors_b : ndarray (k, d_b)
        Corresponding anchor vectors, k ≥ 2 (matched centroids, or known pairs).
    csls_k : int, default 10

    Returns
    -------
    ndarray (p, 2) int64
        (row of A, row of B), sorted by decreasing CSLS score in the description space.
    """
    Ra, Rb = relative_descriptions(A, anchors_a), relative_descriptions(B, anchors_b)
    pairs, _ = induce_dictionary(Ra.astype(np.float32), Rb.astype(np.float32), csls_k=csls_k, mode="mutual")
    return pairs


def anchor_pairs(Xc, Yc, seed_pairs, *, csls_k: int = 10) -> np.ndarray:
    """Pseudo-pairs from relative representations over known pairs, joined with the known pairs.

    Parameters
    ----------
    Xc : ndarray (n_x, d_x)
    Yc : ndarray (n_y, d_y)
        Centred, unpaired sets.
    seed_pairs : ndarray (m, 2) int
        Known pairs (row of X, row of Y), already checked.
    csls_k : int, default 10

    Returns
    -------
    ndarray (p, 2) int64

    Raises
    ------
    ValidationError
        With fewer than 2 distinct known pairs on either side (one anchor describes nothing).
    """
    seed = np.unique(np.asarray(seed_pairs, np.int64), axis=0)
    if len(np.unique(seed[:, 0])) < 2 or len(np.unique(seed[:, 1])) < 2:
        raise ValidationError(f"start='relative' needs at least 2 distinct known pairs; got {len(seed)}")
    pairs = relative_pairs(Xc, Yc, Xc[seed[:, 0]], Yc[seed[:, 1]], csls_k=csls_k)
    return np.unique(np.concatenate([seed, pairs]), axis=0)
