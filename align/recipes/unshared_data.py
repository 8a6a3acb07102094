"""Data for the unshared-strings study: nested disjoint pools and chunked, cache-friendly embedding.

The split permutes the distinct strings of a corpus once (fixed by ``seed``) and lays it out as
``[eval | train | rest]``. Model A's pool grows from the front of ``rest``, model B's from the back,
so pools of 5k, 10k, ... are nested and never share a string. Embedding goes in fixed chunks along
each model's own sequence (``eval + train + pool``), so a bigger run reuses every cached chunk of a
smaller one (the cache is keyed on the exact texts).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validate import check_positive_int
from ..corpora import unique_text_indices
from ..exceptions import ValidationError

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
    from ..cache import embed
    from ..encoders import load_encoder
    if isinstance(model, str):
        model = load_encoder(model)  # weights load once, on the first chunk not in the cache
    out = [embed(texts[i:i + chunk], model, cache=cache, show_progress=show_progress).vectors
           for i in range(0, len(texts), chunk)]
    return np.concatenate(out).astype(np.float32)


def embed_split(texts, split: UnsharedSplit, model_a, model_b, *, cache: bool = True, timings: dict | None = None):
    """Embed each part with the models that see it. Returns a dict of float32 matrices:
    ``A_eval, B_eval, A_train, B_train, A_pool, B_pool``. Each model's sequence is
    ``eval + train + pool`` so chunk boundaries are the same for every pool size."""
    import time
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
