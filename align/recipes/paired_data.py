"""Data for translation studies: a canonical text order, cached block-wise embedding, and splits.

Every run of a study on one corpus uses the same seeded permutation of the corpus's distinct strings
and embeds it in fixed blocks of ``BLOCK`` texts. Each block is its own cache entry, so a run that
needs the first 12,000 texts reuses the blocks that a 4,000-text run already embedded, whatever the
number of training pairs, seeds or methods. The splits are contiguous slices of that order:

    [ eval (n_eval) | paired train pool (n_train) | unpaired target pool (n_pool) ]

so no string is shared between parts. The unpaired pool feeds unsupervised aligners, which must not
see the target side of the training strings.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..cache import embed
from ..corpora import unique_text_indices
from ..encoders import Encoder, load_encoder
from ..exceptions import ValidationError

BLOCK = 1000


def canonical_order(texts, seed: int = 0) -> np.ndarray:
    """Indices of the distinct strings of ``texts`` in a seeded random order, (m,) int64."""
    return np.random.default_rng(seed).permutation(unique_text_indices(texts))


def embed_blocks(texts, model, *, layer=None, pooling=None, cache: bool = True, block: int = BLOCK,
                 show_progress=None) -> np.ndarray:
    """Embed ``texts`` (already in canonical order) block by block → (n, d) float32.

    ``model`` is an encoder name or an :class:`Encoder`; a name is loaded once and its weights are
    read only if some block is missing from the cache.
    """
    enc = model if isinstance(model, Encoder) else load_encoder(model)
    parts = [embed(texts[a:a + block], enc, layer=layer, pooling=pooling, cache=cache,
                   show_progress=show_progress).vectors for a in range(0, len(texts), block)]
    return np.concatenate(parts, axis=0)


@dataclass
class PairedData:
    """Row-aligned source/target vectors of the eval and train parts, plus an unpaired target pool.

    ``X_*``: source vectors (n, d_x); ``Y_*``: target vectors (n, d_y); ``labels_eval``: the corpus
    categories of the eval rows (or None); ``Y_pool``: target vectors of strings disjoint from both
    (empty when ``n_pool`` is 0).
    """

    X_eval: np.ndarray
    Y_eval: np.ndarray
    X_train: np.ndarray
    Y_train: np.ndarray
    Y_pool: np.ndarray
    labels_eval: list | None
    ids_eval: list

    def zscored(self) -> "PairedData":
        """Each dimension centred and scaled by the training pool's mean and std, on each side.

        Mean-pooled decoder states have a few huge outlier dimensions that swamp cosine similarity;
        z-scoring gives every dimension a say (see shared notes on SmolLM2 middle layers).
        """
        def stats(A):
            return A.mean(0), np.maximum(A.std(0), 1e-6)
        mx, sx = stats(self.X_train)
        my, sy = stats(self.Y_train)
        zx = lambda A: ((A - mx) / sx).astype(np.float32)  # noqa: E731
        zy = lambda A: ((A - my) / sy).astype(np.float32)  # noqa: E731
        return PairedData(zx(self.X_eval), zy(self.Y_eval), zx(self.X_train), zy(self.Y_train),
                          zy(self.Y_pool) if len(self.Y_pool) else self.Y_pool, self.labels_eval, self.ids_eval)


def _resolve_layer(spec: str):
    """``"smollm2-135m@15"`` → ("smollm2-135m", 15); ``"minilm-l6"`` → ("minilm-l6", None)."""
    if "@" not in spec:
        return spec, None
    name, layer = spec.rsplit("@", 1)
    try:
        return name, int(layer)
    except ValueError:
        raise ValidationError(f"encoder spec {spec!r}: the part after '@' must be a layer number") from None


def load_paired(corpus, source: str, target: str, *, n_eval: int, n_train: int, n_pool: int = 0,
                data_seed: int = 0, cache: bool = True, timings: dict | None = None) -> PairedData:
    """Embed the canonical slices of ``corpus`` with ``source`` and ``target``.

    Encoder specs may name a layer: ``"smollm2-135m@15"`` (mean-pooled hidden state 15).
    """
    order = canonical_order(corpus.texts, data_seed)
    need = n_eval + n_train + n_pool
    if need > len(order):
        raise ValidationError(f"n_eval + n_train + n_pool = {need} but {corpus.name} has only "
                              f"{len(order)} distinct strings")
    texts = [corpus.texts[i] for i in order[:need]]
    vecs = {}
    for role, spec, n in (("source", source, n_eval + n_train), ("target", target, need)):
        name, layer = _resolve_layer(spec)
        t0 = time.perf_counter()
        vecs[role] = embed_blocks(texts[:n], name, layer=layer, cache=cache)
        if timings is not None:
            timings[f"embed_{role}_s"] = round(time.perf_counter() - t0, 3)
    X, Y = vecs["source"], vecs["target"]
    e, t = n_eval, n_eval + n_train
    labels = None if corpus.labels is None else [corpus.labels[i] for i in order[:e]]
    return PairedData(X[:e], Y[:e], X[e:t], Y[e:t], Y[t:need], labels, [corpus.ids[i] for i in order[:e]])
