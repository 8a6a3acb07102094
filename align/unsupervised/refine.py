"""Self-learning refinement: induce a dictionary of mutual CSLS nearest neighbours, fit Procrustes on
it, repeat until the dictionary stops changing (Artetxe et al., 2017, "Learning bilingual word
embeddings with (almost) no bilingual data"; Conneau et al., 2018, arXiv 1710.04087).

Shared by every unsupervised aligner (as its refinement stage) and usable alone from a handful of
true pairs (``seed_pairs``) or from any fitted aligner's map (``init``).
"""
from __future__ import annotations

import numpy as np

from .._validate import check_matrix, check_positive_int
from ..base import BaseAligner, register_aligner
from ..exceptions import ShapeError, ValidationError
from ..search import csls_knn
from ..supervised.procrustes import procrustes


def check_pairs(pairs, n_x: int, n_y: int, name: str = "seed_pairs") -> np.ndarray:
    """Validate an (m, 2) int array of (row of X, row of Y) with m ≥ 1 and indices in range."""
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

    A: (n_a, d) already mapped into B's space; B: (n_b, d). Returns ``(pairs (m, 2) int64,
    scores (m,) float32)`` sorted by decreasing CSLS score.
    """
    Df, If = csls_knn(A, B, 1, csls_k=csls_k)
    _, Ib = csls_knn(B, A, 1, csls_k=csls_k)
    fwd = If[:, 0]
    mutual = Ib[fwd, 0] == np.arange(A.shape[0])
    i = np.flatnonzero(mutual)
    pairs = np.stack([i, fwd[i]], axis=1)
    scores = Df[i, 0]
    order = np.argsort(-scores, kind="stable")
    return pairs[order], scores[order].astype(np.float32)


@register_aligner
class SelfLearningRefiner(BaseAligner):
    """Iterative CSLS mutual-nearest-neighbour dictionary induction → Procrustes.

    ``fit(X, Y, seed_pairs=...)`` starts from Procrustes on a few true pairs; ``fit(X, Y)`` with an
    ``init`` aligner starts from that aligner's map (fitted on the same unpaired X, Y). Rows of X
    and Y are not paired.

    Parameters: ``n_iter`` (max rounds), ``csls_k``, ``n_candidates`` (use only the first rows of
    each set to induce the dictionary, e.g. the most frequent words; None = all), ``center``
    (subtract each set's own mean), ``init`` (an unfitted aligner or None), ``keep_seed`` (always
    include the seed pairs in the dictionary).

    Fitted: ``W_`` (d_x, d_y), ``mean_x_``, ``mean_y_``, ``dictionary_`` (m, 2), ``history_``
    (dictionary size and mean CSLS score per round), ``criterion_`` (final mean CSLS score of the
    mutual pairs: a label-free quality signal).
    """

    supervised = False
    _array_attrs = ("W_", "mean_x_", "mean_y_", "dictionary_")
    _json_attrs = ("n_features_in_", "n_features_out_", "scale_", "history_", "criterion_")

    def __init__(self, *, n_iter: int = 10, csls_k: int = 10, n_candidates: int | None = None,
                 center: bool = True, init=None, keep_seed: bool = True):
        self.n_iter = n_iter
        self.csls_k = csls_k
        self.n_candidates = n_candidates
        self.center = center
        self.init = init
        self.keep_seed = keep_seed

    def fit(self, X, Y, seed_pairs=None):
        X, Y = self._check_fit_inputs(X, Y)
        check_positive_int(self.n_iter, "n_iter", minimum=0)
        check_positive_int(self.csls_k, "csls_k")
        mx = X.mean(0) if self.center else np.zeros(X.shape[1])
        my = Y.mean(0) if self.center else np.zeros(Y.shape[1])
        Xc, Yc = (X - mx).astype(np.float32), (Y - my).astype(np.float32)
        seed = None
        if seed_pairs is not None:
            seed = check_pairs(seed_pairs, X.shape[0], Y.shape[0])
            W = procrustes(Xc[seed[:, 0]], Yc[seed[:, 1]])
        elif self.init is not None:
            init = self.init.fit(X, Y)
            mapped = init.transform(X) - my
            pairs, _ = mutual_csls_pairs(mapped[: self._cand(X)], Yc[: self._cand(Y)], csls_k=self.csls_k)
            if len(pairs) < 2:
                raise ValidationError("the init aligner's map gives fewer than 2 mutual neighbours")
            W = procrustes(Xc[pairs[:, 0]], Yc[pairs[:, 1]])
        else:
            raise ValidationError("SelfLearningRefiner needs seed_pairs=... or an init aligner")
        self.W_, self.mean_x_, self.mean_y_, self.scale_ = W, np.asarray(mx, np.float64), np.asarray(my, np.float64), 1.0
        self.n_features_in_, self.n_features_out_ = X.shape[1], Y.shape[1]
        self.history_ = []
        prev = None
        pairs = seed if seed is not None else np.zeros((0, 2), np.int64)
        score = float("nan")
        for _ in range(self.n_iter):
            mapped = (Xc[: self._cand(X)] @ W).astype(np.float32)
            pairs, scores = mutual_csls_pairs(mapped, Yc[: self._cand(Y)], csls_k=self.csls_k)
            score = float(scores.mean()) if len(scores) else float("nan")
            if seed is not None and self.keep_seed:
                pairs = np.unique(np.concatenate([seed, pairs]), axis=0)
            self.history_.append({"n_pairs": int(len(pairs)), "mean_csls": score})
            if len(pairs) < 2:
                break
            W = procrustes(Xc[pairs[:, 0]], Yc[pairs[:, 1]])
            key = set(map(tuple, pairs.tolist()))
            if prev is not None and len(key ^ prev) <= 0.001 * max(len(key), 1):
                break
            prev = key
        self.W_, self.dictionary_, self.criterion_ = W, pairs.astype(np.int64), score
        return self

    def _cand(self, A):
        return A.shape[0] if self.n_candidates is None else min(int(self.n_candidates), A.shape[0])

    def transform(self, X) -> np.ndarray:
        """(m, d_x) → (m, d_y) float32."""
        X = self._check_transform_input(X)
        return ((X - self.mean_x_) @ self.W_ + self.mean_y_).astype(np.float32)

    def get_params(self, deep: bool = False) -> dict:
        params = super().get_params(deep)
        if not deep and params.get("init") is not None:
            params["init"] = None  # aligner objects are not saved; the fitted map is
        return params
