"""Translation metrics: hand-computed ranks, CSLS, random galleries, per-item results and CIs."""
import numpy as np
import pytest

from align.exceptions import ShapeError, ValidationError
from align.metrics import (paired_permutation_test, summarize_items, translation_ci, translation_items,
                           translation_ranks, translation_scores)
from align.compute import csls_knn


def noisy_pairs(n=300, d=16, noise=0.8, seed=0):
    rng = np.random.default_rng(seed)
    T = rng.standard_normal((n, d)).astype(np.float32)
    return T + noise * rng.standard_normal((n, d)).astype(np.float32), T


def test_hand_computed_ranks():
    T = np.eye(3, dtype=np.float32)
    P = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 0.5, 0.5]], dtype=np.float32)
    # item 0: own target best → 1; item 1: target 0 beats its own → 2; item 2: tie with target 1
    # (lower index) counts against it → 2
    np.testing.assert_array_equal(translation_ranks(P, T), [1, 2, 2])
    s = translation_scores(P, T, ks=(1, 2))
    assert s["top1"] == pytest.approx(1 / 3) and s["top2"] == 1.0
    assert s["mean_rank"] == pytest.approx(5 / 3) and s["mrr"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert s["n"] == 3 and s["gallery_size"] == 3
    cos = [1.0, 0.1 / np.sqrt(0.82), np.sqrt(0.5)]
    assert s["mean_cosine"] == pytest.approx(np.mean(cos), rel=1e-6)
    # FOSCTTM: (rank − 1) / (gallery − 1) per item = 0, 1/2, 1/2
    assert s["foscttm"] == pytest.approx((0 + 0.5 + 0.5) / 3)


def test_foscttm_random_and_perfect_and_in_a_gallery():
    rng = np.random.default_rng(0)
    T = rng.standard_normal((400, 8)).astype(np.float32)
    assert translation_scores(T, T)["foscttm"] == 0.0
    random = translation_scores(rng.standard_normal((400, 8)).astype(np.float32), T)
    assert random["foscttm"] == pytest.approx(0.5, abs=0.05)
    items = translation_items(T[:, ::-1].copy(), T, gallery_size=11)
    np.testing.assert_allclose(items["foscttm"], (items["rank"] - 1) / 10)
    ci = translation_ci(items, n_boot=200)["foscttm"]
    assert ci["low"] <= ci["value"] <= ci["high"]


def test_existing_keys_unchanged():
    P, T = noisy_pairs()
    s = translation_scores(P, T)
    for key in ("top1", "top5", "top10", "mean_rank", "median_rank", "mrr", "mean_cosine", "n"):
        assert key in s
    assert not any(k.startswith("csls") for k in s)


def test_csls_ranks_agree_with_csls_knn():
    P, T = noisy_pairs(n=400, noise=1.0)
    s = translation_scores(P, T, csls_k=10)
    _, I = csls_knn(P, T, 1, csls_k=10)
    assert s["csls_top1"] == pytest.approx(float((I[:, 0] == np.arange(400)).mean()))
    assert {"csls_top1", "csls_top5", "csls_mean_rank", "csls_median_rank", "csls_mrr"} <= set(s)


def test_csls_demotes_a_hub():
    rng = np.random.default_rng(1)
    n, d = 100, 16
    T = rng.standard_normal((n, d)).astype(np.float32)
    u = rng.standard_normal(d)
    u /= np.linalg.norm(u)
    P = (T + 3 * u + 0.8 * rng.standard_normal((n, d))).astype(np.float32)  # every translation leans to u
    T[0] = 4 * u  # target 0 is a hub: close to every translation
    plain = translation_ranks(P, T)
    csls = translation_ranks(P, T, csls_k=5)
    assert (csls[1:] <= plain[1:]).all() and csls[1:].mean() < plain[1:].mean() - 0.5


def test_gallery_size():
    P, T = noisy_pairs(n=300, noise=1.2)
    full = translation_ranks(P, T)
    g = translation_ranks(P, T, gallery_size=20, seed=3)
    assert (g <= full).all() and g.max() <= 20 and g.min() >= 1
    np.testing.assert_array_equal(g, translation_ranks(P, T, gallery_size=20, seed=3))
    assert not np.array_equal(g, translation_ranks(P, T, gallery_size=20, seed=4))
    np.testing.assert_array_equal(translation_ranks(P, T, gallery_size=300), full)  # ≥ n: everything
    s = translation_scores(P, T, gallery_size=20)
    assert s["gallery_size"] == 20 and s["top1"] > translation_scores(P, T)["top1"]
    # chunking must not change the draw
    np.testing.assert_array_equal(translation_ranks(P, T, gallery_size=20, seed=3, memory_mb=1), g)


def test_gallery_rank_hand_computed():
    # perfect translations rank 1 in any gallery; a translation equal to target 1 for item 0 ranks 2
    # exactly when target 1 is among item 0's distractors
    T = np.eye(4, dtype=np.float32)
    P = T.copy()
    P[0] = T[1]
    ranks = translation_ranks(P, T, gallery_size=2, seed=0)
    assert (ranks[1:] == 1).all() and ranks[0] in (1, 2)
    seen = {int(translation_ranks(P, T, gallery_size=2, seed=s)[0]) for s in range(20)}
    assert seen == {1, 2}


def test_items_summary_and_ci():
    P, T = noisy_pairs()
    scores, items = translation_scores(P, T, csls_k=10, return_items=True)
    assert set(items) == {"rank", "csls_rank", "foscttm", "cosine"}
    assert items["rank"].shape == (300,) and items["rank"].dtype == np.int64
    assert summarize_items(items) == {k: v for k, v in scores.items() if k != "gallery_size"}
    ci = translation_ci(items, n_boot=300)
    for key in ("top1", "mean_rank", "mean_cosine", "csls_top1", "median_rank"):
        assert ci[key]["low"] <= ci[key]["value"] <= ci[key]["high"]
    assert ci["top1"]["value"] == pytest.approx(scores["top1"])
    # per-item results feed the paired permutation test between two translators
    worse = translation_items(P + 0.5 * np.random.default_rng(9).standard_normal(P.shape).astype(np.float32), T)
    test = paired_permutation_test((items["rank"] == 1) * 1.0, (worse["rank"] == 1) * 1.0, n_permutations=500)
    assert test["diff"] > 0 and test["p_value"] < 0.05


@pytest.mark.parametrize("kwargs", [{"csls_k": 0}, {"gallery_size": 1}, {"csls_k": 5, "metric": "l2"},
                                    {"metric": "dot"}, {"gallery_size": 2.5}, {"ks": (0,)}])
def test_bad_options(kwargs):
    P, T = noisy_pairs(n=20)
    with pytest.raises(ValidationError):
        translation_scores(P, T, **kwargs)


def test_bad_arrays():
    P, T = noisy_pairs(n=20)
    with pytest.raises(ShapeError):
        translation_scores(P, T[:10])
    with pytest.raises(ShapeError):
        translation_items(P, T[:, :5])
    P[0, 0] = np.nan
    with pytest.raises(ValidationError):
        translation_ranks(P, T, csls_k=3)
