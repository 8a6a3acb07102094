"""Similarity statistics: permutation nulls (calibration), bootstrap CIs, the layer-grid max-null."""
import numpy as np
import pytest
from scipy.stats import kstest

from align.exceptions import ShapeError, ValidationError
from align.metrics import (SIMILARITY, bootstrap_ci, cka, cycle_knn, mutual_knn, paired_permutation_test, rsa,
                           unbiased_cka)
from align.metrics.similarity_scorers import get_scorer
from align.metrics.stats import (bootstrap_metric, layer_grid_test, paired_similarity, permutation_test,
                                 similarity_matrix)

import naive_similarity as nv


def planted(n=80, seed=0, noise=0.6):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, 3))
    return (Z @ rng.normal(size=(3, 10)) + noise * rng.normal(size=(n, 10)),
            Z @ rng.normal(size=(3, 7)) + noise * rng.normal(size=(n, 7)))


def test_existing_helpers_unchanged():
    assert bootstrap_ci(np.ones(10))["value"] == 1.0
    assert paired_permutation_test(np.ones(10), np.zeros(10), n_permutations=99)["p_value"] < 0.05


@pytest.mark.parametrize("metric,kw", [("mutual_knn", {"k": 5}), ("cka", {}), ("rsa", {}), ("cknna", {"k": 5}),
                                       ("svcca", {"dim": 3})])
def test_permutation_test_detects_planted_alignment(metric, kw):
    X, Y = planted()
    res = permutation_test(metric, X, Y, n_permutations=49, metric_kwargs=kw)
    assert res["p_value"] == pytest.approx(1 / 50)
    assert res["value"] > res["null"]["q99"] and res["z"] > 3
    assert set(res["null"]) >= {"mean", "std", "q05", "q50", "q95", "q99"}


def test_permutation_scorer_equals_recomputing_on_permuted_rows():
    X, Y = planted(n=60)
    perm = np.random.default_rng(1).permutation(60)
    for metric, kw in (("mutual_knn", {"k": 4}), ("cycle_knn", {"k": 4}), ("cka", {}), ("unbiased_cka", {}),
                       ("cknna", {"k": 4}), ("rsa", {})):
        sc = get_scorer(metric, **kw)
        fast = sc.score(sc.prepare(X), sc.prepare(Y), perm)
        assert fast == pytest.approx(SIMILARITY[metric](X, Y[perm], **kw), abs=1e-10), metric


@pytest.mark.parametrize("metric,kw", [("mutual_knn", {"k": 3}), ("unbiased_cka", {}), ("cka", {})])
def test_p_values_are_calibrated_under_independence(metric, kw):
    # 60 independent data sets: the p-values must spread uniformly over (0, 1]
    ps = []
    for seed in range(60):
        rng = np.random.default_rng(seed)
        X, Y = rng.normal(size=(40, 6)), rng.normal(size=(40, 5))
        ps.append(permutation_test(metric, X, Y, n_permutations=99, seed=seed, metric_kwargs=kw)["p_value"])
    ps = np.array(ps)
    assert kstest(ps, "uniform").pvalue > 0.01
    assert 0.0 <= (ps <= 0.1).mean() <= 0.25 and (ps > 0.5).mean() > 0.3


def test_bootstrap_metric_schemes():
    X, Y = planted(n=100)
    r = bootstrap_metric("mutual_knn", X, Y, n_boot=200, metric_kwargs={"k": 5})
    assert r["scheme"] == "items" and r["low"] <= r["value"] <= r["high"]
    c = bootstrap_metric(cka, X, Y, n_boot=200)
    assert c["scheme"] == "rows" and c["low"] < c["value"] < c["high"] and c["high"] - c["low"] < 0.3
    with pytest.raises(ValidationError):
        bootstrap_metric("cka", X, Y, n_boot=10, scheme="items")
    with pytest.raises(ValidationError):
        bootstrap_metric("mutual_knn", X, Y, n_boot=10, scheme="rows")


def test_resampled_scores_drop_copy_pairs_exactly():
    X, Y = planted(n=40, seed=3)
    X = X + 2.0
    rng = np.random.default_rng(0)
    idx = rng.integers(0, 40, 40)
    same = idx[:, None] == idx[None, :]
    off = same & ~np.eye(40, dtype=bool)

    def biased(K, L):
        H = np.eye(40) - 1 / 40
        Kc, Lc = H @ K @ H, H @ L @ H
        Kc[off] = Lc[off] = 0
        return (Kc * Lc).sum()

    def unbiased(K, L):
        K, L = K.copy(), L.copy()
        K[same] = L[same] = 0
        return nv.hsic_unbiased(K, L)

    Xr, Yr = X[idx], Y[idx]
    K, L = Xr @ Xr.T, Yr @ Yr.T
    for name, h in (("cka", biased), ("unbiased_cka", unbiased)):
        sc = get_scorer(name)
        got = sc.score(sc.resample(sc.prepare(X), idx), sc.resample(sc.prepare(Y), idx))
        assert got == pytest.approx(h(K, L) / (np.sqrt(h(K, K) * h(L, L)) + 1e-6), abs=1e-10)


