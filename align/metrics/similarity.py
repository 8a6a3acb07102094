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
from ..exceptions import ShapeError, ValidationError
from .similarity_base import as_matrix, centred_gram, centred_sq_norms, check_k, column_means
from .similarity_kernel import (_cka_ratio, _pair_cosines, _sq, _unit_rows, cka, rsa, rsa_pairs, svcca, unbiased_cka,
                                unbiased_hsic_terms)
from .similarity_knn import (cknna, cknna_from_neighbours, cycle_knn, cycle_knn_rows, mutual_knn, mutual_knn_rows, permute_neighbours,
                             self_neighbours)

SIMILARITY = {
    "mutual_knn": mutual_knn,
    "cycle_knn": cycle_knn,
    "cka": cka,
    "unbiased_cka": unbiased_cka,
    "cknna": cknna,
    "svcca": svcca,
    "rsa": rsa,
}


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


# --------------------------------------------------------------------------- scorers for statistics
class PairScorer:
    """Scores ``metric(X, Y[perm])`` for many permutations without redoing per-side work.

    ``prepare(X)`` validates one side and returns its state; ``score(sx, sy, perm=None)`` returns
    the metric of the pairing ``(X, Y[perm])``; ``rows(sx, sy)`` returns per-row values whose mean
    is the metric, or ``None`` when the metric is not such a mean.
    """

    def __init__(self, name: str, fn, params: dict):
        self.name, self.fn, self.params = name, fn, dict(params)

    def prepare(self, X, name: str = "X"):
        return as_matrix(X, name)

    def score(self, sx, sy, perm=None) -> float:
        Y = sy if perm is None else sy[perm]
        return float(self.fn(sx, Y, **self.params))

    def rows(self, sx, sy):
        return None

    def boot_score(self, sx, sy, idx):
        """Metric on the resampled rows ``idx`` from the full-data states, or None (then the caller
        re-prepares both sides on ``X[idx]``)."""
        return None

    @staticmethod
    def n_rows(state) -> int:
        return state.shape[0] if isinstance(state, np.ndarray) else state["n"]

    def check_pair(self, sx, sy):
        nx, ny = self.n_rows(sx), self.n_rows(sy)
        if nx != ny:
            raise ShapeError(f"X and Y must have the same number of rows (paired); got {nx} and {ny}")


class _KnnScorer(PairScorer):
    def __init__(self, name, fn, params):
        unknown = set(params) - {"k"}
        if unknown:
            raise ValidationError(f"{name} takes only k; got {sorted(unknown)}")
        super().__init__(name, fn, {"k": params.get("k", 10)})
        self._rows = mutual_knn_rows if name == "mutual_knn" else cycle_knn_rows

    def prepare(self, X, name="X"):
        X = as_matrix(X, name)
        k = check_k(self.params["k"], X.shape[0])
        return {"n": X.shape[0], "I": self_neighbours(X, k)}

    def score(self, sx, sy, perm=None):
        IY = sy["I"] if perm is None else permute_neighbours(sy["I"], perm)
        return float(self._rows(sx["I"], IY).mean())

    def rows(self, sx, sy):
        return self._rows(sx["I"], sy["I"])


class _CkaScorer(PairScorer):
    def __init__(self, name, fn, params):
        if params:
            raise ValidationError(f"{name} takes no parameters; got {sorted(params)}")
        super().__init__(name, fn, {})
        self.unbiased = name == "unbiased_cka"

    def prepare(self, X, name="X"):
        X = as_matrix(X, name, min_rows=4 if self.unbiased else 2)
        mean = column_means(X)
        a = centred_sq_norms(X, mean)
        G = centred_gram(X, mx=mean)
        h = unbiased_hsic_terms(G, a, a) if self.unbiased else _sq(G)
        return {"n": X.shape[0], "X": X, "mean": mean, "a": a, "h": h}

    def score(self, sx, sy, perm=None):
        Y, b = (sy["X"], sy["a"]) if perm is None else (sy["X"][perm], sy["a"][perm])
        G = centred_gram(sx["X"], Y, sx["mean"], sy["mean"])
        hxy = unbiased_hsic_terms(G, sx["a"], b) if self.unbiased else _sq(G)
        return _cka_ratio(hxy, sx["h"], sy["h"])


