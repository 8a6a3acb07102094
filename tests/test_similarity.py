"""Representation-similarity metrics: hand-computed values, naive O(n^2) oracles, scale paths, bad inputs."""
import numpy as np
import pytest
import torch

from align.exceptions import AlignError, ShapeError, ValidationError
from align.metrics import (SIMILARITY, cka, cknna, cycle_knn, mutual_knn, prepare_features, rsa, self_neighbours,
                           svcca, unbiased_cka)
from align.metrics import similarity_base
from align.metrics import similarity_global as sk
from align.metrics.selfknn import self_knn

import naive_similarity as nv

PARAMS = {"mutual_knn": {"k": 5}, "cycle_knn": {"k": 5}, "cknna": {"k": 5}, "svcca": {"dim": 4}}


def planted(n=90, dx=12, dy=9, seed=0, offset=0.0):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, 4))
    X = Z @ rng.normal(size=(4, dx)) + 0.6 * rng.normal(size=(n, dx)) + offset
    Y = np.tanh(Z @ rng.normal(size=(4, dy))) + 0.6 * rng.normal(size=(n, dy)) - offset
    return X, Y


def naive(name, X, Y):
    p = PARAMS.get(name, {})
    if name == "cka":
        return nv.cka(X, Y)
    if name == "unbiased_cka":
        return nv.cka(X, Y, unbiased=True)
    if name == "svcca":
        return nv.svcca(X, Y, p["dim"])
    return getattr(nv, name)(X, Y, **p)


def test_registry_lists_every_metric():
    assert set(SIMILARITY) == {"mutual_knn", "cycle_knn", "cka", "unbiased_cka", "cknna", "svcca", "rsa"}


@pytest.mark.parametrize("name", sorted(set(SIMILARITY) - {"cycle_knn"}))
def test_identical_inputs_give_one(name):
    X, _ = planted()
    assert SIMILARITY[name](X, X.copy(), **PARAMS.get(name, {})) == pytest.approx(1.0, abs=1e-6)


def test_cycle_knn_of_identical_inputs_is_the_reciprocal_neighbour_rate():
    # by its definition cycle_knn(X, X) is the fraction of rows with at least one reciprocal
    # neighbour, not 1: kNN graphs are not symmetric
    X, _ = planted()
    I = nv.knn_lists(X, 5)
    expected = np.mean([any(i in I[j] for j in I[i]) for i in range(X.shape[0])])
    assert cycle_knn(X, X.copy(), k=5) == pytest.approx(expected)
    assert cycle_knn(X, X, k=X.shape[0] - 1) == 1.0


@pytest.mark.parametrize("name", ["cka", "unbiased_cka", "mutual_knn", "cknna", "rsa"])
def test_orthogonal_rotation_keeps_one(name):
    X, _ = planted(dx=10)
    Q, _ = np.linalg.qr(np.random.default_rng(3).normal(size=(10, 10)))
    assert SIMILARITY[name](X, X @ Q, **PARAMS.get(name, {})) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("name", sorted(SIMILARITY))
@pytest.mark.parametrize("offset", [0.0, 5.0])
def test_agrees_with_naive_definitions_float64(name, offset):
    X, Y = planted(offset=offset)
    assert SIMILARITY[name](X, Y, **PARAMS.get(name, {})) == pytest.approx(naive(name, X, Y), abs=1e-4)


@pytest.mark.parametrize("k", [2, 9])
def test_knn_metrics_agree_with_naive_for_other_k_and_shapes(k):
    X, Y = planted(n=61, dx=3, dy=20, seed=5)
    assert mutual_knn(X, Y, k=k) == pytest.approx(nv.mutual_knn(X, Y, k), abs=1e-12)
    assert cycle_knn(X, Y, k=k) == pytest.approx(nv.cycle_knn(X, Y, k), abs=1e-12)
    assert cknna(X, Y, k=k) == pytest.approx(nv.cknna(X, Y, k), abs=1e-4)


def test_duplicate_rows_are_neighbours_by_position():
    X, Y = planted(n=40, seed=2)
    X, Y = prepare_features(X, q=1), prepare_features(Y, q=1)  # unit rows: a duplicate is the top neighbour
    X[7] = X[3]  # an identical duplicate is still a neighbour; only the row itself is excluded
    Y[7] = Y[3]
    I = self_neighbours(X, 3)
    assert I[3, 0] == 7 and I[7, 0] == 3
    assert (I != np.arange(40)[:, None]).all()
    assert mutual_knn(X, Y, k=3) == pytest.approx(nv.mutual_knn(X, Y, 3))


