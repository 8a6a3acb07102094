"""AssignmentProcrustesAligner (Rosetta-style block assignment ⇄ Procrustes, Schnaus et al. 2026) on a
planted rotation, no pairs given: recovery with the exact and the Sinkhorn solver, the rounds repairing
a perturbed start, early stopping, determinism and parameter checks."""
import numpy as np
import pytest

from align.exceptions import ValidationError
from align.metrics import translation_scores
from align.supervised.procrustes import procrustes
from align.synthetic import rotation
from align.unsupervised import AssignmentProcrustesAligner
from align.unsupervised.assignment import assignment_procrustes, draw_blocks
from planted import held_out


@pytest.fixture(scope="module")
def problem():
    return rotation(n=2000, d=32, noise=0.05, seed=0)


@pytest.fixture(scope="module")
def split(problem):
    return held_out(problem, 1600)  # 1,600 unpaired rows to fit, 400 row-paired held out


def top1(model, Xe, Ye):
    return translation_scores(model.transform(Xe), Ye)["top1"]


def test_exact_solver_recovers_the_rotation(split):
    X, Y, _, Xe, Ye = split
    model = AssignmentProcrustesAligner(start="sorted_sim", block_size=500).fit(X, Y)
    assert top1(model, Xe, Ye) >= 0.95
    rounds = [h for h in model.history_ if h["stage"] == "assignment"]
    assert rounds and rounds[0]["changed"] == 1.0 and all(h["n_pairs"] == 1600 for h in rounds)
    assert model.pairs_.shape == (1600, 2) and len(np.unique(model.pairs_[:, 0])) == 1600


def test_sinkhorn_solver_recovers_the_rotation(split):
    X, Y, _, Xe, Ye = split
    model = AssignmentProcrustesAligner(start="sorted_sim", block_size=500, solver="sinkhorn").fit(X, Y)
    assert top1(model, Xe, Ye) >= 0.9


def _centred(problem):
    return problem.X - problem.X.mean(0), problem.Y - problem.Y.mean(0)


def _pair_top1(problem, Xp, Yp, W):
    return translation_scores(Xp[problem.pairs[:, 0]] @ W, Yp[problem.pairs[:, 1]])["top1"]


def test_rounds_repair_a_perturbed_start(problem):
    Xp, Yp = _centred(problem)
    noise = np.random.default_rng(1).standard_normal(problem.W.shape) / np.sqrt(32)
    W0 = procrustes(np.eye(32), problem.W + 2.0 * noise)  # top-1 ≈ 0.23: wrong for most rows
    W, info = assignment_procrustes(Xp, Yp, W0, np.random.default_rng(0), n_rounds=10, block_size=500)
    before, after = _pair_top1(problem, Xp, Yp, W0), _pair_top1(problem, Xp, Yp, W)
    assert before < 0.5 and after >= 0.95, (before, after)
    assert info["rounds"] == 10 and len(info["changed"]) == 10 and info["cost"][-1] < info["cost"][0]
    # through the aligner: a weak start (sorted_sim on 800 of 1,600 rows) alone vs with the rounds
    X, Y, _, Xe, Ye = held_out(problem, 1600)
    alone = AssignmentProcrustesAligner(start="sorted_sim", n_sample=800, block_size=500, n_rounds=0).fit(X, Y)
    rounds = AssignmentProcrustesAligner(start="sorted_sim", n_sample=800, block_size=500).fit(X, Y)
    assert top1(rounds, Xe, Ye) > top1(alone, Xe, Ye) + 0.1


def test_one_block_stops_early_when_the_matches_settle(problem):
    Xp, Yp = _centred(problem)
    W, info = assignment_procrustes(Xp, Yp, problem.W, np.random.default_rng(0), n_rounds=10, block_size=5000)
    assert info["rounds"] < 10 and info["changed"][-1] < 1e-3
    assert _pair_top1(problem, Xp, Yp, W) >= 0.99


def test_blocks_are_disjoint_and_cover_the_smaller_set():
    blocks = draw_blocks(130, 100, 30, None, np.random.default_rng(0))
    assert len(blocks) == 4 and all(len(bx) == len(by) for bx, by in blocks)
    xs, ys = np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])
    assert len(xs) == len(np.unique(xs)) == 100 and len(ys) == len(np.unique(ys)) == 100 and ys.max() < 100
    two = draw_blocks(130, 100, 30, 2, np.random.default_rng(0))
    assert [len(b[0]) for b in two] == [30, 30]


def test_same_random_state_same_map(split):
    X, Y, _, Xe, _ = split
    kw = dict(start="sorted_sim", n_sample=300, block_size=200, n_rounds=3)
    a = AssignmentProcrustesAligner(random_state=3, **kw).fit(X, Y)
    b = AssignmentProcrustesAligner(random_state=3, **kw).fit(X, Y)
    np.testing.assert_array_equal(a.transform(Xe), b.transform(Xe))
    np.testing.assert_array_equal(a.pairs_, b.pairs_)


@pytest.mark.parametrize("param, value", [("block_size", 0), ("solver", "x"), ("reg", 0.0), ("tol", 2.0),
                                          ("n_rounds", -1), ("n_blocks", 0), ("start", "nope")])
def test_a_bad_parameter_is_rejected_with_its_name(param, value):
    X = np.random.default_rng(0).standard_normal((50, 4)).astype(np.float32)
    with pytest.raises(ValidationError, match=rf"AssignmentProcrustesAligner: {param} must be"):
        AssignmentProcrustesAligner(**{param: value}).fit(X, X)
