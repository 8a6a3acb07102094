"""Representation similarity between two models' vectors of the same items (paired rows).

Metrics are plain functions ``(X, Y, **params) -> float`` registered in :data:`SIMILARITY`:

=================  ==========================================================  ===================
name               definition (Huh et al., 2024, arXiv 2405.07987, reference)   null (unrelated)
=================  ==========================================================  ===================
``mutual_knn``     mean over rows of ``|N_k^X(i) ∩ N_k^Y(i)| / k`` (k=10)        about k/(n-1)
``cycle_knn``      fraction of rows reached back through a Y- then X-neighbour   about k^2/(n-1)
``cka``            linear CKA, biased HSIC ``trace(KHLH)``, ``+1e-6``            > 0, shrinks with n
``unbiased_cka``   linear CKA, unbiased HSIC (Song et al., 2012)                 about 0
``cknna``          unbiased CKA of the kernels masked to mutual k-neighbours      about 0
``svcca``          mean canonical correlation of the top-``dim`` singular vectors  > 0
``rsa``            Spearman correlation of the two cosine-similarity matrices     about 0
=================  ==========================================================  ===================

The functions take their inputs **as given**. The paper's preprocessing — clip at the 0.95 quantile
of ``|x|``, then L2-normalise rows — is :func:`prepare_features`, which callers apply explicitly.

For statistics (:mod:`align.metrics.stats`) every metric also has a :class:`PairScorer` that
precomputes what each side needs once (neighbour lists, Gram matrices) and then scores any
re-pairing of the rows cheaply; ``get_scorer(metric, **params)`` returns it.
"""
from __future__ import annotations

import numpy as np

from .._validate import check_matrix
from ..exceptions import ValidationError
from .registry import SIMILARITY, metric_name
from .similarity_global import cka, rsa, svcca, unbiased_cka
from .similarity_knn import cknna, cycle_knn, mutual_knn, self_neighbours
from .similarity_scorers import PairScorer, get_scorer


def prepare_features(X, q: float = 0.95, *, per_feature: bool = False) -> np.ndarray:
    """The platonic-rep preprocessing: clip outlying values, then L2-normalise each row.

    By default one threshold ``t`` for the whole matrix: the value at position ``int(q * X.size)``
    of the sorted ``|X|`` (the reference's exact quantile), and every entry is clipped to [-t, t]
    (this tames the few outlier dimensions of decoder LLMs). ``per_feature=True`` takes a
    threshold per column instead (same position rule over the n rows). ``q = 1`` skips clipping.
    Zero rows stay zero.

    Args: X: (n, d) array or tensor. Returns: (n, d) NumPy array (float64 in, float64 out; else float32).
    """
    dtype = np.float64 if str(getattr(X, "dtype", "")).endswith("float64") else np.float32
    X = check_matrix(X, "X", allow_torch=False, dtype=dtype)
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q <= 1:
        raise ValidationError(f"q must be a number in (0, 1]; got {q!r}")
    X = X.copy()
    if q < 1:
        A = np.abs(X)
        if per_feature:
            pos = min(int(q * X.shape[0]), X.shape[0] - 1)
            t = np.partition(A, pos, axis=0)[pos]
        else:
            A = A.ravel()
            pos = min(int(q * A.size), A.size - 1)
            t = np.partition(A, pos)[pos]
        np.clip(X, -t, t, out=X)
    norms = np.sqrt(np.einsum("ij,ij->i", X, X, dtype=np.float64))
    X /= np.maximum(norms, 1e-12)[:, None].astype(X.dtype)
    return X


__all__ = ["SIMILARITY", "prepare_features", "mutual_knn", "cycle_knn", "cka", "unbiased_cka", "cknna",
           "svcca", "rsa", "self_neighbours", "PairScorer", "get_scorer", "metric_name"]
