"""Self-learning refinement: induce a dictionary of CSLS nearest neighbours, fit Procrustes on it,
repeat until the dictionary stops changing (Artetxe et al., 2017, "Learning bilingual word
embeddings with (almost) no bilingual data"; Conneau et al., 2018, arXiv 1710.04087), optionally with
VecMap's stochastic dictionary induction (Artetxe et al., 2018, arXiv 1805.06297): each candidate
match survives a round with probability ``p``, which grows from ``stochastic`` to 1, so early rounds
can leave a poor basin.

Shared by every unsupervised aligner (as its refinement stage) and usable alone from a handful of
true pairs (``seed_pairs``) or from any fitted aligner's map (``init``).
"""
from __future__ import annotations

import numpy as np

from .._params import HasMethods, Interval, StrOptions
from ..base import BaseAligner, register_aligner
from ..exceptions import ValidationError
from ..supervised.procrustes import procrustes
from .anchors import anchor_pairs
from .dictionary import check_pairs, induce_dictionary, mutual_csls_pairs  # noqa: F401  (old import path)
from .selection import label_free_criteria



def refine_map(Xc, Yc, W, *, n_iter: int = 10, csls_k: int = 10, n_candidates: int | None = None,
               seed_pairs=None, keep_seed: bool = True, mode: str = "mutual", stochastic: float = 1.0,
               tol: float = 0.001):
    """Iterate dictionary induction → Procrustes from the map ``W`` (d_x, d_y).

    Xc (n_x, d_x), Yc (n_y, d_y): preprocessed (centred) float32 sets. ``n_candidates`` limits
    induction to the first rows of each. ``stochastic`` < 1 starts VecMap-style stochastic induction
    at that keep probability, doubling each round until 1. Stops when fewer than ``tol`` of the
    dictionary changes (only once p = 1).

    Parameters
    ----------
    Xc : ndarray (n_x, d_x)
    Yc : ndarray (n_y, d_y)
        Preprocessed (centred) float32 sets.
    W : ndarray (d_x, d_y)
        The starting map.
    n_iter : int, default 10
    csls_k : int, default 10
    n_candidates : int or None
    seed_pairs : ndarray (m, 2) or None
        Known pairs, kept in every dictionary when ``keep_seed``.
    keep_seed : bool, default True
    mode : {"mutual", "union"}, default "mutual"
    stochastic : float, default 1.0
    tol : float, default 0.001

    Returns
    -------
    W : ndarray (d_x, d_y)
    pairs : ndarray (m, 2) int64
        The last dictionary.
    history : list of dict
    score : float
        The last mean CSLS of the induced dictionary.
    """
    nx = Xc.shape[0] if n_candidates is None else min(int(n_candidates), Xc.shape[0])
    ny = Yc.shape[0] if n_candidates is None else min(int(n_candidates), Yc.shape[0])
    Xs, Ys = Xc[:nx], Yc[:ny]
    history, prev = [], None
    pairs = seed_pairs if seed_pairs is not None else np.zeros((0, 2), np.int64)
    score, p = float("nan"), float(stochastic)
    for it in range(n_iter):
        mapped = (Xs @ W).astype(np.float32)
        pairs, scores = induce_dictionary(mapped, Ys, csls_k=csls_k, mode=mode, keep_prob=min(p, 1.0), salt=it)
        score = float(scores.mean()) if len(scores) else float("nan")
        if seed_pairs is not None and keep_seed:
            pairs = np.unique(np.concatenate([seed_pairs, pairs]), axis=0)
        history.append({"n_pairs": int(len(pairs)), "mean_csls": score, "keep_prob": round(min(p, 1.0), 4)})
        if len(pairs) < 2:
            break
        W = procrustes(Xc[pairs[:, 0]], Yc[pairs[:, 1]])
        key = set(map(tuple, pairs.tolist()))
        if p >= 1 and prev is not None and len(key ^ prev) <= tol * max(len(key), 1):
            break
        prev, p = key, p * 2
    return W, pairs.astype(np.int64), history, score


