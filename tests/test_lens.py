"""Logit lens and vocabulary-defined semantics on a tiny randomly initialised decoder (offline)."""
import numpy as np
import pytest
import torch

from align.exceptions import AlignError, NotFittedError, ShapeError, ValidationError
from align.lens import LogitLens, SemanticCalibrator, language_token_sets, semantic_basis, semantic_logits


class _Tok:
    """Minimal tokenizer: characters → ids (enough for the lens plumbing)."""

    pad_token, eos_token, padding_side = "~", "~", "right"

    def __call__(self, texts, padding, truncation, max_length, return_tensors):
        ids = [[3 + (ord(c) % 40) for c in t][:max_length] for t in texts]
        n = max(map(len, ids))
        return {"input_ids": torch.tensor([x + [0] * (n - len(x)) for x in ids]),
                "attention_mask": torch.tensor([[1] * len(x) + [0] * (n - len(x)) for x in ids])}

    def decode(self, ids):
        return f"<{ids[0]}>"


@pytest.fixture(scope="module")
def tiny():
    from transformers import LlamaConfig, LlamaForCausalLM  # lazy: transformers is slow to import; only this fixture
    cfg = LlamaConfig(vocab_size=48, hidden_size=16, intermediate_size=32, num_hidden_layers=3,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=64)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = LlamaForCausalLM(cfg)
    return LogitLens(model, _Tok(), batch_size=2)


def test_last_layer_lens_equals_model_logits(tiny):
    texts = ["hello world", "abc", "a longer input here"]
    lp = tiny.layer_log_probs(texts, layers="all")
    assert sorted(lp) == [0, 1, 2, 3] and lp[3].shape == (3, 48)
    enc = tiny.tokenizer(texts, True, True, 64, "pt")
    with torch.inference_mode():
        logits = tiny.model(**enc).logits
    last = enc["attention_mask"].sum(1) - 1
    ref = torch.log_softmax(logits[torch.arange(3), last], -1).numpy()
    np.testing.assert_allclose(lp[3], ref, atol=1e-4)
    assert not np.allclose(lp[1], ref, atol=1e-2)


def test_top_tokens_and_mass(tiny):
    top = tiny.top_tokens(["hello", "xy"], layers=[1, -1], k=3)
    assert len(top) == 2 and sorted(top[0]) == [1, 3] and len(top[0][3]) == 3
    assert top[0][3][0][1] >= top[0][3][1][1]
    mass = tiny.token_set_mass(["hello", "xy"], {"low": range(0, 24), "high": range(24, 48)}, layers="all")
    for layer in mass:
        assert mass[layer]["low"] + mass[layer]["high"] == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ValidationError):
        tiny.top_tokens(["x"], layers=[9])
    with pytest.raises(ValidationError):
        tiny.token_set_mass(["x"], {})


def test_semantic_basis_reproduces_lm_head(tiny):
    W = tiny.head_weight                                  # (48, 16), full column rank
    B = semantic_basis(W)
    np.testing.assert_allclose(W @ B.T, (W @ np.linalg.pinv(W)), atol=1e-4)  # W b_v = projection of e_v
    rng = np.random.default_rng(0)
    H = rng.standard_normal((20, 16))
    dot_head = semantic_logits(H, W, kind="dot", metric="head")
    np.testing.assert_allclose(dot_head, H @ W.T, rtol=1e-3, atol=1e-3)  # LM-head logits exactly
    assert (np.argsort(-dot_head, 1)[:, :5] == np.argsort(-(H @ W.T), 1)[:, :5]).all()
    # in-span points: a token's own basis vector is its own nearest semantic neighbour
    for kind in ("cosine", "distance"):
        for metric in ("euclidean", "head"):
            assert (semantic_logits(B[:10], W, kind=kind, metric=metric).argmax(1) == np.arange(10)).all()


def test_semantic_logits_bad_input(tiny):
    W = tiny.head_weight
    with pytest.raises(ShapeError):
        semantic_logits(np.ones((2, 5)), W)
    with pytest.raises(ValidationError):
        semantic_logits(np.full((2, 16), np.nan), W)
    with pytest.raises(ValidationError):
        semantic_logits(np.ones((2, 16)), W, kind="manhattan")


