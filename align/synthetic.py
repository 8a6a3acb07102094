"""Planted alignment problems with known answers.

Every generator returns a :class:`Problem`: ``X`` (n_x, d_x), ``Y`` (n_y, d_y) float32, and the
ground truth ``pairs`` — an (m, 2) int array of (row of X, row of Y) that correspond — plus the true
map where one exists. ``shuffle=True`` (default) permutes Y's rows so that position carries no
information (the unsupervised setting); the pairs account for it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validate import check_positive_int
from .exceptions import ValidationError


@dataclass
class Problem:
    """A planted alignment problem.

    Attributes
    ----------
    X : numpy.ndarray, shape (n_x, d_x)
        Source vectors.
    Y : numpy.ndarray, shape (n_y, d_y)
        Target vectors.
    pairs : numpy.ndarray of int, shape (m, 2)
        ``(row of X, row of Y)`` of the rows that correspond.
    W : numpy.ndarray or None
        The planted map, where there is one.
    meta : dict
        The generator's parameters.
    """

    X: np.ndarray
    Y: np.ndarray
    pairs: np.ndarray
    W: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def paired(self):
        """``(X[pairs[:,0]], Y[pairs[:,1]])``: the rows that correspond, aligned."""
        return self.X[self.pairs[:, 0]], self.Y[self.pairs[:, 1]]


def random_orthogonal(d_in: int, d_out: int | None = None, *, rng) -> np.ndarray:
    """A (d_in, d_out) matrix with orthonormal rows (d_in ≤ d_out) or columns (d_in ≥ d_out), Haar-like."""
    d_out = d_in if d_out is None else d_out
    a = rng.standard_normal((max(d_in, d_out), max(d_in, d_out)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    return q[:d_in, :d_out]


def _cloud(n, d, rng, spectrum_decay=0.0):
    """Anisotropic Gaussian cloud: unequal variances make the alignment problem identifiable."""
    scales = np.exp(-spectrum_decay * np.arange(d) / d) if spectrum_decay else np.ones(d)
    return rng.standard_normal((n, d)) * scales


def _finish(X, Y, pairs, shuffle, rng, W=None, **meta):
    if shuffle:
        perm = rng.permutation(Y.shape[0])  # new row j holds old row perm[j]
        Y = Y[perm]
        inv = np.empty_like(perm)
        inv[perm] = np.arange(perm.size)
        pairs = np.stack([pairs[:, 0], inv[pairs[:, 1]]], axis=1)
    order = np.argsort(pairs[:, 0], kind="stable")
    return Problem(X.astype(np.float32), Y.astype(np.float32), pairs[order].astype(np.int64),
                   None if W is None else W.astype(np.float32), meta)


def _check_common(n, d, noise):
    check_positive_int(n, "n", minimum=2)
    check_positive_int(d, "d")
    if not np.isfinite(noise) or noise < 0:
        raise ValidationError(f"noise must be a finite number >= 0; got {noise}")


def rotation(n: int = 2000, d: int = 64, *, d_out: int | None = None, noise: float = 0.01,
             spectrum_decay: float = 2.0, shuffle: bool = True, seed: int = 0) -> Problem:
    """``Y = X @ W + noise``, W orthogonal (d×d) or semi-orthogonal (d×d_out, d_out < d: a projection).

    ``spectrum_decay`` makes feature variances fall from 1 to exp(-decay) so the map is identifiable
    from the two clouds alone (an isotropic Gaussian is rotation invariant).
    """
    _check_common(n, d, noise)
    rng = np.random.default_rng(seed)
    X = _cloud(n, d, rng, spectrum_decay)
    W = random_orthogonal(d, d_out or d, rng=rng)
    Y = X @ W + noise * rng.standard_normal((n, W.shape[1]))
    return _finish(X, Y, np.stack([np.arange(n)] * 2, 1), shuffle, rng, W, kind="rotation", noise=noise)


def nonlinear(n: int = 2000, d: int = 32, *, d_out: int | None = None, hidden: int = 128,
              strength: float = 1.0, noise: float = 0.0, shuffle: bool = False, seed: int = 0) -> Problem:
    """``Y = X @ W + strength * tanh(X @ A) @ B`` with random A (d×hidden), B (hidden×d_out).

    A random 2-layer MLP on top of a linear map: linear translators cannot fit the tanh part.
    """
    _check_common(n, d, noise)
    rng = np.random.default_rng(seed)
    d_out = d_out or d
    X = rng.standard_normal((n, d))
    W = random_orthogonal(d, d_out, rng=rng)
    A = rng.standard_normal((d, hidden)) * (2.0 / np.sqrt(d))
    B = rng.standard_normal((hidden, d_out)) / np.sqrt(hidden)
    Y = X @ W + strength * np.tanh(X @ A) @ B + noise * rng.standard_normal((n, d_out))
    return _finish(X, Y, np.stack([np.arange(n)] * 2, 1), shuffle, rng, None, kind="nonlinear",
                   strength=strength)


def partial_overlap(n: int = 2000, d: int = 64, *, overlap: float = 0.5, noise: float = 0.01,
                    spectrum_decay: float = 2.0, shuffle: bool = True, seed: int = 0) -> Problem:
    """Rotation problem where only a fraction ``overlap`` of X's rows have a counterpart in Y.

    X and Y both have n rows; ``round(overlap*n)`` are shared (rotated + noise), the rest of each
    side are independent draws from the same distribution.
    """
    _check_common(n, d, noise)
    if not 0 < overlap <= 1:
        raise ValidationError(f"overlap must be in (0, 1]; got {overlap}")
    rng = np.random.default_rng(seed)
    m = int(round(overlap * n))
    X = _cloud(n, d, rng, spectrum_decay)
    W = random_orthogonal(d, rng=rng)
    Y = np.concatenate([X[:m], _cloud(n - m, d, rng, spectrum_decay)]) @ W
    Y += noise * rng.standard_normal(Y.shape)
    return _finish(X, Y, np.stack([np.arange(m)] * 2, 1), shuffle, rng, W, kind="partial_overlap",
                   overlap=overlap)


def hmm_pairs(n_states: int = 8, symbols_per_state: int = 12, *, length: int = 200_000, dim: int = 16,
              emission_purity: float = 0.9, stickiness: float = 0.0, seed: int = 0) -> Problem:
    """Two HMM sources sharing one transition matrix, with different emission matrices.

    Source A and source B each emit their own alphabet of ``n_states * symbols_per_state`` symbols;
    symbol s of a source belongs to state ``s // symbols_per_state`` *before* a per-source random
    relabelling, and is emitted by its state with probability ``emission_purity`` (otherwise by a
    random state). Each source runs its own latent chain of ``length`` steps. Each symbol is embedded
    from its own source's sequence alone: a PPMI matrix of (symbol, next symbol) and (previous
    symbol, symbol) counts, factorised by SVD to ``dim`` dimensions. The latent state is the hidden
    correspondence: ``pairs`` lists every (A symbol, B symbol) with the same dominant state.

    ``meta`` holds ``transition`` (S×S), ``emission_a``/``emission_b`` (S×V), ``states_a``/``states_b``
    (the latent paths), ``seq_a``/``seq_b`` (observations) and ``state_of_a``/``state_of_b``.
    """
    check_positive_int(n_states, "n_states", minimum=2)
    check_positive_int(symbols_per_state, "symbols_per_state")
    check_positive_int(length, "length", minimum=100)
    if not 0 < emission_purity <= 1:
        raise ValidationError(f"emission_purity must be in (0, 1]; got {emission_purity}")
    rng = np.random.default_rng(seed)
    S, V = n_states, n_states * symbols_per_state
    T = rng.dirichlet(np.full(S, 0.3), size=S)
    T = (1 - stickiness) * T + stickiness * np.eye(S)
    out, states_of, emissions = {}, {}, {}
    for side in ("a", "b"):
        state_of = rng.permutation(np.repeat(np.arange(S), symbols_per_state))
        E = np.full((S, V), (1 - emission_purity) / V)
        for s in range(S):
            members = np.flatnonzero(state_of == s)
            E[s, members] += emission_purity * rng.dirichlet(np.full(members.size, 5.0))
        E /= E.sum(1, keepdims=True)
        path = _markov_path(T, length, rng)
        seq = _emit(E, path, rng)
        out[side] = (path, seq)
        states_of[side], emissions[side] = state_of, E
    X = _symbol_embedding(out["a"][1], V, dim)
    Y = _symbol_embedding(out["b"][1], V, dim)
    pairs = np.array([(i, j) for i in range(V) for j in range(V)
                      if states_of["a"][i] == states_of["b"][j]], dtype=np.int64)
    return Problem(X, Y, pairs, None, {
        "kind": "hmm", "transition": T, "emission_a": emissions["a"], "emission_b": emissions["b"],
        "states_a": out["a"][0], "states_b": out["b"][0], "seq_a": out["a"][1], "seq_b": out["b"][1],
        "state_of_a": states_of["a"], "state_of_b": states_of["b"]})


def _markov_path(T, length, rng):
    S = T.shape[0]
    cum = np.cumsum(T, axis=1)
    u = rng.random(length)
    path = np.empty(length, dtype=np.int64)
    path[0] = rng.integers(S)
    for t in range(1, length):
        path[t] = min(np.searchsorted(cum[path[t - 1]], u[t]), S - 1)
    return path


def _emit(E, path, rng):
    cum = np.cumsum(E, axis=1)
    u = rng.random(path.size)
    idx = (u[:, None] > cum[path]).sum(1)
    return np.minimum(idx, E.shape[1] - 1)


def _symbol_embedding(seq, V, dim):
    C = np.zeros((V, V))
    np.add.at(C, (seq[:-1], seq[1:]), 1.0)
    total = C.sum()
    feats = []
    for M in (C, C.T):  # next-symbol and previous-symbol contexts
        row, col = M.sum(1, keepdims=True), M.sum(0, keepdims=True)
        with np.errstate(divide="ignore"):
            pmi = np.log(M * total / np.maximum(row * col, 1e-12))
        feats.append(np.where(M > 0, np.maximum(pmi, 0), 0.0))
    F = np.concatenate(feats, axis=1)
    U, s, _ = np.linalg.svd(F - F.mean(0), full_matrices=False)
    return (U[:, :dim] * s[:dim]).astype(np.float32)
