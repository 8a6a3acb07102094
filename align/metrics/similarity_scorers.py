"""Pair scorers: the per-side work of a similarity metric done once, then any re-pairing scored.

The statistics in :mod:`align.metrics.stats` evaluate one metric on hundreds of permuted pairings
(``X`` against ``Y[perm]``) and bootstrap resamples (``X[idx]`` against ``Y[idx]``). A scorer
keeps what does not change: neighbour lists (a permutation only relabels them), Gram matrices and
self-HSIC terms, rank matrices of pair similarities.

Bootstrap resamples repeat rows. Two copies of one item are perfect neighbours and perfectly
similar in both spaces, which inflates every metric computed naively on ``X[idx]``. The scorers
therefore score a resample *without the pairs formed by two copies of the same item*:
mutual_knn / cycle_knn resample per-row contributions with the neighbour lists fixed; CKA (biased
and unbiased) and RSA drop the copy pairs in closed form. CKNNA, SVCCA and user callables fall back
to recomputing on ``(X[idx], Y[idx])``.
"""
from __future__ import annotations

import numpy as np

from ..exceptions import ShapeError, ValidationError
from .registry import SIMILARITY, metric_name
from .similarity_base import as_matrix, centred_gram, centred_sq_norms, check_k, column_means
from .similarity_global import (_cka_ratio, _pair_cosines, _sq, _unit_rows, rsa, rsa_pairs, unbiased_cka,
                                unbiased_hsic_terms)
from .similarity_knn import (cknna_from_neighbours, cycle_knn_rows, mutual_knn_rows, permute_neighbours,
                             self_neighbours)


class PairScorer:
    """Generic scorer: ``score(sx, sy, perm)`` = ``fn(X, Y[perm], **params)``.

    ``prepare(X)`` validates one side and returns its state; ``score(sx, sy, perm=None)`` the metric
    of the pairing ``(X, Y[perm])``; ``rows(sx, sy)`` per-row values whose mean is the metric (or
    None); ``resample(state, idx)`` the state of the bootstrap resample ``X[idx]``, scored against
    another resample state with the same ``idx`` by ``score``.
    """

    def __init__(self, name: str, fn, params: dict):
        self.name, self.fn, self.params = name, fn, dict(params)

    def prepare(self, X, name: str = "X"):
        """Validate one side and return its state.

        Parameters
        ----------
        X : array-like, shape (n, d)
        name : str, default "X"
            Name in error messages.

        Returns
        -------
        dict
            The side's state (at least ``"n"``).
        """
        return {"n": np.shape(X)[0], "X": as_matrix(X, name)}

    def score(self, sx, sy, perm=None) -> float:
        """The metric of the pairing ``(X, Y[perm])``.

        Parameters
        ----------
        sx, sy : dict
            States from :meth:`prepare` (or :meth:`resample` with the same ``idx``).
        perm : numpy.ndarray of int, optional
            Re-pairing of Y's rows; None keeps the given pairing.

        Returns
        -------
        float
        """
        Y = sy["X"] if perm is None else sy["X"][perm]
        return float(self.fn(sx["X"], Y, **self.params))

    def rows(self, sx, sy):
        """Per-row values whose mean is the metric, or None where the metric has none.

        Parameters
        ----------
        sx, sy : dict
            States from :meth:`prepare`.

        Returns
        -------
        numpy.ndarray of shape (n,) or None
        """
        return None

    def resample(self, state, idx):
        """State of the bootstrap resample ``X[idx]``.

        Parameters
        ----------
        state : dict
            From :meth:`prepare`.
        idx : numpy.ndarray of int
            Resampled row positions (repeats allowed).

        Returns
        -------
        dict
        """
        return self.prepare(state["X"][idx])

    @staticmethod
    def n_rows(state) -> int:
        """Number of rows of a prepared side."""
        return state["n"]

    def check_pair(self, sx, sy):
        """Check that two prepared sides have as many rows.

        Parameters
        ----------
        sx, sy : dict
            States from :meth:`prepare`.

        Raises
        ------
        ShapeError
            If the row counts differ.
        """
        if sx["n"] != sy["n"]:
            raise ShapeError(f"X and Y must have the same number of rows (paired); got {sx['n']} and {sy['n']}")


class _KnnScorer(PairScorer):
    def __init__(self, name, fn, params):
        _only_k(name, params)
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

    def resample(self, state, idx):
        raise ValidationError(f"{self.name} is bootstrapped over its per-row values (scheme='items')")


def _only_k(name, params):
    unknown = set(params) - {"k"}
    if unknown:
        raise ValidationError(f"{name} takes only k; got {sorted(unknown)}")