def test_bootstrap_without_copy_pairs_matches_sampling_spread():
    # planted population: the resampled CKA spread should match the spread over fresh samples
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(4, 12)), rng.normal(size=(4, 8))

    def draw(n):
        Z = rng.normal(size=(n, 4))
        return Z @ A + 2 * rng.normal(size=(n, 12)), np.tanh(Z @ B) + rng.normal(size=(n, 8))

    sampling = np.std([unbiased_cka(*draw(120)) for _ in range(150)])
    X, Y = draw(120)
    r = bootstrap_metric("unbiased_cka", X, Y, n_boot=300)
    assert 0.6 < r["se"] / sampling < 1.6
    naive_boot = [unbiased_cka(X[i], Y[i]) for i in np.random.default_rng(1).integers(0, 120, (100, 120))]
    assert np.mean(naive_boot) - r["value"] > abs(np.mean([r["low"], r["high"]]) - r["value"])


def test_layer_grid_max_null_and_argmax():
    rng = np.random.default_rng(0)
    X, Y = planted(n=70, seed=2)
    layers_a = [rng.normal(size=X.shape), X, rng.normal(size=X.shape)]
    layers_b = [rng.normal(size=Y.shape), Y]
    g = layer_grid_test("mutual_knn", layers_a, layers_b, n_permutations=99, metric_kwargs={"k": 4})
    assert g["argmax"] == (1, 1) and g["max"] == pytest.approx(mutual_knn(X, Y, k=4))
    assert g["p_value"] == pytest.approx(0.01)
    assert np.array(g["grid"]).shape == (3, 2) and np.array(g["p_values"]).shape == (3, 2)
    assert g["null_max"]["mean"] > g["null_cell"]["mean"]  # the max over 6 cells is above one cell's null


def test_layer_grid_max_null_is_calibrated():
    ps, cell_ps = [], []
    for seed in range(40):
        rng = np.random.default_rng(100 + seed)
        A = [rng.normal(size=(30, 4)) for _ in range(3)]
        B = [rng.normal(size=(30, 3)) for _ in range(2)]
        g = layer_grid_test("unbiased_cka", A, B, n_permutations=49, seed=seed)
        ps.append(g["p_value"])
        cell_ps.append(np.array(g["p_values"])[g["argmax"]])
    assert kstest(ps, "uniform").pvalue > 0.01
    assert np.mean(cell_ps) < np.mean(ps)  # the best cell's own p-value is optimistic


def test_similarity_matrix_shape_symmetry_and_shared_resamples():
    X, Y = planted(n=60)
    Z = np.random.default_rng(9).normal(size=(60, 5))
    idx = np.random.default_rng(0).integers(0, 60, (30, 60))
    m = similarity_matrix("rsa", [X, Y, Z], n_permutations=19, boot_indices=idx)
    V = np.array(m["values"], dtype=float)
    assert np.allclose(V, V.T) and np.allclose(np.diag(V), 1)
    assert V[0, 1] == pytest.approx(rsa(X, Y))
    assert m["p_values"][0][0] is None and m["p_values"][0][1] == pytest.approx(0.05)
    assert m["boot"].shape == (30, 3, 3) and m["low"][0][1] < m["high"][0][1]
    c = similarity_matrix("cycle_knn", [X, Y], metric_kwargs={"k": 3})  # asymmetric: both cells computed
    assert c["values"][0][1] == pytest.approx(cycle_knn(X, Y, k=3))
    assert c["values"][1][0] == pytest.approx(cycle_knn(Y, X, k=3))


def test_bad_inputs():
    X, Y = planted(n=30)
    with pytest.raises(ShapeError):
        permutation_test("cka", X, Y[:-1], n_permutations=9)
    with pytest.raises(ValidationError):
        permutation_test("cka", X, Y, n_permutations=0)
    with pytest.raises(ValidationError):
        permutation_test("nope", X, Y)
    with pytest.raises(ValidationError):
        permutation_test(3, X, Y)
    with pytest.raises(ValidationError):
        permutation_test("mutual_knn", X, Y, metric_kwargs={"q": 1})
    with pytest.raises(ValidationError):
        bootstrap_metric("cka", X, Y, level=1.5)
    with pytest.raises(ShapeError):
        layer_grid_test("cka", [X, X[:-1]], [Y], n_permutations=9)
    with pytest.raises(ValidationError):
        layer_grid_test("cka", [], [Y], n_permutations=9)
    with pytest.raises(ShapeError):
        paired_similarity("cka", [X], [Y], boot_indices=np.zeros((3, 5), int))
    with pytest.raises(ValidationError):
        paired_similarity("cka", [X], [Y], pairs=[(0, 3)])


def test_user_callable_metric():
    X, Y = planted(n=40)

    def first_column_corr(A, B):
        return float(abs(np.corrcoef(A[:, 0], B[:, 0])[0, 1]))

    res = permutation_test(first_column_corr, X, Y, n_permutations=19)
    assert res["metric"] == "first_column_corr" and 0 < res["p_value"] <= 1