class _CknnaScorer(PairScorer):
    def __init__(self, name, fn, params):
        unknown = set(params) - {"k"}
        if unknown:
            raise ValidationError(f"{name} takes only k; got {sorted(unknown)}")
        super().__init__(name, fn, {"k": params.get("k", 10)})

    def prepare(self, X, name="X"):
        X = as_matrix(X, name, min_rows=4)
        k = X.shape[0] - 1 if self.params["k"] is None else self.params["k"]
        k = check_k(k, X.shape[0], minimum=2)
        return {"n": X.shape[0], "X": X, "I": None if k == X.shape[0] - 1 else self_neighbours(X, k)}

    def score(self, sx, sy, perm=None):
        Y = sy["X"] if perm is None else sy["X"][perm]
        if sx["I"] is None:
            return unbiased_cka(sx["X"], Y)
        IY = sy["I"] if perm is None else permute_neighbours(sy["I"], perm)
        return cknna_from_neighbours(sx["X"], Y, sx["I"], IY)


class _RsaScorer(PairScorer):
    """Exact RSA: ranks of each side's pair similarities are computed once; a re-pairing only
    re-indexes them (the pairs of ``Y[perm]`` are the pairs of Y at ``(perm[i], perm[j])``)."""

    def prepare(self, X, name="X"):
        from scipy.stats import rankdata
        X = as_matrix(X, name, min_rows=3)
        n = X.shape[0]
        max_pairs = self.params.get("max_pairs", 2_000_000)
        if n * (n - 1) // 2 > max_pairs:  # sampled estimate: no shortcut, score calls rsa itself
            return {"n": n, "X": X, "R": None}
        i, j = rsa_pairs(n, max_pairs)
        U = _unit_rows(X, name)
        R = np.zeros((n, n))
        R[i, j] = rankdata(_pair_cosines(U, i, j))
        return {"n": n, "X": X, "U": U, "R": R + R.T, "i": i, "j": j}

    def score(self, sx, sy, perm=None):
        if sx["R"] is None:
            return float(rsa(sx["X"], sy["X"] if perm is None else sy["X"][perm], **self.params))
        i, j = sx["i"], sx["j"]
        rx = sx["R"][i, j]
        ry = sy["R"][i, j] if perm is None else sy["R"][perm[i], perm[j]]
        return _pearson(rx, ry)

    def boot_score(self, sx, sy, idx):
        """RSA on the resample ``idx`` without the pairs of two copies of one item (their cosine is 1
        on both sides and would inflate the correlation)."""
        from scipy.stats import rankdata
        if sx["R"] is None:
            return None
        i, j = np.triu_indices(idx.shape[0], 1)
        i, j = idx[i], idx[j]
        keep = i != j
        i, j = i[keep], j[keep]
        return _pearson(rankdata(_pair_cosines(sx["U"], i, j)), rankdata(_pair_cosines(sy["U"], i, j)))


def _pearson(rx, ry) -> float:
    rx, ry = rx - rx.mean(), ry - ry.mean()
    den = np.sqrt((rx @ rx) * (ry @ ry))
    if den == 0:
        raise ValidationError("rsa: all pairwise similarities of X or of Y are equal; the rank "
                              "correlation is undefined")
    return float((rx @ ry) / den)


_SCORERS = {"rsa": _RsaScorer, "mutual_knn": _KnnScorer, "cycle_knn": _KnnScorer, "cka": _CkaScorer, "unbiased_cka": _CkaScorer,
            "cknna": _CknnaScorer}


def metric_name(metric) -> str:
    """Registered name of ``metric`` (a name or one of the registered functions), else its __name__."""
    if isinstance(metric, str):
        if metric not in SIMILARITY:
            raise ValidationError(f"unknown similarity metric {metric!r}; available: {', '.join(SIMILARITY)}")
        return metric
    for name, fn in SIMILARITY.items():
        if fn is metric:
            return name
    if not callable(metric):
        raise ValidationError(f"metric must be a name in SIMILARITY or a callable; got {type(metric).__name__}")
    return getattr(metric, "__name__", "metric")


def get_scorer(metric, **params) -> PairScorer:
    """A :class:`PairScorer` for ``metric`` (a registered name or a callable) with fixed ``params``."""
    name = metric_name(metric)
    fn = SIMILARITY[name] if isinstance(metric, str) else metric
    cls = _SCORERS.get(name, PairScorer) if fn is SIMILARITY.get(name) else PairScorer
    return cls(name, fn, params)


__all__ = ["SIMILARITY", "prepare_features", "mutual_knn", "cycle_knn", "cka", "unbiased_cka", "cknna",
           "svcca", "rsa", "self_neighbours", "PairScorer", "get_scorer", "metric_name"]
