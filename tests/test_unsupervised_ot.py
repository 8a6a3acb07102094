"""Building blocks of the OT aligners and the structure inits: hand-checkable answers and bad inputs."""
import numpy as np
import pytest

from align.exceptions import ShapeError, ValidationError
from align.synthetic import rotation
from align.unsupervised.inits import INITS
from align.unsupervised.ot import convex_gram_init, gw_coupling, sinkhorn_plan, transport_plan


def test_sinkhorn_plan_marginals_and_sharpness():
    M = np.array([[0.0, 1.0], [1.0, 0.0]])
    a = np.array([0.5, 0.5])
    P = sinkhorn_plan(a, a, M, 0.01)
    np.testing.assert_allclose(P.sum(1), a, atol=1e-6)
    np.testing.assert_allclose(P, np.diag(a), atol=1e-6)  # small reg: the cheap diagonal
    P = sinkhorn_plan(a, a, M, 100.0)
    np.testing.assert_allclose(P, np.full((2, 2), 0.25), atol=2e-3)  # large reg: the product coupling


def test_transport_plan_exact_and_entropic():
    A = np.array([[1.0, 0.0], [0.0, 1.0]])
    B = np.array([[0.0, 1.0], [1.0, 0.0]])
    P, cost = transport_plan(A, B, exact=True)
    np.testing.assert_array_equal(P, [[0, 1], [1, 0]])
    assert cost == pytest.approx(0.0)
    P, cost = transport_plan(A, B, reg=0.01)
    np.testing.assert_allclose(P.sum(1), 1.0)  # barycentric weights
    assert P[0, 1] > 0.99 and cost == pytest.approx(0.0, abs=1e-3)


def test_gw_coupling_matches_a_rotated_copy():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5)) * np.exp(-np.arange(5) / 2)
    Q, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    perm = rng.permutation(40)
    G, loss = gw_coupling(X, (X @ Q)[perm], epsilon=0.01, max_iter=100)
    assert G.shape == (40, 40) and np.isfinite(loss)
    assert (G.argmax(1) == np.argsort(perm)).mean() >= 0.9


def test_convex_gram_init_returns_an_orthogonal_map():
    p = rotation(n=60, d=6, seed=0)
    W = convex_gram_init(p.X, p.Y, n_iter=3)
    assert W.shape == (6, 6)
    np.testing.assert_allclose(W @ W.T, np.eye(6), atol=1e-6)


@pytest.mark.parametrize("name", sorted(INITS))
def test_every_init_returns_a_map_and_info(name):
    p = rotation(n=200, d=8, d_out=6, noise=0.01, seed=1)
    W, info = INITS[name](p.X - p.X.mean(0), p.Y - p.Y.mean(0), np.random.default_rng(0),
                          **({"n_clusters": 8, "n_restarts": 2} if name in ("kmeans", "relative") else {}))
    assert W.shape == (8, 6) and np.isfinite(W).all() and isinstance(info, dict)


def test_bad_inputs():
    a = np.array([0.5, 0.5])
    M = np.zeros((2, 2))
    with pytest.raises(ShapeError, match="sinkhorn_plan needs"):
        sinkhorn_plan(a, np.ones(3) / 3, M, 0.1)
    with pytest.raises(ValidationError, match="non-negative"):
        sinkhorn_plan(np.array([1.5, -0.5]), a, M, 0.1)
    with pytest.raises(ValidationError, match="NaN or inf"):
        sinkhorn_plan(a, a, np.full((2, 2), np.nan), 0.1)
    with pytest.raises(ValidationError, match="reg"):
        sinkhorn_plan(a, a, M, 0.0)
    with pytest.raises(ShapeError, match="2-D"):
        sinkhorn_plan(a, a, np.zeros(4), 0.1)
    A = np.eye(3)
    with pytest.raises(ShapeError, match="columns"):
        transport_plan(A, np.eye(4))
    with pytest.raises(ShapeError, match="as many rows"):
        transport_plan(A, A[:2], exact=True)
    with pytest.raises(ValidationError, match="reg"):
        transport_plan(A, A, reg=-1.0)
    with pytest.raises(ValidationError, match="NaN or inf"):
        transport_plan(np.full((3, 3), np.inf), A)
    with pytest.raises(ValidationError, match="epsilon"):
        gw_coupling(A, A, epsilon=0)
    with pytest.raises(ShapeError, match="at least 2 row"):
        gw_coupling(A[:1], A)
    with pytest.raises(ValidationError, match="n_restarts"):
        gw_coupling(A, A, n_restarts=0)
    with pytest.raises(ShapeError, match="2-D"):
        convex_gram_init(A[0], A)
    with pytest.raises(ValidationError, match="reg"):
        convex_gram_init(A, A, reg=float("nan"))
