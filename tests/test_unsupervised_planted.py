"""Issue 8 acceptance on planted problems, no pairs given (rows of Y shuffled, truth in p.pairs):
rotation + noise recovered by ≥ 3 aligners, 64 → 48 dimensions by ≥ 2, 50 % partial overlap by ≥ 1,
HMM states matched well above chance; few-pair self-learning climbs above Procrustes on 25 pairs."""
import numpy as np
import pytest

from align.metrics import translation_scores
from align.compute import knn
from align.supervised.procrustes import ProcrustesTranslator
from align.synthetic import hmm_pairs, partial_overlap, rotation
from align.unsupervised import (GromovWassersteinAligner, SelfLearningRefiner, StructureMatchingAligner,
                                WassersteinProcrustesAligner)
from planted import held_out


def top1(model, Xe, Ye):
    return translation_scores(model.transform(Xe), Ye)["top1"]


@pytest.fixture(scope="module")
def rotation_64():
    return held_out(rotation(n=5000, d=64, noise=0.05, seed=0), 4000)


ROTATION = {  # three aligners with different first stages; each fitted without a single pair
    "structure-sorted_sim": lambda: StructureMatchingAligner(init="sorted_sim"),
    "structure-principal_axes": lambda: StructureMatchingAligner(init="principal_axes"),
    "wasserstein-procrustes": lambda: WassersteinProcrustesAligner(init="principal_axes", n_epochs=1, n_iter=5,
                                                            n_refine=3),
}


@pytest.mark.parametrize("name", sorted(ROTATION))
def test_rotation_recovered_without_pairs(name, rotation_64):
    X, Y, _, Xe, Ye = rotation_64  # d=64, n=5,000 (4,000 to fit, 1,000 held out), noise 0.05
    assert X.shape == (4000, 64) and Xe.shape == (1000, 64)
    assert top1(ROTATION[name]().fit(X, Y), Xe, Ye) >= 0.95


DIMS = {  # 64 → 48 through a random semi-orthogonal map
    "structure-sorted_sim": lambda: StructureMatchingAligner(init="sorted_sim"),
    "wasserstein-procrustes": lambda: WassersteinProcrustesAligner(n_epochs=1, n_iter=5, n_refine=3),
}


@pytest.mark.parametrize("name", sorted(DIMS))
def test_different_dimensions_recovered_without_pairs(name):
    X, Y, _, Xe, Ye = held_out(rotation(n=1000, d=64, d_out=48, noise=0.05, seed=0), 800)
    model = DIMS[name]().fit(X, Y)
    assert model.transform(Xe).shape == (200, 48)
    assert top1(model, Xe, Ye) >= 0.95


@pytest.mark.slow
def test_gromov_wasserstein_on_a_fully_sampled_set():
    # GW needs its two samples to share their points (see align/unsupervised/ot.py): whole 1,000-row sets
    X, Y, _, Xe, Ye = held_out(rotation(n=1250, d=64, d_out=48, noise=0.05, seed=0), 1000)
    assert top1(GromovWassersteinAligner(n_sample=1000).fit(X, Y), Xe, Ye) >= 0.95


def test_partial_overlap_recovered_without_pairs():
    # half of each set has no counterpart; evaluated on the shared rows (never given to fit)
    p = partial_overlap(n=2000, d=64, overlap=0.5, noise=0.05, seed=0)
    model = StructureMatchingAligner(init="sorted_sim").fit(p.X, p.Y)
    shared = p.pairs
    assert len(shared) == 1000
    assert translation_scores(model.transform(p.X[shared[:, 0]]), p.Y[shared[:, 1]])["top1"] >= 0.95


@pytest.mark.parametrize("init", ["sorted_sim", "kmeans"])
def test_hmm_states_matched_well_above_chance(init):
    p = hmm_pairs(n_states=6, symbols_per_state=10, length=60_000, dim=12, seed=0)
    sa, sb = p.meta["state_of_a"], p.meta["state_of_b"]
    model = StructureMatchingAligner(init=init, n_clusters=6).fit(p.X, p.Y)
    nearest = knn(model.transform(p.X), p.Y, 1)[1][:, 0]
    accuracy = (sb[nearest] == sa).mean()
    assert accuracy >= 1 / 6 + 0.5  # chance is 1/6


def test_few_pair_self_learning_climbs_above_procrustes():
    X, Y, true, Xe, Ye = held_out(rotation(n=3000, d=32, noise=0.3, seed=1), 2500)
    seeds = true[:25]
    start = top1(ProcrustesTranslator().fit(X[seeds[:, 0]], Y[seeds[:, 1]]), Xe, Ye)
    refiner = SelfLearningRefiner().fit(X, Y, seed_pairs=seeds)
    refined = top1(refiner, Xe, Ye)
    assert start < 0.8  # 25 noisy pairs in 32 dimensions: clearly short of the map
    assert refined >= 0.95 and refined > start + 0.15
    assert refiner.history_[-1]["n_pairs"] > 10 * len(seeds)  # the dictionary grew by itself
