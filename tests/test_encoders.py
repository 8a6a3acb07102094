"""Real packaged encoders, offline, on a handful of strings (marker: models)."""
import numpy as np
import pytest

from align import embed, list_encoders, load_encoder
from align.encoders import get_info
from align.exceptions import ModelNotAvailableError, ValidationError

DEFAULTS = ["minilm-l6", "minilm-l3-onnx", "e5-small", "smollm2-135m", "glove-en-50d", "fasttext-fr-300d"]
SENTENCE = ["minilm-l6", "minilm-l3-onnx", "e5-small"]
TEXTS = ["A man is playing a guitar.", "Someone is strumming a guitar.",
         "The central bank raised interest rates again.", "In the beginning God created the heaven and the earth."]


def _cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def encoders():
    return {name: load_encoder(name, device="cpu") for name in DEFAULTS}


def test_registry_covers_three_families_and_five_encoders():
    installed = [e for e in list_encoders() if e.installed]
    names = {e.name for e in installed}
    assert set(DEFAULTS) <= names, "run `make install`: packaged models are missing"
    assert len({e.family for e in installed}) >= 3 and len(installed) >= 5
    assert get_info("smollm2-135m").n_layers == 30


def test_unknown_and_uninstalled():
    with pytest.raises(ModelNotAvailableError, match="unknown encoder"):
        load_encoder("gpt-17")
    missing = [e.name for e in list_encoders() if not e.installed]
    for name in missing:
        with pytest.raises(ModelNotAvailableError, match="needs the package"):
            load_encoder(name).encode(["x"])


@pytest.mark.models
@pytest.mark.parametrize("name", DEFAULTS)
def test_shape_finite_deterministic(encoders, name):
    enc = encoders[name]
    a = enc.encode(TEXTS)
    b = enc.encode(TEXTS[::-1])[::-1]
    assert a.shape == (4, enc.info.dim) and a.dtype == np.float32
    assert np.isfinite(a).all()
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)  # batch order does not matter


@pytest.mark.models
@pytest.mark.parametrize("name", SENTENCE)
def test_paraphrase_closer_than_unrelated(encoders, name):
    X = encoders[name].encode(TEXTS)
    assert _cos(X[0], X[1]) > _cos(X[0], X[2]) + 0.05
    assert _cos(X[0], X[1]) > _cos(X[0], X[3]) + 0.05


@pytest.mark.models
def test_decoder_every_layer_and_poolings(encoders):
    enc = encoders["smollm2-135m"]
    states = enc.encode_layers(TEXTS[:2], layers="all", pooling="mean")
    assert sorted(states) == list(range(31))
    assert all(v.shape == (2, 576) and np.isfinite(v).all() for v in states.values())
    last = enc.encode(TEXTS[:2], layer=-1, pooling="last")
    np.testing.assert_allclose(enc.encode(TEXTS[:2], layer=None, pooling="mean"), states[30], rtol=1e-5, atol=1e-5)
    assert not np.allclose(last, states[30])
    # right padding must not leak into last-token pooling: a text alone equals the text in a batch
    alone = enc.encode([TEXTS[3]], layer=12, pooling="last")
    batched = enc.encode([TEXTS[3], "short"], layer=12, pooling="last")[:1]
    np.testing.assert_allclose(alone, batched, rtol=1e-3, atol=1e-3)
    with pytest.raises(ValidationError):
        enc.encode(TEXTS, layer=31)


@pytest.mark.models
def test_random_control_differs_from_trained(encoders):
    rand = load_encoder("smollm2-135m-random", device="cpu")
    a = rand.encode(TEXTS[:2], layer=15)
    b = load_encoder("smollm2-135m-random", device="cpu").encode(TEXTS[:2], layer=15)
    np.testing.assert_allclose(a, b, rtol=1e-5)  # seeded
    assert not np.allclose(a, encoders["smollm2-135m"].encode(TEXTS[:2], layer=15), atol=1e-2)


@pytest.mark.models
def test_sentence_encoder_layers(encoders):
    enc = encoders["minilm-l6"]
    mid = enc.encode(TEXTS, layer=3)
    assert mid.shape == (4, 384) and not np.allclose(mid, enc.encode(TEXTS))
    with pytest.raises(ValidationError, match="single output"):
        encoders["e5-small"].encode(TEXTS, layer=2)


@pytest.mark.models
def test_word_vectors(encoders):
    en, fr = encoders["glove-en-50d"], encoders["fasttext-fr-300d"]
    k, q, c = en.encode(["king", "queen", "carrot"])
    assert _cos(k, q) > _cos(k, c) + 0.2
    r, e, t = fr.encode(["roi", "reine", "carotte"])
    assert _cos(r, e) > _cos(r, t) + 0.1
    words, vecs = fr.word_vectors(top=100)
    assert len(words) == 100 and vecs.shape == (100, 300) and "de" in words[:5]
    assert en.vocabulary(top=3) == ["the", ",", "."]
    zero = en.encode(["qwzxv blorft"])
    assert not zero.any()  # no known token → zero vector (documented)
    assert en.coverage(["the king"]) == 1.0


@pytest.mark.models
def test_embed_through_cache(encoders):
    a = embed(TEXTS, encoders["minilm-l3-onnx"])
    b = embed(TEXTS, "minilm-l3-onnx")
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert a.meta["fingerprint"].startswith("minilm-l3-onnx|")
