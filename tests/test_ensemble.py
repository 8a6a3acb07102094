"""AnchorEnsembleAligner (mini-vec2vec, Dar 2025) on a planted clustered problem, no pairs given;
determinism and parameter checks (bad data is covered by the conformance tests)."""
import numpy as np
import pytest

from align.exceptions import ValidationError
from align.metrics import translation_scores
from align.unsupervised import AnchorEnsembleAligner
from align.unsupervised.ensemble import describe, mean_neighbours, nearest_orthogonal
from align.unsupervised.refine import refine_map


def clustered_rotation(n=3000, d=32, k=12, spread=0.2, noise=0.02, seed=0):
    """A Gaussian mixture of k clusters of unequal sizes (QAP tells them apart by their Gram
    matrix); Y = X Q + noise with Q a random rotation. Returns (X, Y) row-paired."""
    r = np.random.default_rng(seed)
    centers = r.normal(size=(k, d))
    w = np.linspace(1, 3, k)
    labels = r.choice(k, size=n, p=w / w.sum())
    X = centers[labels] + spread * r.normal(size=(n, d))
    Q, _ = np.linalg.qr(r.normal(size=(d, d)))
    Y = X @ Q + noise * r.normal(size=(n, d))
    return X.astype(np.float32), Y.astype(np.float32)


@pytest.fixture(scope="module")
def planted():
    X, Y = clustered_rotation()
    n = 2000  # fit on 2,000 unpaired rows (Y shuffled), evaluate on 1,000 held-out row pairs
    Ytr = Y[:n][np.random.default_rng(1).permutation(n)]
    return X[:n], Ytr, X[n:], Y[n:]


def small(**kw):
    return AnchorEnsembleAligner(n_runs=5, n_clusters=12, run_sample=1000, n_sample=2000, n_smooth=20,
                                 n_final_clusters=100, normalize="center", **kw)


def top1(model, Xe, Ye):
    return translation_scores(model.transform(Xe), Ye)["top1"]


def test_planted_clustered_rotation_recovered(planted):
    X, Y, Xe, Ye = planted
    model = small(n_refine=2).fit(X, Y)
    info = model.history_[0]
    assert info["stage"] == "init:anchor_ensemble" and info["n_runs"] == 5 and info["n_anchors"] == 60
    assert top1(model, Xe, Ye) >= 0.9


def test_init_alone_lands_in_the_right_basin(planted):
    X, Y, Xe, Ye = planted
    init = small(n_refine=0).fit(X, Y)
    # the init alone (no CSLS refinement) recovers the map (top-1 0.987 here; chance 0.001), while
    # two CSLS refinement rounds from the identity stay lost (top-1 0.0)
    assert top1(init, Xe, Ye) >= 0.9
    Xp = init.preprocess_x(X)
    Yp = ((Y.astype(np.float64) - init.mean_y_) @ np.linalg.inv(init.post_y_)).astype(np.float32)
    W_id, _, _, _ = refine_map(Xp, Yp, np.eye(X.shape[1]), n_iter=2, csls_k=10, n_candidates=20000)
    ident = small(n_refine=0).fit(X, Y)
    ident.W_ = W_id
    assert top1(ident, Xe, Ye) < 0.2


def test_deterministic_with_random_state(planted):
    X, Y, _, _ = planted
    kw = dict(n_runs=2, n_clusters=6, run_sample=300, n_sample=400, n_smooth=3, n_final_clusters=20, n_refine=1)
    a = AnchorEnsembleAligner(random_state=3, **kw).fit(X[:500], Y[:500])
    b = AnchorEnsembleAligner(random_state=3, **kw).fit(X[:500], Y[:500])
    np.testing.assert_array_equal(a.W_, b.W_)
    assert a.history_ == b.history_


def test_drop_fraction_keeps_the_best_runs(planted):
    X, Y, _, _ = planted
    m = AnchorEnsembleAligner(n_runs=4, n_clusters=6, run_sample=300, n_sample=400, n_smooth=2,
                              n_final_clusters=0, n_refine=0, drop_fraction=0.5).fit(X[:500], Y[:500])
    assert m.history_[0]["n_runs"] == 2 and m.history_[0]["n_anchors"] == 12
    assert m.history_[0]["n_final_pairs"] == 0  # n_final_clusters=0 skips the cluster step


@pytest.mark.parametrize("params, name", [({"n_runs": 0}, "n_runs"), ({"alpha": 1.5}, "alpha"),
                                          ({"drop_fraction": 1.0}, "drop_fraction"),
                                          ({"n_clusters": 1}, "n_clusters")])
def test_bad_parameter_names_itself(params, name, planted):
    X, Y, _, _ = planted
    with pytest.raises(ValidationError, match=name):
        AnchorEnsembleAligner(**params).fit(X[:100], Y[:100])


def test_helpers():
    r = np.random.default_rng(0)
    W = nearest_orthogonal(r.normal(size=(6, 4)))
    np.testing.assert_allclose(W.T @ W, np.eye(4), atol=1e-10)
    A = r.normal(size=(50, 5))
    R = describe(A, A[:7])
    assert R.shape == (50, 7) and np.allclose(np.linalg.norm(R, axis=1), 1, atol=1e-5)
    T = mean_neighbours(A, A, np.arange(50.0)[:, None], 1)  # each row is its own nearest neighbour
    np.testing.assert_allclose(T[:, 0], np.arange(50.0))