@register_aligner
class SelfLearningRefiner(BaseAligner):
    """Iterative CSLS nearest-neighbour dictionary induction → Procrustes.

    ``fit(X, Y, seed_pairs=...)`` starts from Procrustes on a few true pairs; ``fit(X, Y)`` with an
    ``init`` aligner starts from that aligner's map (fitted on the same unpaired X, Y). Rows of X
    and Y are not paired.

    Parameters
    ----------
    n_iter : int >= 0, default 10
        Maximum refinement rounds.
    csls_k : int, default 10
    n_candidates : int or None, default None
        Use only the first rows of each set to induce the dictionary (e.g. the most frequent
        words); None = all.
    center : bool, default True
        Subtract each set's own mean.
    init : aligner or None, default None
        An aligner whose map gives the start (fitted on the same unpaired X, Y).
    keep_seed : bool, default True
        Always include the seed pairs in the dictionary.
    mode : {"mutual", "union"}, default "mutual"
        Mutual nearest neighbours, or VecMap's union of both directions.
    stochastic : float in (0, 1], default 1.0
        Initial keep probability of stochastic induction (1 = off).
    start : {"procrustes", "relative"}, default "procrustes"
        How ``seed_pairs`` give the first map. ``"procrustes"``: Procrustes on the known pairs
        alone. ``"relative"``: the known pairs are anchors of relative representations (Moschella
        et al., 2023, arXiv 2209.15430); mutual CSLS neighbours between the two sets' descriptions
        give thousands of pseudo-pairs, and Procrustes on those (plus the known pairs) starts the
        refinement (:mod:`align.unsupervised.anchors`). Needs ≥ 2 known pairs; far better from
        10–100 pairs in a few hundred dimensions, where Procrustes on the pairs is under-determined.
    random_state : int >= 0 or None, default 0
        Seed of the label-free criteria's row sample (the refinement itself is deterministic).

    Attributes
    ----------
    W_ : ndarray (d_x, d_y)
    mean_x_, mean_y_ : ndarray
    dictionary_ : ndarray (m, 2) int64
    history_ : list of dict
        Dictionary size and mean CSLS score per round.
    criterion_ : dict
        Label-free criteria, see :mod:`align.unsupervised.selection`.
    """

    supervised = False
    _array_attrs = ("W_", "mean_x_", "mean_y_", "dictionary_")
    _json_attrs = ("n_features_in_", "n_features_out_", "scale_", "history_", "criterion_")
    _parameter_constraints = {
        "n_iter": [Interval(int, 0, None)], "csls_k": [Interval(int, 1, None)],
        "n_candidates": [None, Interval(int, 1, None)], "center": ["boolean"],
        "init": [None, HasMethods(["fit", "transform"])], "keep_seed": ["boolean"],
        "mode": [StrOptions({"mutual", "union"})], "stochastic": [Interval(float, 0, 1, closed="right")],
        "start": [StrOptions({"procrustes", "relative"})], "random_state": ["random_state"],
    }

    def __init__(self, *, n_iter: int = 10, csls_k: int = 10, n_candidates: int | None = None,
                 center: bool = True, init=None, keep_seed: bool = True, mode: str = "mutual",
                 stochastic: float = 1.0, start: str = "procrustes", random_state: int | None = 0):
        self.n_iter = n_iter
        self.csls_k = csls_k
        self.n_candidates = n_candidates
        self.center = center
        self.init = init
        self.keep_seed = keep_seed
        self.mode = mode
        self.stochastic = stochastic
        self.start = start
        self.random_state = random_state

    def fit(self, X, Y, seed_pairs=None):
        """Fit on unpaired X (n_x, d_x), Y (n_y, d_y) from ``seed_pairs`` (m, 2) or ``init``; returns self."""
        self._validate_params()
        X, Y = self._check_fit_inputs(X, Y)
        mx = X.mean(0) if self.center else np.zeros(X.shape[1])
        my = Y.mean(0) if self.center else np.zeros(Y.shape[1])
        Xc, Yc = (X - mx).astype(np.float32), (Y - my).astype(np.float32)
        seed = None
        if seed_pairs is not None:
            seed = check_pairs(seed_pairs, X.shape[0], Y.shape[0])
            start = seed if self.start == "procrustes" else anchor_pairs(Xc, Yc, seed, csls_k=self.csls_k)
            W = procrustes(Xc[start[:, 0]], Yc[start[:, 1]])
        elif self.init is not None:
            init = self.init.fit(X, Y)
            mapped = init.transform(X) - my
            pairs, _ = mutual_csls_pairs(mapped[: self._cand(X)], Yc[: self._cand(Y)], csls_k=self.csls_k)
            if len(pairs) < 2:
                raise ValidationError("the init aligner's map gives fewer than 2 mutual neighbours")
            W = procrustes(Xc[pairs[:, 0]], Yc[pairs[:, 1]])
        else:
            raise ValidationError("SelfLearningRefiner needs seed_pairs=... or an init aligner")
        W, pairs, self.history_, _ = refine_map(
            Xc, Yc, W, n_iter=self.n_iter, csls_k=self.csls_k, n_candidates=self.n_candidates,
            seed_pairs=seed, keep_seed=self.keep_seed, mode=self.mode, stochastic=float(self.stochastic))
        self.W_, self.mean_x_, self.mean_y_, self.scale_ = W, np.asarray(mx, np.float64), np.asarray(my, np.float64), 1.0
        self.n_features_in_, self.n_features_out_ = X.shape[1], Y.shape[1]
        self.dictionary_ = pairs
        self.criterion_ = label_free_criteria(Xc @ W, Yc, seed=int(self.random_state or 0))
        return self

    def _cand(self, A):
        return A.shape[0] if self.n_candidates is None else min(int(self.n_candidates), A.shape[0])

    def transform(self, X) -> np.ndarray:
        """(m, d_x) → (m, d_y) float32."""
        X = self._check_transform_input(X)
        return ((X - self.mean_x_) @ self.W_ + self.mean_y_).astype(np.float32)

    def get_params(self, deep: bool = False) -> dict:
        """Parameters as a dict; an ``init`` aligner is reported as None unless ``deep`` (not saved)."""
        params = super().get_params(deep)
        if not deep and params.get("init") is not None:
            params["init"] = None  # aligner objects are not saved; the fitted map is
        return params
