import os
import warnings

import numpy as np
import pytest

import align.embeddings as emb
from align import embed, embed_layers
from align.cache import cache_root
from align.encoders import Encoder, EncoderInfo
from align.exceptions import ModelNotAvailableError, ShapeError, ValidationError


class CountingEncoder(Encoder):
    """Deterministic fake encoder that counts model work."""

    def __init__(self, n_layers=2):
        super().__init__(EncoderInfo("fake", "fake", "decoder", 4, n_layers, poolings=("mean", "last")),
                         device="cpu", batch_size=2)
        self.loads = 0
        self.encoded = 0

    def _load(self):
        self.loads += 1
        return object()

    def _encode_batch(self, texts, layers, pooling):
        self.encoded += len(texts)
        base = np.array([[len(t), sum(map(ord, t)) % 97, t.count(" "), 1.0] for t in texts], np.float32)
        return {layer: base * (1 + (layer or 0)) + (pooling == "last") for layer in layers}


TEXTS = ["a short one", "a much longer sentence here", "mid length", "x"]


def test_second_call_does_no_model_work():
    enc = CountingEncoder()
    a = embed(TEXTS, enc, layer=1)
    assert enc.encoded == 4 and enc.loads == 1
    fresh = CountingEncoder()
    b = embed(TEXTS, fresh, layer=1)
    assert fresh.encoded == 0 and fresh.loads == 0  # weights never loaded
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert b.texts == TEXTS and b.layer == 1 and b.pooling == "mean" and b.model == "fake"


def test_order_is_preserved_despite_length_sorting():
    es = embed(TEXTS, CountingEncoder(), layer=0, cache=False)
    np.testing.assert_array_equal(es.vectors[:, 0], [len(t) for t in TEXTS])


def test_key_depends_on_layer_pooling_and_texts():
    enc = CountingEncoder()
    embed(TEXTS, enc, layer=0)
    n = enc.encoded
    embed(TEXTS, enc, layer=0, pooling="last")
    embed(TEXTS, enc, layer=2)
    embed(TEXTS[::-1], enc, layer=0)
    assert enc.encoded == n + 12


def test_embed_layers_computes_only_missing_layers():
    enc = CountingEncoder()
    embed(TEXTS, enc, layer=1, pooling="last")
    sets = embed_layers(TEXTS, enc, layers="all", pooling="last")
    assert [s.layer for s in sets] == [0, 1, 2]
    assert enc.encoded == 8  # one pass for layers 0 and 2
    np.testing.assert_array_equal(sets[2].vectors, embed(TEXTS, CountingEncoder(), layer=-1, pooling="last").vectors)


def test_cache_root_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIGN_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c"
    embed(TEXTS, CountingEncoder(), layer=0)
    files = [f for _, _, fs in os.walk(tmp_path / "c") for f in fs]
    assert sorted(f.rsplit(".", 1)[1] for f in files) == ["json", "safetensors"]


def test_killed_write_leaves_no_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIGN_CACHE", str(tmp_path))

    def killed(path, obj):
        raise KeyboardInterrupt  # dies after the vector file, before the sidecar

    monkeypatch.setattr(emb, "atomic_write_json", killed)
    with pytest.raises(KeyboardInterrupt):
        embed(TEXTS, CountingEncoder(), layer=0)
    monkeypatch.undo()
    monkeypatch.setenv("ALIGN_CACHE", str(tmp_path))
    enc = CountingEncoder()
    embed(TEXTS, enc, layer=0)
    assert enc.encoded == 4  # the half-written entry was not trusted
    leftovers = [f for _, _, fs in os.walk(tmp_path) for f in fs if f.startswith(".tmp-")]
    assert leftovers == []


def test_corrupt_entry_is_recomputed(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIGN_CACHE", str(tmp_path))
    good = embed(TEXTS, CountingEncoder(), layer=0).vectors
    vec = next(p for p in tmp_path.rglob("*.safetensors"))
    vec.write_bytes(vec.read_bytes()[:40])
    enc = CountingEncoder()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        again = embed(TEXTS, enc, layer=0)
    assert enc.encoded == 4 and any("corrupt" in str(x.message) for x in w)
    np.testing.assert_array_equal(again.vectors, good)
    assert embed(TEXTS, CountingEncoder(), layer=0).vectors.shape == (4, 4)


def test_ids_and_labels_are_attached_not_keyed():
    es = embed(TEXTS, CountingEncoder(), layer=0, ids=list("abcd"), labels=list("xxyy"))
    assert es.ids == list("abcd") and es.labels == list("xxyy")
    with pytest.raises(ShapeError):
        embed(TEXTS, CountingEncoder(), layer=0, ids=["a"])


@pytest.mark.parametrize("texts", [[], "a single string", ["ok", 3], None])
def test_bad_texts(texts):
    with pytest.raises(ValidationError):
        embed(texts, CountingEncoder(), layer=0)


def test_bad_model_layer_pooling():
    with pytest.raises(ModelNotAvailableError, match="unknown encoder"):
        embed(["a"], "no-such-model")
    with pytest.raises(ValidationError):
        embed(["a"], 42)
    with pytest.raises(ValidationError, match="hidden states 0..2"):
        embed(["a"], CountingEncoder(), layer=3)
    with pytest.raises(ValidationError, match="pooling"):
        embed(["a"], CountingEncoder(), layer=0, pooling="max")