def test_cknna_order_matters_and_full_k_is_unbiased_cka():
    X, Y = planted(n=50, seed=4)
    assert cknna(X, Y, k=6) == pytest.approx(nv.cknna(X, Y, 6), abs=1e-4)
    assert cknna(Y, X, k=6) == pytest.approx(nv.cknna(Y, X, 6), abs=1e-4)
    assert cknna(X, Y, k=6) != pytest.approx(cknna(Y, X, k=6), abs=1e-9)
    assert cknna(X, Y, k=None) == pytest.approx(unbiased_cka(X, Y), abs=1e-12)
    assert cknna(X, Y, k=49) == pytest.approx(nv.cknna(X, Y, 49), abs=1e-4)


def test_cycle_knn_is_not_symmetric():
    X, Y = planted(n=80, seed=6)
    assert cycle_knn(Y, X, k=3) == pytest.approx(nv.cycle_knn(Y, X, 3))
    assert cycle_knn(X, Y, k=3) != cycle_knn(Y, X, k=3)


def test_independent_gaussians_sit_near_the_null():
    rng = np.random.default_rng(0)
    n, k = 400, 10
    X, Y = rng.normal(size=(n, 32)), rng.normal(size=(n, 24))
    assert abs(mutual_knn(X, Y, k=k) - k / (n - 1)) < 0.02
    assert abs(unbiased_cka(X, Y)) < 0.02
    assert abs(cknna(X, Y, k=k)) < 0.05
    assert abs(rsa(X, Y)) < 0.03
    assert cka(X, Y) < 0.15  # the biased estimator's floor ~ d/n, not 0


def test_chunked_feature_space_equals_naive(monkeypatch):
    monkeypatch.setattr(similarity_base, "CHUNK_ROWS", 7)
    monkeypatch.setattr(sk, "CHUNK_ROWS", 7)
    X, Y = planted(n=53, offset=3.0)
    assert cka(X, Y) == pytest.approx(nv.cka(X, Y), abs=1e-10)
    assert unbiased_cka(X, Y) == pytest.approx(nv.cka(X, Y, unbiased=True), abs=1e-10)
    assert svcca(X, Y, dim=3) == pytest.approx(nv.svcca(X, Y, 3), abs=1e-8)
    assert rsa(X, Y) == pytest.approx(nv.rsa(X, Y), abs=1e-10)


def test_tiled_neighbour_search_equals_naive():
    X, _ = planted(n=300, dx=8)
    ref = nv.knn_lists(X, 6)
    assert (self_neighbours(X, 6, memory_mb=1) == ref).all()  # float64: exact torch tiles
    X32 = X.astype(np.float32)
    got = self_neighbours(X32, 6)
    assert (got == nv.knn_lists(X32.astype(np.float64), 6)).mean() > 0.999


def test_float32_and_torch_inputs():
    X, Y = planted(n=120)
    ref = mutual_knn(X, Y, k=5)
    assert mutual_knn(X.astype(np.float32), Y.astype(np.float32), k=5) == pytest.approx(ref, abs=0.01)
    assert cka(torch.from_numpy(X), torch.from_numpy(Y)) == pytest.approx(cka(X, Y), abs=1e-12)


def test_rsa_sampled_pairs_estimate_is_explicit_and_close():
    X, Y = planted(n=200)
    exact = rsa(X, Y)
    approx = rsa(X, Y, max_pairs=5000, seed=1)
    assert approx != exact and abs(approx - exact) < 0.05
    assert rsa(X, Y, max_pairs=5000, seed=1) == approx


def test_prepare_features_matches_reference_clip_and_normalises():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 8))
    X[:, 2] *= 40  # an outlier dimension
    t = np.sort(np.abs(X).ravel())[int(0.95 * X.size)]
    ref = np.clip(X, -t, t)
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    out = prepare_features(X)
    assert out.dtype == np.float64 and np.allclose(out, ref)
    assert np.allclose(np.linalg.norm(prepare_features(X.astype(np.float32)), axis=1), 1, atol=1e-6)
    per = prepare_features(X, per_feature=True)
    tc = np.sort(np.abs(X), axis=0)[int(0.95 * 50)]
    ref2 = np.clip(X, -tc, tc)
    assert np.allclose(per, ref2 / np.linalg.norm(ref2, axis=1, keepdims=True))
    assert np.allclose(prepare_features(X, q=1), X / np.linalg.norm(X, axis=1, keepdims=True))