class _CkaScorer(PairScorer):
    """Linear CKA. Full-data states hold centred quantities; resample states hold the copy counts
    ``c`` (``c_o`` copies of item o) and score the resample without its copy pairs."""

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
        # the centred copy makes each permutation one GEMM (a permutation keeps the column means)
        C = (np.asarray(X, np.float64) - mean).astype(X.dtype)
        return {"n": X.shape[0], "X": X, "C": C, "mean": mean, "a": a, "h": h}

    def score(self, sx, sy, perm=None):
        if "c" in sx:
            return _cka_ratio(self._boot_hsic(sx, sy), sx["h"], sy["h"])
        if perm is None:
            G, b = centred_gram(sx["X"], sy["X"], sx["mean"], sy["mean"]), sy["a"]
        else:
            G, b = np.asarray(sx["C"].T @ sy["C"][perm], np.float64), sy["a"][perm]
        hxy = unbiased_hsic_terms(G, sx["a"], b) if self.unbiased else _sq(G)
        return _cka_ratio(hxy, sx["h"], sy["h"])

    def resample(self, state, idx):
        c = np.bincount(idx, minlength=state["n"]).astype(np.float64)
        sel = np.flatnonzero(c)
        X = np.asarray(state["X"][sel], np.float64)
        c = c[sel]
        out = {"n": int(c.sum()), "c": c}
        if self.unbiased:  # the copy-excluded estimator is not centring-invariant: raw kernel
            out.update(V=X, k=np.einsum("ij,ij->i", X, X), s=c @ X)
        else:  # centred by the resample's own (weighted) mean
            V = X - (c @ X) / c.sum()
            out.update(V=V, k=np.einsum("ij,ij->i", V, V))
        out["h"] = self._boot_hsic(out, out)
        return out

    def _boot_hsic(self, sx, sy):
        c = sx["c"]
        G = sx["V"].T @ (c[:, None] * sy["V"])
        copies = c * (c - 1) if not self.unbiased else c * c
        tr = _sq(G) - float((copies * sx["k"] * sy["k"]).sum())
        if not self.unbiased:
            return tr
        # unbiased HSIC (Song et al., 2012) of the resample's kernel with every copy pair zeroed
        n = sx["n"]
        sum_k = float(sx["s"] @ sx["s"] - (c * c) @ sx["k"])
        sum_l = float(sy["s"] @ sy["s"] - (c * c) @ sy["k"])
        row_k = sx["V"] @ sx["s"] - c * sx["k"]
        row_l = sy["V"] @ sy["s"] - c * sy["k"]
        value = tr + sum_k * sum_l / ((n - 1) * (n - 2)) - 2.0 * float(c @ (row_k * row_l)) / (n - 2)
        return value / (n * (n - 3))


class _CknnaScorer(PairScorer):
    def __init__(self, name, fn, params):
        _only_k(name, params)
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
        from scipy.stats import rankdata  # lazy: scipy.stats takes ~1 s to import (keeps `align --help` fast)
        X = as_matrix(X, name, min_rows=3)
        n = X.shape[0]
        max_pairs = self.params.get("max_pairs", 2_000_000)
        if n * (n - 1) // 2 > max_pairs:  # a sampled estimate: no shortcut, score calls rsa itself
            return {"n": n, "X": X, "R": None}
        i, j = rsa_pairs(n, max_pairs)
        U = _unit_rows(X, name)
        R = np.zeros((n, n))
        R[i, j] = rankdata(_pair_cosines(U, i, j))
        return {"n": n, "X": X, "U": U, "R": R + R.T, "i": i, "j": j}

    def score(self, sx, sy, perm=None):
        if "idx" in sx:
            from scipy.stats import rankdata  # lazy: scipy.stats takes ~1 s to import (keeps `align --help` fast)
            i, j = np.triu_indices(sx["idx"].shape[0], 1)
            i, j = sx["idx"][i], sx["idx"][j]
            keep = i != j  # drop the pairs of two copies of one item
            i, j = i[keep], j[keep]
            return _pearson(rankdata(_pair_cosines(sx["U"], i, j)), rankdata(_pair_cosines(sy["U"], i, j)))
        if sx["R"] is None:
            return float(rsa(sx["X"], sy["X"] if perm is None else sy["X"][perm], **self.params))
        i, j = sx["i"], sx["j"]
        ry = sy["R"][i, j] if perm is None else sy["R"][perm[i], perm[j]]
        return _pearson(sx["R"][i, j], ry)

    def resample(self, state, idx):
        if state["R"] is None:
            return self.prepare(state["X"][idx])
        return {"n": idx.shape[0], "U": state["U"], "idx": idx}


def _pearson(rx, ry) -> float:
    rx, ry = rx - rx.mean(), ry - ry.mean()
    den = np.sqrt((rx @ rx) * (ry @ ry))
    if den == 0:
        raise ValidationError("rsa: all pairwise similarities of X or of Y are equal; the rank correlation "
                              "is undefined")
    return float((rx @ ry) / den)


_SCORERS = {"mutual_knn": _KnnScorer, "cycle_knn": _KnnScorer, "cka": _CkaScorer, "unbiased_cka": _CkaScorer,
            "cknna": _CknnaScorer, "rsa": _RsaScorer}


def get_scorer(metric, **params) -> PairScorer:
    """A :class:`PairScorer` for ``metric`` with fixed ``params``.

    Parameters
    ----------
    metric : str or callable
        A name in :data:`~align.metrics.registry.SIMILARITY` or a callable ``(X, Y, **params)``.
    **params
        Keyword arguments of the metric (e.g. ``k``).

    Returns
    -------
    PairScorer
        The specialised scorer of a registered metric, else the generic one.

    Raises
    ------
    ValidationError
        If ``metric`` is an unknown name or not callable.
    """
    name = metric_name(metric)
    fn = SIMILARITY[name] if isinstance(metric, str) else metric
    cls = _SCORERS.get(name, PairScorer) if fn is SIMILARITY.get(name) else PairScorer
    return cls(name, fn, params)
