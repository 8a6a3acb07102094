"""Offline toy per-layer encoders for tests: one layer carries a signal shared by every toy model."""
import hashlib

import numpy as np

from align.encoders import Encoder, EncoderInfo


def text_seed(text: str) -> int:
    """A stable integer per string (the same in every process)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


class ToyLayers(Encoder):
    """``n_layers`` layers of 6-d vectors: layer ``shared`` is a per-text signal common to every
    ToyLayers model plus ``noise`` × model-specific noise; every other layer is noise alone."""

    def __init__(self, name, shared, n_layers=3, *, noise=0.2, batch_size=8):
        super().__init__(EncoderInfo(name=name, family="toy", kind="sentence", dim=6, n_layers=n_layers), "cpu",
                         batch_size)
        self.shared = shared
        self.noise = noise

    def _load(self):
        return object()

    def _encode_batch(self, texts, layers, pooling):
        out = {}
        for layer in layers:
            rows = []
            for t in texts:
                seed = text_seed(t)
                signal = np.random.default_rng(seed).standard_normal(6)
                noise = np.random.default_rng([seed, layer, len(self.name)]).standard_normal(6)
                rows.append(signal + self.noise * noise if layer == self.shared else noise)
            out[layer] = np.array(rows, np.float32)
        return out
