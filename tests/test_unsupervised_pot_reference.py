"""Our Sinkhorn plans and entropic Gromov-Wasserstein against POT (the reference, used only here)."""
import numpy as np
import pytest

from align.unsupervised.gromov import _zscored_distances, entropic_gromov_wasserstein, gw_coupling
from align.unsupervised.wasserstein import sinkhorn_plan

ot = pytest.importorskip("ot")


@pytest.mark.parametrize("reg", [0.05, 0.5, 0.002])  # 0.002: span/reg ≥ 200, the log domain
def test_sinkhorn_plan_matches_pot(reg):
    rng = np.random.default_rng(0)
    a = rng.random(30) + 0.1
    b = rng.random(25) + 0.1
    a, b = a / a.sum(), b / b.sum()
    M = rng.random((30, 25))
    ours = sinkhorn_plan(a, b, M, reg, n_iter=5000, tol=1e-10)
    method = "sinkhorn" if 1.0 / reg < 200 else "sinkhorn_log"
    ref = ot.sinkhorn(a, b, M, reg, method=method, numItermax=5000, stopThr=1e-10)
    assert ours.dtype == np.float64 and ours.shape == (30, 25)
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_entropic_gw_matches_pot_on_a_planted_permutation():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 4)) * np.exp(-np.arange(4) / 2)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    perm = rng.permutation(30)
    C1, C2 = _zscored_distances(X), _zscored_distances((X @ Q)[perm])
    p = q = np.full(30, 1 / 30)
    T, loss = entropic_gromov_wasserstein(C1, C2, p, q, epsilon=0.05, max_iter=100, tol=1e-9)
    R, log = ot.gromov.entropic_gromov_wasserstein(C1, C2, p, q, "square_loss", epsilon=0.05, max_iter=100,
                                                   tol=1e-9, log=True)
    np.testing.assert_allclose(T, R, atol=1e-6)
    assert loss == pytest.approx(float(log["gw_dist"]), rel=1e-6, abs=1e-9)
    np.testing.assert_array_equal(T.argmax(1), R.argmax(1))
    assert (T.argmax(1) == np.argsort(perm)).mean() >= 0.9


def test_gw_coupling_keeps_its_marginals():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 5))
    G, loss = gw_coupling(X, X[rng.permutation(40)], epsilon=0.05, max_iter=20, n_restarts=2,
                          rng=np.random.default_rng(0))
    np.testing.assert_allclose(G.sum(1), np.full(40, 1 / 40), atol=1e-6)
    assert np.isfinite(loss)
