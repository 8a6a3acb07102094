import numpy as np
import pytest

from align import synthetic
from align.exceptions import AlignError


def test_rotation_ground_truth():
    p = synthetic.rotation(500, 16, noise=0.0, seed=1)
    assert p.X.shape == (500, 16) and p.X.dtype == np.float32
    np.testing.assert_allclose(p.W @ p.W.T, np.eye(16), atol=1e-5)
    Xp, Yp = p.paired()
    np.testing.assert_allclose(Xp @ p.W, Yp, atol=1e-4)
    assert not np.allclose(p.X @ p.W, p.Y, atol=1e-2)  # rows of Y are shuffled


def test_rotation_to_fewer_dims_is_semi_orthogonal():
    p = synthetic.rotation(300, 64, d_out=48, noise=0.0)
    assert p.Y.shape == (300, 48)
    np.testing.assert_allclose(p.W.T @ p.W, np.eye(48), atol=1e-5)


def test_nonlinear_is_not_linear():
    p = synthetic.nonlinear(2000, 16, seed=0)
    X, Y = p.paired()
    W, *_ = np.linalg.lstsq(X, Y, rcond=None)
    resid = np.linalg.norm(X @ W - Y) / np.linalg.norm(Y)
    assert resid > 0.15


def test_partial_overlap_pairs():
    p = synthetic.partial_overlap(1000, 8, overlap=0.3, noise=0.0, seed=2)
    assert p.pairs.shape == (300, 2)
    Xp, Yp = p.paired()
    np.testing.assert_allclose(Xp @ p.W, Yp, atol=1e-4)


def test_hmm_ground_truth_matches_sequences():
    p = synthetic.hmm_pairs(n_states=5, symbols_per_state=6, length=60000, dim=8, seed=3)
    m = p.meta
    T = m["transition"]
    for side in ("a", "b"):
        path, seq, E = m[f"states_{side}"], m[f"seq_{side}"], m[f"emission_{side}"]
        counts = np.zeros_like(T)
        np.add.at(counts, (path[:-1], path[1:]), 1)
        emp = counts / counts.sum(1, keepdims=True)
        assert np.abs(emp - T).max() < 0.03  # the latent path follows the shared transitions
        state_of = m[f"state_of_{side}"]
        np.testing.assert_array_equal(E.argmax(0), state_of)  # each symbol's dominant state
        purity = (state_of[seq] == path).mean()
        assert 0.85 < purity < 0.95  # emission_purity=0.9 (+ chance hits)
    assert p.X.shape == (30, 8) and p.Y.shape == (30, 8)
    same = m["state_of_a"][p.pairs[:, 0]] == m["state_of_b"][p.pairs[:, 1]]
    assert same.all() and len(p.pairs) == 5 * 6 * 6


def test_hmm_embeddings_carry_the_state():
    p = synthetic.hmm_pairs(n_states=4, symbols_per_state=8, length=100000, dim=8, seed=0)
    X = p.X / np.linalg.norm(p.X, axis=1, keepdims=True)
    S = X @ X.T
    np.fill_diagonal(S, -np.inf)
    nn_state = p.meta["state_of_a"][S.argmax(1)]
    assert (nn_state == p.meta["state_of_a"]).mean() > 0.8


@pytest.mark.parametrize("call", [
    lambda: synthetic.rotation(1, 4), lambda: synthetic.rotation(10, 0), lambda: synthetic.rotation(10, 4, noise=-1),
    lambda: synthetic.rotation(10, 4, noise=float("nan")), lambda: synthetic.partial_overlap(10, 4, overlap=0),
    lambda: synthetic.hmm_pairs(n_states=1), lambda: synthetic.hmm_pairs(emission_purity=1.5),
    lambda: synthetic.nonlinear(10, 2.5),
])
def test_bad_parameters(call):
    with pytest.raises(AlignError):
        call()
