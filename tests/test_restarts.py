"""RestartsAligner: planted rotation recovered, restarts recorded, reproducible, bad inputs."""
import numpy as np
import pytest

from align.exceptions import NotFittedError, ValidationError
from align.synthetic import rotation
from align.unsupervised.restarts import RestartsAligner, random_semi_orthogonal


def _top1(model, X, Y):
    P = model.transform(X)
    P /= np.linalg.norm(P, axis=1, keepdims=True)
    Yn = Y / np.linalg.norm(Y, axis=1, keepdims=True)
    return float((np.argmax(P @ Yn.T, 1) == np.arange(len(Y))).mean())


def test_semi_orthogonal():
    rng = np.random.default_rng(0)
    for dx, dy in ((6, 6), (8, 5), (5, 8)):
        Q = random_semi_orthogonal(dx, dy, rng)
        assert Q.shape == (dx, dy)
        G = Q.T @ Q if dx >= dy else Q @ Q.T
        np.testing.assert_allclose(G, np.eye(min(dx, dy)), atol=1e-10)


def test_planted_rotation():
    p = rotation(n=1500, d=16, noise=0.02, seed=0)
    X, Y = p.X, p.Y  # rows unpaired (the problem shuffles Y); p.pairs holds the truth
    m = RestartsAligner(start="principal_axes", n_restarts=3, n_sample=1500, random_state=0).fit(X, Y)
    assert len(m.restarts_) == 3 and 0 <= m.chosen_ < 3
    Xp, Yp = p.paired()
    assert _top1(m, Xp[:300], Yp[:300]) >= 0.95
    m2 = RestartsAligner(start="principal_axes", n_restarts=3, n_sample=1500, random_state=0).fit(X, Y)
    np.testing.assert_allclose(m.W_, m2.W_)


def test_bad_inputs():
    X = np.random.default_rng(0).standard_normal((50, 4))
    with pytest.raises(NotFittedError):
        RestartsAligner().transform(X)
    for bad in (dict(start="nope"), dict(criterion="nope"), dict(n_restarts=0), dict(n_sample=3)):
        with pytest.raises(ValidationError):
            RestartsAligner(**bad).fit(X, X)
    with pytest.raises(ValidationError):
        RestartsAligner().fit(X[:5], X[:5])