def test_calibration_clusters_around_label_tokens():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((60, 12))
    B = semantic_basis(W)
    tokens = np.array([5, 17, 42])
    y = rng.integers(0, 3, 600)
    scale = np.linalg.norm(B[tokens], axis=1).mean()
    # a systematic distortion: every state is pulled 60% of the way towards the first label's basis
    H = 0.4 * B[tokens[y]] + 0.6 * B[tokens[0]] + 0.02 * scale * rng.standard_normal((600, 12))
    before = (np.linalg.norm(H[:, None] - B[tokens][None], axis=2).argmin(1) == y)[400:].mean()
    cal = SemanticCalibrator(rank=None, steps=400, lr=0.05, temperature=0.1).fit(H[:400], y[:400], W, tokens)
    after = (cal.predict(H[400:]) == y[400:]).mean()
    assert after > 0.95 and after > before + 0.1
    with pytest.raises(NotFittedError):
        SemanticCalibrator().predict(H)
    with pytest.raises(AlignError):
        SemanticCalibrator().fit(H, y[:10], W, tokens)
    with pytest.raises(AlignError):
        SemanticCalibrator().fit(H, y, W, [5])


def test_token_set_mass_positions_and_per_text(tiny):
    texts = ["hello world", "abc", "a longer input here"]
    sets = {"low": range(0, 24), "high": range(24, 48)}
    full = tiny.token_set_mass(texts, sets, layers=[1, 3], per_text=True)
    assert full[1]["low"].shape == (3,)
    # at least as many sampled positions as tokens = every token
    capped = tiny.token_set_mass(texts, sets, layers=[1, 3], max_positions=64, per_text=True)
    np.testing.assert_allclose(capped[3]["low"], full[3]["low"], atol=1e-6)
    few = tiny.token_set_mass(texts, sets, layers=[3], max_positions=2, per_text=True)
    # "abc" has 3 tokens: positions 0 and 1 (floor(j * 3 / 2)); check against the per-position lens
    lp = tiny.layer_log_probs(["a", "ab"], layers=[3])[3]            # last-token lens at positions 0 and 1
    np.testing.assert_allclose(few[3]["low"][1], np.exp(lp[:, :24]).sum(1).mean(), atol=1e-5)
    mean = tiny.token_set_mass(texts, sets, layers=[3])
    assert mean[3]["low"] == pytest.approx(full[3]["low"].mean())
    with pytest.raises(ValidationError):
        tiny.token_set_mass(texts, {"bad": [48]})
    with pytest.raises(ValidationError):
        tiny.token_set_mass(texts, sets, max_positions=0)


class _WordTok:
    """Word-level tokenizer over a fixed vocabulary (id 0 = special)."""

    all_special_ids = [0]

    def __init__(self, words):
        self.vocab = {w: i + 1 for i, w in enumerate(words)}
        self.inv = {i: w for w, i in self.vocab.items()}

    def __call__(self, texts):
        return {"input_ids": [[0] + [self.vocab[w] for w in t.split()] for t in texts]}

    def decode(self, ids):
        return self.inv.get(ids[0], "")


def test_language_token_sets():
    tok = _WordTok(["the", "and", "ndi", "mwa", "Moses", ",", "rare", "rareny"])
    en = ["the Moses and , the"] * 10 + ["rare"] * 2
    ny = ["ndi Moses mwa , ndi"] * 10 + ["the"] + ["rareny"] * 2
    sets = language_token_sets(tok, {"en": en, "ny": ny}, min_count=5, ratio=5)
    ids = {k: [tok.decode([t]) for t in v] for k, v in sets.items()}
    # shared name and punctuation excluded; rare tokens below min_count excluded; most frequent first
    assert ids == {"en": ["the", "and"], "ny": ["ndi", "mwa"]}
    loose = language_token_sets(tok, {"en": en, "ny": ny}, min_count=1, ratio=1, letters_only=False)
    assert "rare" in [tok.decode([t]) for t in loose["en"]]
    with pytest.raises(ValidationError):
        language_token_sets(tok, {"en": en})
    with pytest.raises(ValidationError):
        language_token_sets(tok, {"en": en, "ny": ny}, ratio=0.5)
    with pytest.raises(ValidationError):
        language_token_sets(tok, {"en": en, "ny": "one string"})
