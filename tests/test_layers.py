"""Layer sweeps: max-over-grid null, planted similar layers, matched-layer curves, bad inputs."""
import numpy as np
import pytest

from align.exceptions import AlignError, ShapeError, ValidationError
from align.layers import (LayerFeatures, layer_curve, layer_features, layer_sweep, plot_layer_grid,
                          prepare_layer, sweep_grid, zscore_columns)
from toy_encoders import ToyLayers


def _random_layers(rng, count, n=80, d=8):
    return [rng.standard_normal((n, d)).astype(np.float32) for _ in range(count)]


def test_grid_max_null_is_above_single_pair_null():
    rng = np.random.default_rng(0)
    A, B = _random_layers(rng, 6), _random_layers(rng, 5)
    res = sweep_grid(A, B, metric="mutual_knn", k=5, n_permutations=200, n_boot=0)
    assert np.array(res["grid"]).shape == (6, 5)
    # the maximum of 30 null cells is larger than one cell's null: the correction matters
    assert res["null_max"]["q95"] > res["null_cell"]["q95"] + 0.01
    assert res["null_max"]["mean"] > res["null_cell"]["mean"]
    # with independent layers, the best pair is not significant once corrected
    assert res["best"]["p_corrected"] > 0.05
    assert res["best"]["p_corrected"] >= res["best"]["p_uncorrected"]


def test_planted_similar_pair_is_found_with_corrected_p():
    rng = np.random.default_rng(1)
    A, B = _random_layers(rng, 5), _random_layers(rng, 4)
    Q, _ = np.linalg.qr(rng.standard_normal((8, 8)))
    B[2] = (A[3] @ Q + 0.3 * rng.standard_normal((80, 8))).astype(np.float32)
    res = sweep_grid(A, B, metric="mutual_knn", k=5, n_permutations=200, n_boot=100)
    best = res["best"]
    assert (best["layer_a"], best["layer_b"]) == (3, 2)
    assert best["p_corrected"] < 0.05
    assert best["low"] <= best["value"] <= best["high"] and best["argmax_share"] > 0.9
    assert np.array(res["low"]).shape == (5, 4)
    cka = sweep_grid(A, B, metric="cka", n_permutations=50, n_boot=20)
    assert (cka["best"]["layer_a"], cka["best"]["layer_b"]) == (3, 2) and cka["best"]["p_corrected"] < 0.05


def test_layer_curve_planted_middle_layer(tmp_path):
    rng = np.random.default_rng(2)
    A, B = _random_layers(rng, 5), _random_layers(rng, 5)
    for i, noise in ((1, 3.0), (2, 0.2), (3, 3.0)):
        B[i] = (A[i] + noise * rng.standard_normal(A[i].shape)).astype(np.float32)
    boot = rng.integers(0, 80, size=(50, 80))
    cur = layer_curve(A, B, k=5, n_permutations=100, boot_indices=boot)
    assert cur["best_layer"] == 2 and cur["p_max"] < 0.05 and cur["p_values"][2] < 0.05
    assert cur["boot"].shape == (50, 5) and cur["low"][2] > cur["high"][0]
    assert all(lo <= hi for lo, hi in zip(cur["low"], cur["high"]))
    assert cur["null_q95"][0] < cur["values"][2]
    res = sweep_grid(A, B, k=5, n_permutations=20, n_boot=10)
    plot_layer_grid(res, tmp_path / "grid.png")
    assert (tmp_path / "grid.png").stat().st_size > 1000


def test_layer_sweep_end_to_end():
    texts = [f"item {i}" for i in range(60)]
    res = layer_sweep(texts, ToyLayers("toy-a", 2), ToyLayers("toy-bb", 1), k=5, n_permutations=100,
                      n_boot=20, cache=False)
    assert res["layers_a"] == [0, 1, 2, 3] and res["model_b"] == "toy-bb"
    assert (res["best"]["layer_a"], res["best"]["layer_b"]) == (2, 1) and res["best"]["p_corrected"] < 0.05
    feats = layer_features(texts, ToyLayers("toy-a", 2), layers=[0, -1], cache=False)
    assert isinstance(feats, LayerFeatures) and feats.layers == [0, 3] and len(feats) == 2
    np.testing.assert_allclose(np.linalg.norm(feats.vectors[0], axis=1), 1, atol=1e-5)


def test_preprocessing():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 4)) * np.array([1, 100, 1, 1]) + 5
    X[:, 2] = 7.0
    Z = zscore_columns(X)
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(Z.std(0), [1, 1, 0, 1], atol=1e-4)
    P = prepare_layer(X)
    np.testing.assert_allclose(np.linalg.norm(P, axis=1), 1, atol=1e-5)


def test_bad_inputs():
    rng = np.random.default_rng(4)
    A = _random_layers(rng, 2)
    with pytest.raises(ShapeError):
        sweep_grid(A, [rng.standard_normal((79, 8))], n_permutations=10)
    with pytest.raises(ValidationError):
        sweep_grid([], A, n_permutations=10)
    with pytest.raises(ValidationError):
        sweep_grid(A[0], A, n_permutations=10)
    with pytest.raises(ValidationError):
        sweep_grid(A, A, n_permutations=0)
    with pytest.raises(ValidationError):
        sweep_grid(A, A, n_permutations=10, level=1.5)
    with pytest.raises(AlignError):
        sweep_grid(A, [np.full((80, 8), np.nan)], n_permutations=10)
    with pytest.raises(ShapeError):
        layer_curve(A, A[:1], n_permutations=10)
    with pytest.raises(ShapeError):
        zscore_columns(np.array([1.0, 2.0]))
    texts = [f"item {i}" for i in range(20)]
    with pytest.raises(ShapeError):
        layer_sweep(texts, ToyLayers("toy-a", 2), ToyLayers("toy-b", 1), texts_b=texts[:5], cache=False)
    with pytest.raises(ValidationError):
        layer_features(texts, ToyLayers("toy-a", 2), layers=[7], cache=False)
    with pytest.raises(ValidationError):
        layer_features(texts, ToyLayers("toy-a", 2), layers="some", cache=False)
    with pytest.raises(ValidationError):
        layer_sweep("one string", ToyLayers("toy-a", 2), ToyLayers("toy-b", 1))
