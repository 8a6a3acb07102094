"""Reading a decoder's hidden states through its own output layer.

Logit lens
----------
:class:`LogitLens` (nostalgebraist, 2020, "interpreting GPT: the logit lens"): project the hidden
state of any layer through the model's final norm and LM head, giving a next-token distribution per
layer. Convention (transformers): ``hidden_states[L]`` already carries the final norm, so layers
``0..L-1`` get ``softmax(W norm(h))`` and layer ``L`` gets ``softmax(W h)`` — at the last layer the lens
equals the model's own logits. With tied input/output embeddings (SmolLM2) layer 0 mostly "predicts"
the input token itself, so the lens at layer 0 reads the input, not a prediction.
:meth:`LogitLens.token_set_mass` sums the lens distribution over named token sets (e.g. the tokens
of one language, :func:`language_token_sets`) to ask which language a layer "thinks in"
(Wendler et al., 2024, arXiv 2402.10588; Wu et al., 2024, arXiv 2411.04986).

Vocabulary-defined semantics (Gu et al., 2024, arXiv 2401.16184)
------------------------------------------------------------------
Let ``W`` (V × d) be the LM head, so the logits of a (normed) hidden state ``h`` are ``z = W h``.

- **Semantic basis.** For token v, ``b_v = W⁺ e_v`` (``W⁺`` the Moore–Penrose pseudoinverse, ``e_v``
  the one-hot vector): the least-norm hidden state whose logits are as close as possible to
  ``e_v``. Stacked as rows, ``B = (W⁺)ᵀ`` (V × d); from the SVD ``W = U S Rᵀ``, ``B = U S⁻¹ Rᵀ``. When W
  has full column rank (V ≫ d in practice) ``b_v = G⁻¹ w_v`` with ``G = WᵀW`` and ``w_v`` the v-th row.
- **Dot logits are basis similarities in the head metric.** ``b_vᵀ G h = e_vᵀ (W⁺)ᵀ Wᵀ W h =
  e_vᵀ (W W⁺)ᵀ W h = e_vᵀ W h = z_v``, because ``W W⁺`` is the symmetric projector onto the column
  space of W and ``W W⁺ W = W`` (true for any rank). So ``semantic_logits(kind="dot", metric="head")``
  is the LM head exactly, and ``kind="cosine"`` / ``"distance"`` (``-‖h - b_v‖²``) replace the inner
  product by an angle or a distance, in the Euclidean metric (``metric="euclidean"``, the paper's
  latent-space similarity) or the head metric ``⟨x, y⟩_G = xᵀ G y``.
- **In-span states.** The basis spans the row space of W. A hidden state that *is* a basis vector
  (or a positive multiple of one, for cosine) has its own token as the most similar under cosine and
  distance logits, whereas its dot-product logits ``W b_v = W W⁺ e_v`` (the projection of the one-hot)
  need not peak at v when another token's projection is longer — the reason to prefer angle or
  distance to the basis over raw dot products.
- **Semantic calibration.** :class:`SemanticCalibrator` learns a small residual map ``f(h) = h + h A
  + c`` so that hidden states cluster around their label tokens' basis vectors (cross-entropy over
  ``-‖f(h) - b_v‖² / T`` for the label tokens), the paper's calibration of a classifier built on
  distance logits.
"""
from __future__ import annotations

import numpy as np
import torch

from ._validate import check_choice, check_matrix, check_positive_int, check_texts
from .encoders import Encoder, load_encoder
from .exceptions import NotFittedError, ShapeError, ValidationError


