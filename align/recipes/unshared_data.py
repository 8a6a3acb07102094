"""Data for the unshared-strings study: nested disjoint pools and chunked, cache-friendly embedding.

The split permutes the distinct strings of a corpus once (fixed by ``seed``) and lays it out as
``[eval | train | rest]``. Model A's pool grows from the front of ``rest``, model B's from the back,
so pools of 5k, 10k, ... are nested and never share a string. Embedding goes in fixed chunks along
each model's own sequence (``eval + train + pool``), so a bigger run reuses every cached chunk of a
smaller one (the cache is keyed on the exact texts).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .._validate import check_positive_int
from ..cache import embed
from ..corpora import dictionary, unique_text_indices
from ..encoders import load_encoder
from ..exceptions import DataNotAvailableError, ValidationError
from ..compute import csls_knn, knn

CHUNK = 1000


@dataclass
class UnsharedSplit:
    """Corpus row indices. ``pool_a`` (model A only), ``pool_b`` (model B only), ``eval`` and
    ``train`` (both models; ``train`` gives the supervised ceiling) share no string."""

    eval: np.ndarray
    train: np.ndarray
    pool_a: np.ndarray
    pool_b: np.ndarray
    max_pool: int

    def check_disjoint(self, texts) -> None:
        """Raise ValidationError if any string appears in two parts (the study's premise)."""
        parts = {name: {texts[i].strip() for i in getattr(self, name)}
                 for name in ("eval", "train", "pool_a", "pool_b")}
        names = list(parts)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                shared = parts[a] & parts[b]
                if shared:
                    raise ValidationError(f"{a} and {b} share {len(shared)} strings, e.g. {next(iter(shared))!r}")


def unshared_split(texts, n_pool: int, *, n_eval: int = 1000, n_train: int = 1000, seed: int = 0) -> UnsharedSplit:
    """Nested disjoint split (see the module docstring). Raises ValidationError if the corpus is too small."""
    n_pool = check_positive_int(n_pool, "n_pool")
    n_eval = check_positive_int(n_eval, "n_eval")
    n_train = check_positive_int(n_train, "n_train", minimum=0)
    uniq = unique_text_indices(texts)
    perm = np.random.default_rng(seed).permutation(uniq)
    rest = perm[n_eval + n_train:]
    max_pool = len(rest) // 2
    if n_pool > max_pool:
        raise ValidationError(f"n_pool={n_pool} needs {2 * n_pool + n_eval + n_train} distinct strings; "
                              f"the corpus has {len(uniq)} (largest pool here: {max_pool})")
    return UnsharedSplit(perm[:n_eval], perm[n_eval:n_eval + n_train], rest[:n_pool], rest[::-1][:n_pool], max_pool)


def embed_chunked(texts: list, model, *, chunk: int = CHUNK, cache: bool = True, show_progress=False):
    """Embed ``texts`` in fixed chunks of ``chunk`` strings (each chunk a cache entry) → (n, d) float32."""
    if isinstance(model, str):
        model = load_encoder(model)  # weights load once, on the first chunk not in the cache
    out = [embed(texts[i:i + chunk], model, cache=cache, show_progress=show_progress).vectors
           for i in range(0, len(texts), chunk)]
    return np.concatenate(out).astype(np.float32)


def embed_split(texts, split: UnsharedSplit, model_a, model_b, *, cache: bool = True, timings: dict | None = None):
    """Embed each part with the models that see it. Returns a dict of float32 matrices:
    ``A_eval, B_eval, A_train, B_train, A_pool, B_pool``. Each model's sequence is
    ``eval + train + pool`` so chunk boundaries are the same for every pool size."""
    out = {}
    for side, model, pool in (("A", model_a, split.pool_a), ("B", model_b, split.pool_b)):
        t0 = time.perf_counter()
        head = [texts[i] for i in np.concatenate([split.eval, split.train])]
        vec_head = embed_chunked(head, model, cache=cache)
        vec_pool = embed_chunked([texts[i] for i in pool], model, cache=cache)
        n_e = len(split.eval)
        out[f"{side}_eval"], out[f"{side}_train"], out[f"{side}_pool"] = vec_head[:n_e], vec_head[n_e:], vec_pool
        if timings is not None:
            timings[f"embed_{side}_s"] = round(time.perf_counter() - t0, 2)
    return out


# --------------------------------------------------------------------------- word level
def _ucu(A):
    """unit → centre → unit (VecMap's normalisation, Artetxe et al. 2018, arXiv 1805.06297)."""
    A = A / np.maximum(np.linalg.norm(A, axis=1, keepdims=True), 1e-12)
    A = A - A.mean(0)
    return (A / np.maximum(np.linalg.norm(A, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def reduce_dim(Y: np.ndarray, dim: int) -> np.ndarray:
    """Normalise (unit-centre-unit) and project ``Y`` (n, d) onto its top ``dim`` principal axes,
    then normalise again → (n, min(dim, d)) float32. Uses ``Y`` alone (no pairs)."""
    Y = _ucu(Y).astype(np.float64)
    if dim and dim < Y.shape[1]:
        _, _, Vt = np.linalg.svd(Y - Y.mean(0), full_matrices=False)
        Y = Y @ Vt[:dim].T
    return _ucu(Y)


def word_data(source: str, target: str, pair: str, n_words: int, n_test: int, seed: int, *, target_dim: int = 0):
    """English/French word vectors and gold translations.

    Returns a dict: ``X`` (n_words, d_x) and ``Y`` (n_words, d_y) float32 (the ``n_words`` most
    frequent words of each side, NOT paired), ``words_x``/``words_y``, ``test`` (list of
    (row of X, [rows of Y])) for evaluation, ``train`` (m, 2) int64 gold (row X, row Y) pairs of
    other source words (the supervised ceiling). Raises DataNotAvailableError if the dictionary
    or a vector set is missing.
    """
    gold = dictionary(pair)
    try:
        wx, X = load_encoder(source).word_vectors(top=n_words)
        wy, Y = load_encoder(target).word_vectors(top=n_words)
    except (ImportError, OSError) as exc:
        raise DataNotAvailableError(f"word vectors not available: {exc}") from None
    ix = {w: i for i, w in enumerate(wx)}
    iy = {w: i for i, w in enumerate(wy)}
    by_src: dict = {}
    for s, t in gold:
        s, t = s.strip().lower(), t.strip()
        tj = iy.get(t, iy.get(t.lower()))
        if s in ix and tj is not None:
            by_src.setdefault(ix[s], set()).add(tj)
    X, Y = _ucu(X), reduce_dim(Y, target_dim)
    if len(by_src) < 20:
        raise DataNotAvailableError(f"only {len(by_src)} dictionary entries fall in both vocabularies")
    srcs = np.array(sorted(by_src))
    perm = np.random.default_rng(seed).permutation(srcs)
    n_test = min(n_test, len(perm) // 2)
    test = [(int(i), sorted(by_src[i])) for i in sorted(perm[:n_test])]
    train = np.array([(i, j) for i in sorted(perm[n_test:]) for j in sorted(by_src[i])], np.int64)
    return {"X": X, "Y": Y, "words_x": wx, "words_y": wy, "test": test, "train": train,
            "n_gold_sources": int(len(srcs))}


def precision_at_k(pred: np.ndarray, Y: np.ndarray, test: list, *, ks=(1, 5), csls_k: int = 10) -> dict:
    """P@k of translated source words ``pred`` (n_test, d_y) against all of ``Y`` (n_y, d_y) by CSLS
    (``csls_k`` > 0) or cosine (``csls_k`` = 0): a hit when any gold translation is in the top k.
    Returns ``{"p@1": ..., "p@5": ..., "hits@1": (n_test,) bool list}``."""
    if len(pred) != len(test):
        raise ValidationError(f"pred has {len(pred)} rows but there are {len(test)} test words")
    k = max(ks)
    if csls_k:
        _, I = csls_knn(pred, Y, k, csls_k=csls_k)
    else:
        _, I = knn(pred, Y, k, metric="cosine")
    out = {}
    for kk in ks:
        hits = np.array([bool(set(I[r, :kk].tolist()) & set(g)) for r, (_, g) in enumerate(test)])
        out[f"p@{kk}"] = float(hits.mean())
        out[f"hits@{kk}"] = hits
    return out
