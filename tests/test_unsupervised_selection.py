"""Label-free selection: the default criterion picks a near-best run among ≥ 10 runs of mixed quality
and correlates with true top-1; hand-computed criteria on tiny inputs; bad inputs."""
import numpy as np
import pytest

from align.exceptions import NotFittedError, ShapeError, ValidationError
from align.metrics import translation_scores
from align.synthetic import rotation
from align.unsupervised import SelfLearningRefiner, StructureMatchingAligner, WassersteinProcrustesAligner
from align.unsupervised.selection import (CRITERIA, DEFAULT_CRITERION, cycle_consistency, label_free_criteria,
                                          select, spearman)


def mixed_runs():
    """12 unfitted aligners: failing, partial and full recoveries of a planted rotation."""
    runs = [StructureMatchingAligner(init=init, n_refine=refine, n_clusters=16, random_state=1)
            for init in ("sorted_sim", "principal_axes", "kmeans", "relative", "ica") for refine in (0, 10)]
    runs += [WassersteinProcrustesAligner(init="identity", n_epochs=1, n_iter=3, n_refine=r, random_state=r) for r in (0, 1)]
    return runs


@pytest.fixture(scope="module")
def fitted_runs():
    p = rotation(n=1200, d=32, noise=0.3, seed=1)
    tr, te = p.pairs[:1000], p.pairs[1000:]
    X, Y = p.X[tr[:, 0]], p.Y[np.sort(tr[:, 1])]  # unpaired
    scores, crits = [], []
    for model in mixed_runs():
        model.fit(X, Y)
        scores.append(translation_scores(model.transform(p.X[te[:, 0]]), p.Y[te[:, 1]])["top1"])
        crits.append(model.criterion_)
    return np.array(scores), crits


def test_default_criterion_picks_a_near_best_run(fitted_runs):
    scores, crits = fitted_runs
    assert len(scores) >= 10 and scores.min() < 0.2 and scores.max() > 0.9  # mixed quality
    assert len(np.unique(scores.round(2))) >= 3
    assert scores[select(crits)] >= scores.max() - 0.05
    assert spearman([c[DEFAULT_CRITERION] for c in crits], scores) >= 0.4


def test_criteria_are_informative_on_the_runs(fitted_runs):
    scores, crits = fitted_runs
    rhos = {c: spearman([r[c] for r in crits], scores) for c in CRITERIA}
    assert all(rho > 0 for rho in rhos.values()), rhos
    assert rhos[DEFAULT_CRITERION] >= max(rhos.values()) - 0.1  # among the best, as documented


def test_hand_computed_criteria():
    A = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
    B = np.array([[1.0, 0.0], [0.6, 0.8]], np.float32)
    c = label_free_criteria(A, B, k=1)
    assert c["mean_nn_cos"] == pytest.approx(0.9, abs=1e-6)  # (1 + 0.8) / 2
    assert c["neg_transport"] == pytest.approx(-0.1, abs=1e-6)  # assignment a1-b1 (0), a2-b2 (0.2)
    # CSLS (k=2): r_a = (0.8, 0.4), r_b = (0.5, 0.7); 2·cos − r_a − r_b: a1-b1 0.7, a2-b2 0.5, both mutual
    assert c["mutual_nn"] == 1.0
    assert c["mean_csls_mutual"] == pytest.approx(0.6, abs=1e-6)
    assert list(c) == list(CRITERIA)


def test_perfect_map_scores_one():
    Y = np.random.default_rng(0).standard_normal((50, 6)).astype(np.float32)
    c = label_free_criteria(Y, Y, k=3)
    for key in ("mutual_nn", "cycle_nn", "knn_agreement", "mean_nn_cos", "structure"):
        assert c[key] == pytest.approx(1.0, abs=1e-5), key
    assert c["neg_transport"] == pytest.approx(0.0, abs=1e-5)
    assert label_free_criteria(Y, Y, which=("mutual_nn",)) == {"mutual_nn": pytest.approx(1.0)}


def test_select_and_spearman_by_hand():
    runs = [{"criterion_": {"knn_agreement": 0.2}}, {"knn_agreement": 0.9}, {"criterion": {"knn_agreement": 0.5}}]
    assert select(runs) == 1
    assert select([{"mutual_nn": float("nan")}, {"mutual_nn": 0.1}], "mutual_nn") == 1  # NaN never wins
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 1], [1, 2, 3]) == 0.0


def test_cycle_consistency_separates_good_and_bad_reverse_maps():
    p = rotation(n=600, d=8, noise=0.01, seed=0)
    fwd = SelfLearningRefiner(n_iter=3).fit(p.X, p.Y, seed_pairs=p.pairs[:20])
    bwd = SelfLearningRefiner(n_iter=3).fit(p.Y, p.X, seed_pairs=p.pairs[:20, ::-1])
    bad = SelfLearningRefiner(n_iter=0).fit(p.Y, p.X, seed_pairs=np.stack([p.pairs[:20, 1], p.pairs[20:40, 0]], 1))
    assert cycle_consistency(fwd, bwd, p.X, p.Y) >= 0.95
    assert cycle_consistency(fwd, bad, p.X, p.Y) < 0.2


def test_bad_inputs():
    A = np.ones((5, 3), np.float32)
    with pytest.raises(ValidationError, match="NaN or inf"):
        label_free_criteria(np.full((5, 3), np.nan), A)
    with pytest.raises(ShapeError, match="columns"):
        label_free_criteria(A, np.ones((5, 4)))
    with pytest.raises(ShapeError, match="2-D"):
        label_free_criteria(A[0], A)
    with pytest.raises(ShapeError, match="at least 1 row"):
        label_free_criteria(np.zeros((0, 3)), A)
    with pytest.raises(ValidationError, match="unknown criteria"):
        label_free_criteria(A, A, which=("nope",))
    with pytest.raises(ValidationError, match="sample"):
        label_free_criteria(A, A, sample=1)
    with pytest.raises(ValidationError, match="at least one run"):
        select([])
    with pytest.raises(ValidationError, match="unknown criterion"):
        select([{"knn_agreement": 1.0}], "nope")
    with pytest.raises(ValidationError, match="has no criterion"):
        select([{"mutual_nn": 1.0}], "knn_agreement")
    with pytest.raises(ValidationError, match="has no criterion"):
        select([StructureMatchingAligner()])  # not fitted
    with pytest.raises(ShapeError, match="equal length"):
        spearman([1, 2], [1, 2, 3])
    with pytest.raises(ShapeError, match="equal length"):
        spearman([1], [1])
    with pytest.raises(ShapeError):
        spearman([[1, 2]], [[1, 2]])
    with pytest.raises(ValidationError, match="NaN"):
        spearman([1, np.nan, 3], [1, 2, 3])
    p = rotation(n=100, d=4, seed=0)
    fitted = SelfLearningRefiner(n_iter=1).fit(p.X, p.Y, seed_pairs=p.pairs[:10])
    with pytest.raises(NotFittedError):
        cycle_consistency(SelfLearningRefiner(), fitted, p.X, p.Y)
    with pytest.raises(ValidationError, match="fitted aligner"):
        cycle_consistency(fitted, object(), p.X, p.Y)
    with pytest.raises(ValidationError, match="NaN or inf"):
        cycle_consistency(fitted, fitted, np.full((4, 4), np.inf), p.Y)
    with pytest.raises(ValidationError, match="sample"):
        cycle_consistency(fitted, fitted, p.X, p.Y, sample=0)
