"""Few known pairs as relative-representation anchors (SelfLearningRefiner(start="relative"))."""
import numpy as np
import pytest

from align.compute import knn
from align.exceptions import ValidationError
from align.synthetic import rotation
from align.unsupervised import SelfLearningRefiner
from align.unsupervised.anchors import anchor_pairs, relative_pairs

from planted import held_out


def _top1(model, Xe, Ye):
    return float((knn(model.transform(Xe), Ye, 1)[1][:, 0] == np.arange(len(Ye))).mean())


def test_four_anchors_recover_a_rotation_that_procrustes_on_them_cannot():
    X, Y, true, Xe, Ye = held_out(rotation(n=3000, d=64, noise=0.1, seed=0), 2500)
    seeds = true[np.random.default_rng(1).choice(len(true), 4, replace=False)]
    plain = _top1(SelfLearningRefiner().fit(X, Y, seed_pairs=seeds), Xe, Ye)
    rel = SelfLearningRefiner(start="relative").fit(X, Y, seed_pairs=seeds)
    assert plain < 0.3  # 4 pairs in 64 dimensions: the Procrustes start is under-determined
    assert _top1(rel, Xe, Ye) >= 0.99


def test_relative_pairs_are_mostly_true_pairs_and_keep_the_seeds():
    X, Y, true, _, _ = held_out(rotation(n=2000, d=32, noise=0.05, seed=2), 2000)
    seeds = true[:8]
    pairs = anchor_pairs(X - X.mean(0), Y - Y.mean(0), seeds)
    truth = dict(map(tuple, true.tolist()))
    correct = np.mean([truth[i] == j for i, j in pairs])
    assert len(pairs) > 500 and correct > 0.9
    assert {tuple(s) for s in seeds.tolist()} <= {tuple(p) for p in pairs.tolist()}


def test_relative_pairs_match_permuted_anchors_as_given():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(300, 16)).astype(np.float32)
    perm = rng.permutation(300)
    B = A[perm]  # B[i] = A[perm[i]]
    anchors = np.arange(12)
    pairs = relative_pairs(A, B, A[anchors], A[anchors])
    inverse = np.argsort(perm)
    assert len(pairs) > 250 and all(inverse[i] == j for i, j in pairs)


def test_relative_start_needs_two_distinct_pairs():
    X, Y, true, _, _ = held_out(rotation(n=500, d=16, seed=3), 400)
    with pytest.raises(ValidationError, match="at least 2 distinct known pairs"):
        SelfLearningRefiner(start="relative").fit(X, Y, seed_pairs=np.array([[0, true[0, 1]]] * 3))
    with pytest.raises(ValidationError, match="start must be one of"):
        SelfLearningRefiner(start="anchors").fit(X, Y, seed_pairs=true[:5])


def test_relative_start_is_deterministic():
    X, Y, true, Xe, _ = held_out(rotation(n=1500, d=32, noise=0.1, seed=4), 1200)
    a = SelfLearningRefiner(start="relative", random_state=0).fit(X, Y, seed_pairs=true[:5]).transform(Xe)
    b = SelfLearningRefiner(start="relative", random_state=0).fit(X, Y, seed_pairs=true[:5]).transform(Xe)
    np.testing.assert_array_equal(a, b)