class LogitLens:
    """Logit lens over a Hugging Face causal LM (``model.model.norm`` and the output embeddings).

    >>> lens = LogitLens.from_encoder("smollm2-135m")               # doctest: +SKIP
    >>> lens.top_tokens(["The capital of France is"], layers=[10, 30], k=3)  # doctest: +SKIP
    """

    def __init__(self, model, tokenizer, *, batch_size: int = 16, max_length: int = 256):
        self.model = model.eval()
        self.tokenizer = tokenizer
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "right"
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.max_length = max_length
        self.n_layers = int(model.config.num_hidden_layers)
        self.device = next(model.parameters()).device

    @classmethod
    def from_encoder(cls, name="smollm2-135m", *, device: str = "auto", **kwargs) -> "LogitLens":
        """Build from a registered decoder (a name, or an Encoder object whose loaded weights are shared)."""
        enc = name if isinstance(name, Encoder) else load_encoder(name, device=device)
        if not hasattr(enc, "causal_lm"):
            raise ValidationError(f"encoder {enc.name!r} is not a decoder LLM; the logit lens needs an LM head")
        model, tok = enc.causal_lm()
        return cls(model, tok, **kwargs)

    @property
    def head_weight(self) -> np.ndarray:
        """LM-head matrix W, (V, d) float32."""
        return self.model.get_output_embeddings().weight.detach().float().cpu().numpy()

    def _layers(self, layers):
        if isinstance(layers, str) and layers == "all":
            return list(range(self.n_layers + 1))
        out = []
        for layer in layers:
            if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
                raise ValidationError(f"layers must be ints; got {layer!r}")
            layer = int(layer) + (self.n_layers + 1 if layer < 0 else 0)
            if not 0 <= layer <= self.n_layers:
                raise ValidationError(f"the model has hidden states 0..{self.n_layers}; got layer {layer}")
            out.append(layer)
        return out

    def logits_from_hidden(self, hidden: torch.Tensor, layer: int) -> torch.Tensor:
        """(…, d) hidden state of ``layer`` → (…, V) logits through the final norm (if not applied) and head."""
        if layer < self.n_layers:
            hidden = self.model.model.norm(hidden)
        return self.model.get_output_embeddings()(hidden)

    def _batches(self, texts):
        texts = check_texts(texts)
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start:start + self.batch_size]
            enc = self.tokenizer(chunk, padding=True, truncation=True, max_length=self.max_length,
                                 return_tensors="pt")
            enc = {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
            with torch.inference_mode():
                out = self.model.model(**enc, output_hidden_states=True)
            yield out.hidden_states, enc["attention_mask"]

    @torch.inference_mode()
    def _position_probs(self, hidden, mask, layer, position, max_positions=None):
        """(B, V) probabilities at the last token, or averaged over the non-pad tokens (``"mean"``;
        with ``max_positions`` = m, over at most m evenly spaced tokens per text, which bounds the
        cost of the (tokens x V) head projection on long texts)."""
        lengths = mask.long().sum(1).clamp_min(1)
        rows = torch.arange(hidden.shape[0], device=hidden.device)
        if position == "last":
            h = hidden[rows, lengths - 1]
            return torch.softmax(self.logits_from_hidden(h, layer).float(), -1)
        if max_positions is None:
            probs = torch.softmax(self.logits_from_hidden(hidden, layer).float(), -1)
            m = mask.unsqueeze(-1).float()
            return (probs * m).sum(1) / m.sum(1).clamp_min(1)
        m_b = lengths.clamp(max=max_positions)
        j = torch.arange(max_positions, device=hidden.device)
        valid = j[None, :] < m_b[:, None]                              # (B, m)
        pos = torch.where(valid, (j[None, :] * lengths[:, None]) // m_b[:, None], 0)
        probs = torch.softmax(self.logits_from_hidden(hidden[rows[:, None], pos], layer).float(), -1)
        w = valid.unsqueeze(-1).float()
        return (probs * w).sum(1) / w.sum(1)

    def layer_log_probs(self, texts, *, layers="all", position: str = "last") -> dict:
        """``{layer: (n, V) float32 log-probabilities}``; for small inputs (V floats per text per layer)."""
        check_choice(position, "position", ("last", "mean"))
        layers = self._layers(layers)
        parts = {layer: [] for layer in layers}
        for hidden, mask in self._batches(texts):
            for layer in layers:
                parts[layer].append(torch.log(self._position_probs(hidden[layer], mask, layer, position)
                                              .clamp_min(1e-30)).cpu().numpy())
        return {layer: np.concatenate(v) for layer, v in parts.items()}

    def top_tokens(self, texts, *, layers="all", k: int = 5, position: str = "last") -> list:
        """Per text, ``{layer: [(token string, log-prob), ...]}`` of the ``k`` most likely tokens."""
        check_choice(position, "position", ("last", "mean"))
        k = check_positive_int(k, "k")
        layers = self._layers(layers)
        result = []
        for hidden, mask in self._batches(texts):
            per_layer = {}
            for layer in layers:
                p = self._position_probs(hidden[layer], mask, layer, position)
                v, i = torch.topk(p, k, dim=-1)
                per_layer[layer] = (torch.log(v.clamp_min(1e-30)).cpu().numpy(), i.cpu().numpy())
            for b in range(mask.shape[0]):
                result.append({layer: [(self.tokenizer.decode([int(t)]), float(lp))
                                       for lp, t in zip(per_layer[layer][0][b], per_layer[layer][1][b])]
                               for layer in layers})
        return result

    def token_set_mass(self, texts, token_sets: dict, *, layers="all", position: str = "mean",
                       max_positions: int | None = None, per_text: bool = False) -> dict:
        """Probability mass the lens puts on each named set of token ids, per layer.

        ``token_sets``: ``{"en": [ids...], "ny": [ids...]}`` (e.g. from :func:`language_token_sets`).
        ``position``: ``"last"`` (the next-token distribution after the whole text) or ``"mean"``
        (averaged over the text's tokens; ``max_positions`` caps them, evenly spaced).
        Returns ``{layer: {name: mass}}`` averaged over texts — which language's tokens a layer
        "thinks in" — or with ``per_text=True`` ``{layer: {name: (n,) float64 array}}``.
        """
        check_choice(position, "position", ("last", "mean"))
        if max_positions is not None:
            max_positions = check_positive_int(max_positions, "max_positions")
        layers = self._layers(layers)
        if not token_sets:
            raise ValidationError("token_sets is empty")
        V = self.model.get_output_embeddings().weight.shape[0]
        idx = {}
        for name, ids in token_sets.items():
            ids = sorted(set(int(t) for t in ids))
            if not ids or ids[0] < 0 or ids[-1] >= V:
                raise ValidationError(f"token set {name!r} must be non-empty ids in [0, {V}); got {len(ids)} ids")
            idx[name] = torch.as_tensor(ids, dtype=torch.long, device=self.device)
        parts = {layer: {name: [] for name in idx} for layer in layers}
        for hidden, mask in self._batches(texts):
            for layer in layers:
                p = self._position_probs(hidden[layer], mask, layer, position, max_positions)
                for name, ids in idx.items():
                    parts[layer][name].append(p[:, ids].sum(1).double().cpu().numpy())
        out = {layer: {name: np.concatenate(v) for name, v in d.items()} for layer, d in parts.items()}
        if per_text:
            return out
        return {layer: {name: float(v.mean()) for name, v in d.items()} for layer, d in out.items()}


def language_token_sets(tokenizer, texts_by_language: dict, *, min_count: int = 5, ratio: float = 10.0,
                        letters_only: bool = True) -> dict:
    """Token ids that belong to one language of a corpus, by relative frequency.

    Every side is tokenised; ``c_L(t)`` counts token t in language L's texts and ``p_L(t) = c_L(t) /
    N_L`` its share of L's tokens. Token t joins L's set when ``c_L(t) >= min_count`` and ``p_L(t) >=
    ratio * (c_M(t) + 0.5) / N_M`` for every other language M (the 0.5 keeps a token never seen in M
    from passing on one occurrence). Shared material — punctuation, digits, proper names kept in
    both translations, short pieces such as "a" — fails the ratio and is left out, so the sets
    measure language, not content. ``letters_only`` also drops tokens without a letter.

    Args: tokenizer: a Hugging Face tokenizer; texts_by_language: ``{"en": [...], "ny": [...]}``
        (two or more languages, ideally translations of each other so topics match).
    Returns: ``{language: [token ids, most frequent first]}``.
    """
    if not isinstance(texts_by_language, dict) or len(texts_by_language) < 2:
        raise ValidationError("texts_by_language needs at least two languages, e.g. {'en': [...], 'ny': [...]}")
    min_count = check_positive_int(min_count, "min_count")
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not ratio >= 1:
        raise ValidationError(f"ratio must be a number >= 1; got {ratio!r}")
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    counts, totals = {}, {}
    for lang, texts in texts_by_language.items():
        texts = check_texts(texts, f"texts_by_language[{lang!r}]")
        c: dict = {}
        for ids in tokenizer(texts)["input_ids"]:
            for t in ids:
                if t not in special:
                    c[t] = c.get(t, 0) + 1
        counts[lang], totals[lang] = c, max(1, sum(c.values()))
    out = {}
    for lang, c in counts.items():
        keep = []
        for t, n in c.items():
            if n < min_count:
                continue
            p = n / totals[lang]
            if all(p >= ratio * (counts[m].get(t, 0) + 0.5) / totals[m] for m in counts if m != lang):
                if not letters_only or any(ch.isalpha() for ch in tokenizer.decode([t])):
                    keep.append(t)
        out[lang] = sorted(keep, key=lambda t: (-c[t], t))
    return out


# --------------------------------------------------------------------------- semantic basis
def semantic_basis(head_weight) -> np.ndarray:
    """Semantic basis ``B = (W⁺)ᵀ``: row v is ``b_v = W⁺ e_v`` (V × d float32) for LM head W (V × d)."""
    W = check_matrix(head_weight, "head_weight", allow_torch=False).astype(np.float64)
    return np.linalg.pinv(W).T.astype(np.float32)


def semantic_logits(hidden, head_weight, *, kind: str = "cosine", metric: str = "euclidean",
                    basis=None) -> np.ndarray:
    """Similarity of hidden states (n × d) to every token's semantic basis vector → (n × V) float32.

    ``kind``: ``"dot"`` (⟨h, b_v⟩), ``"cosine"``, or ``"distance"`` (−‖h − b_v‖²). ``metric``:
    ``"euclidean"`` (the paper's latent-space similarity) or ``"head"`` (inner product ``xᵀ G y`` with
    ``G = WᵀW``, under which ``"dot"`` equals the LM head's own logits ``W h``).
    """
    check_choice(kind, "kind", ("dot", "cosine", "distance"))
    check_choice(metric, "metric", ("euclidean", "head"))
    W = check_matrix(head_weight, "head_weight", allow_torch=False).astype(np.float64)
    H = check_matrix(hidden, "hidden", allow_torch=False).astype(np.float64)
    if H.shape[1] != W.shape[1]:
        raise ShapeError(f"hidden has {H.shape[1]} columns but the LM head has {W.shape[1]}")
    B = semantic_basis(W).astype(np.float64) if basis is None else np.asarray(basis, np.float64)
    if metric == "head":
        G = W.T @ W
        dots = H @ G @ B.T                                    # = H Wᵀ W W⁺ = H Wᵀ: the LM head's logits (any rank)
        h_sq = np.einsum("nd,de,ne->n", H, G, H)
        b_sq = np.einsum("vd,de,ve->v", B, G, B)
    else:
        dots = H @ B.T
        h_sq, b_sq = (H * H).sum(1), (B * B).sum(1)
    if kind == "dot":
        out = dots
    elif kind == "cosine":
        out = dots / np.sqrt(np.maximum(h_sq[:, None] * b_sq[None, :], 1e-300))
    else:
        out = -(h_sq[:, None] - 2 * dots + b_sq[None, :])
    return out.astype(np.float32)


class SemanticCalibrator:
    """Residual affine map ``f(h) = h + h A + c`` trained so hidden states cluster around their label
    token's semantic basis vector (distance logits over the label tokens, cross-entropy).

    ``fit(H, labels, head_weight, label_tokens)``: H (n × d), labels (n,) ints indexing
    ``label_tokens`` (token ids). ``predict(H)`` → label index of the nearest basis vector after
    calibration. Parameters: ``rank`` (of A; None = full), ``temperature``, ``steps``, ``lr``,
    ``weight_decay``, ``seed``.
    """

    def __init__(self, *, rank: int | None = 16, temperature: float = 1.0, steps: int = 300,
                 lr: float = 1e-2, weight_decay: float = 1e-3, seed: int = 0):
        self.rank, self.temperature, self.steps = rank, temperature, steps
        self.lr, self.weight_decay, self.seed = lr, weight_decay, seed

    def _map(self, H):
        H = torch.as_tensor(H, dtype=torch.float32)
        return H + (H @ self.U_) @ self.V_ + self.c_

    def fit(self, H, labels, head_weight, label_tokens):
        """Fit the low-rank calibration on hidden states with known labels.

        Parameters
        ----------
        H : array-like, shape (n, d)
            Hidden states.
        labels : array-like of int, shape (n,)
            Index into ``label_tokens`` of each row's label.
        head_weight : array-like, shape (V, d)
            The LM head (unembedding) matrix.
        label_tokens : array-like of int, shape (n_labels,)
            Token id of each label, at least two.

        Returns
        -------
        SemanticCalibrator
            ``self``.

        Raises
        ------
        ShapeError
            If ``labels`` or ``head_weight`` do not match ``H``.
        ValidationError
            For fewer than two label tokens or labels out of range.
        """
        H = check_matrix(H, "H", allow_torch=False)
        y = np.asarray(labels)
        if y.shape != (H.shape[0],):
            raise ShapeError(f"labels must have one entry per row of H ({H.shape[0]}); got shape {y.shape}")
        tokens = np.asarray(label_tokens, dtype=np.int64)
        if tokens.ndim != 1 or tokens.size < 2:
            raise ValidationError("label_tokens needs at least two token ids")
        if y.min() < 0 or y.max() >= tokens.size:
            raise ValidationError(f"labels must index label_tokens (0..{tokens.size - 1})")
        basis = semantic_basis(head_weight)
        if basis.shape[1] != H.shape[1]:
            raise ShapeError(f"H has {H.shape[1]} columns but the LM head has {basis.shape[1]}")
        B = torch.as_tensor(basis[tokens])
        d = H.shape[1]
        r = d if self.rank is None else min(int(self.rank), d)
        g = torch.Generator().manual_seed(self.seed)
        self.U_ = (torch.randn(d, r, generator=g) * 0.01).requires_grad_()
        self.V_ = torch.zeros(r, d, requires_grad=True)
        self.c_ = torch.zeros(d, requires_grad=True)
        opt = torch.optim.AdamW([self.U_, self.V_, self.c_], lr=self.lr, weight_decay=self.weight_decay)
        target = torch.as_tensor(y, dtype=torch.long)
        for _ in range(int(self.steps)):
            opt.zero_grad()
            logits = -torch.cdist(self._map(H), B).pow(2) / self.temperature
            loss = torch.nn.functional.cross_entropy(logits, target)
            loss.backward()
            opt.step()
        for p in (self.U_, self.V_, self.c_):
            p.requires_grad_(False)
        self.basis_ = B
        self.label_tokens_ = tokens
        self.n_features_in_ = d
        return self

    def transform(self, H) -> np.ndarray:
        """Calibrated hidden states ``H + H U V + c``.

        Parameters
        ----------
        H : array-like, shape (n, d)

        Returns
        -------
        numpy.ndarray, shape (n, d), float32

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        ShapeError
            If ``H`` has another width than the fitted one.
        """
        if not hasattr(self, "basis_"):
            raise NotFittedError("SemanticCalibrator is not fitted yet; call fit first")
        H = check_matrix(H, "H", allow_torch=False)
        if H.shape[1] != self.n_features_in_:
            raise ShapeError(f"H has {H.shape[1]} columns but the calibrator was fitted on {self.n_features_in_}")
        return self._map(H).numpy()

    def predict(self, H) -> np.ndarray:
        """Label index of the nearest label basis vector to each calibrated row.

        Parameters
        ----------
        H : array-like, shape (n, d)

        Returns
        -------
        numpy.ndarray, shape (n,), int64
        """
        Z = torch.as_tensor(self.transform(H))
        return torch.cdist(Z, self.basis_).argmin(1).numpy()