def test_constant_columns_are_harmless():
    X, Y = planted()
    Xc = np.concatenate([X, np.full((X.shape[0], 2), 3.0)], axis=1)
    assert cka(Xc, Y) == pytest.approx(nv.cka(Xc, Y), abs=1e-6)
    assert svcca(Xc, Y, dim=4) == pytest.approx(svcca(X, Y, dim=4), abs=1e-6)


@pytest.mark.parametrize("name", sorted(SIMILARITY))
def test_bad_inputs(name):
    f, p = SIMILARITY[name], PARAMS.get(name, {})
    X, Y = planted(n=30)
    with pytest.raises(ShapeError):
        f(X, Y[:-1], **p)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValidationError):
        f(bad, Y, **p)
    with pytest.raises(ValidationError):
        f(np.ones((30, 4)), Y, **p)  # identical rows
    with pytest.raises(ShapeError):
        f(X[:, 0], Y, **p)
    with pytest.raises(AlignError):
        f(np.zeros((30, 0)), Y, **p)


@pytest.mark.parametrize("name", ["mutual_knn", "cycle_knn", "cknna"])
def test_k_must_be_below_n(name):
    X, Y = planted(n=10)
    with pytest.raises(ValidationError, match="rows"):
        SIMILARITY[name](X, Y, k=10)
    with pytest.raises(ValidationError):
        SIMILARITY[name](X, Y, k=0)


def test_other_parameter_checks():
    X, Y = planted(n=30)
    with pytest.raises(ValidationError, match="k"):
        cknna(X, Y, k=1)
    with pytest.raises(ValidationError, match="dim"):
        svcca(X, Y, dim=10)
    with pytest.raises(ValidationError, match="rank"):
        svcca(np.concatenate([X[:, :2], np.zeros((30, 10))], axis=1), Y, dim=5)
    Z = X.copy()
    Z[3] = 0
    with pytest.raises(ValidationError, match="zero row"):
        rsa(Z, Y)
    with pytest.raises(ValidationError):
        rsa(X, Y, max_pairs=1)
    with pytest.raises(ValidationError):
        prepare_features(X, q=0)
    with pytest.raises(ValidationError):
        prepare_features(X, q=1.5)
    with pytest.raises(ValidationError):
        prepare_features(np.array([[np.inf, 1.0]]))


@pytest.mark.parametrize("kind", ["latent", "duplicates"])
def test_screened_self_knn_is_exact(kind):
    rng = np.random.default_rng(0)
    n, d = 800, 24
    X = rng.normal(size=(n, 6)) @ rng.normal(size=(6, d)) + 0.3 * rng.normal(size=(n, d))
    if kind == "duplicates":
        X[100:140] = X[:40]
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)
    stats = {}
    got = self_knn(X, 7, screen=True, block=256, subset=128, stats=stats)
    assert (got == nv.knn_lists(X.astype(np.float64), 7)).all()
    assert stats["certified"] + stats["fallback_rows"] == n and stats["certified"] > 0.9 * n
    assert (self_neighbours(X, 7, backend="screen") == got).all()


def test_float32_feature_space_is_close_to_float64():
    X, Y = planted(n=500, offset=4.0)
    for f in (cka, unbiased_cka):
        assert f(X.astype(np.float32), Y.astype(np.float32)) == pytest.approx(
            f(X.astype(np.float32).astype(np.float64), Y.astype(np.float32).astype(np.float64)), abs=1e-5)


@pytest.mark.parametrize("scale", [1e20, 1e-30])
def test_extreme_scales_give_the_scale_free_value(scale):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((80, 6)).astype(np.float32)
    Y = (X @ rng.standard_normal((6, 5)) + rng.standard_normal((80, 5))).astype(np.float32)
    for f in (sk.cka, sk.unbiased_cka, sk.rsa):
        assert f(X * scale, Y) == pytest.approx(f(X, Y), rel=1e-4, abs=1e-6), f.__name__
    assert sk.svcca(X * scale, Y, dim=4) == pytest.approx(sk.svcca(X, Y, dim=4), rel=1e-4)
