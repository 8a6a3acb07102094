"""Method specs and the word-level data of the unshared-strings study (:mod:`align.recipes.align_unshared`).

A method spec is a string ``"ClassName"`` or ``"ClassName(key=value,key=value)"`` (``;`` also
separates parameters, which is handier on a shell's ``--set``); values are parsed as JSON when they
can be (``3``, ``0.5``, ``true``, ``null``), else kept as strings. ``ClassName`` must be an
unsupervised aligner of :data:`align.base.ALIGNERS`.
"""
from __future__ import annotations

import inspect
import json
import re

import numpy as np

from ..base import ALIGNERS
from ..exceptions import DataNotAvailableError, ValidationError

_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.S)


def parse_spec(spec: str) -> tuple[str, dict]:
    """``"Name(a=1,b=x)"`` → ``("Name", {"a": 1, "b": "x"})``; raises ValidationError on bad syntax
    or an unknown / supervised class."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValidationError(f"a method spec must be a non-empty string like 'Name(key=value)'; got {spec!r}")
    m = _SPEC.match(spec)
    if m is None:
        raise ValidationError(f"cannot parse method spec {spec!r}; expected 'Name' or 'Name(key=value,...)'")
    name, body = m.group(1), m.group(2)
    import align.unsupervised  # noqa: F401  (registers the aligners)
    from ..unsupervised import restarts  # noqa: F401  (RestartsAligner)
    cls = ALIGNERS.get(name)
    if cls is None or getattr(cls, "supervised", True):
        unsup = sorted(n for n, c in ALIGNERS.items() if not getattr(c, "supervised", True))
        raise ValidationError(f"{name!r} is not an unsupervised aligner; available: {', '.join(unsup)}")
    params = {}
    for part in re.split(r"[,;]", body or ""):
        if not part.strip():
            continue
        if "=" not in part:
            raise ValidationError(f"parameter {part!r} of {spec!r} must be key=value")
        key, raw = (s.strip() for s in part.split("=", 1))
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    allowed = inspect.signature(cls.__init__).parameters
    unknown = [k for k in params if k not in allowed]
    if unknown:
        raise ValidationError(f"{name} has no parameter(s) {unknown}; it takes "
                              f"{', '.join(p for p in allowed if p != 'self')}")
    return name, params


def build(spec: str, seed: int):
    """A fresh aligner for ``spec`` with its ``seed``/``random_state`` set to ``seed``."""
    name, params = parse_spec(spec)
    cls = ALIGNERS[name]
    allowed = inspect.signature(cls.__init__).parameters
    for key in ("seed", "random_state"):
        if key in allowed:
            params[key] = seed
    try:
        return cls(**params)
    except TypeError as exc:  # pragma: no cover - parse_spec checked the names
        raise ValidationError(f"cannot build {spec!r}: {exc}") from None


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
    from ..corpora import dictionary
    from ..encoders import load_encoder
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
    from ..search import csls_knn, knn
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
