"""CycleAligner: planted answers with warm starts, loss switches, errors, determinism, persistence."""
import numpy as np
import pytest

from align.base import ALIGNERS, BaseAligner
from align.exceptions import AlignError, NotFittedError, ShapeError, ValidationError
from align.metrics import translation_scores
from align.compute import knn
from align.supervised import ProcrustesTranslator
from align.synthetic import hmm_pairs, nonlinear, rotation
from align.unsupervised import CycleAligner, SelfLearningRefiner
from planted import held_out, hmm_state_seeds

FAST = dict(n_epochs=2, hidden=32, dis_hidden=32, batch_size=64, steps_per_epoch=10)


@pytest.fixture(scope="module")
def planted():
    return held_out(rotation(n=1500, d=32, noise=0.05, seed=1), 1200)


def test_registered_unsupervised():
    assert ALIGNERS["CycleAligner"] is CycleAligner
    assert CycleAligner.supervised is False


def test_few_pairs_recover_planted_rotation(planted):
    X, Y, true, Xe, Ye = planted
    model = CycleAligner(**FAST).fit(X, Y, seed_pairs=true[:10])
    assert translation_scores(model.transform(Xe), Ye)["top1"] >= 0.95
    assert set(model.criterion_) >= {"mean_cosine", "cycle_cosine", "knn_agreement"}
    assert model.criterion_["cycle_cosine"] > 0.9


def test_keeps_a_good_warm_start_without_pairs(planted):
    X, Y, true, Xe, Ye = planted
    start = SelfLearningRefiner(n_iter=3).fit(X, Y, seed_pairs=true[:10])  # fitted: used as is
    model = CycleAligner(**FAST, init=start).fit(X, Y)
    assert translation_scores(model.transform(Xe), Ye)["top1"] >= 0.95


def test_identity_start_is_exact_before_training():
    p = rotation(n=300, d=8, d_out=6, seed=2)
    model = CycleAligner(**{**FAST, "n_epochs": 0}).fit(p.X, p.Y)
    Xs = (p.X - model.mean_x_) / model.scale_x_
    expected = Xs @ np.eye(8, 6) * model.scale_x_ + model.mean_y_
    np.testing.assert_allclose(model.transform(p.X), expected, atol=1e-4)
    rescaled = model.set_params(rescale=True).transform(p.X)
    np.testing.assert_allclose(rescaled, Xs @ np.eye(8, 6) * model.scale_y_ + model.mean_y_, atol=1e-4)
    assert model.best_epoch_ == -1 and model.history_ == []


def test_loss_terms_switch_off_and_vib_on():
    p = rotation(n=300, d=8, seed=3)
    off = dict(adv_weight=0, latent_weight=0, cycle_weight=0, vsp_weight=0)
    model = CycleAligner(**FAST, **off).fit(p.X, p.Y)
    assert set(model.history_[0]) == {"epoch", "rec", "dis", "mean_cosine"}
    vib = CycleAligner(**FAST, vib_weight=1e-3, restore_best=False).fit(p.X, p.Y)
    assert "vib" in vib.history_[0] and vib.net_.logvar is not None
    assert vib.criterion_["mean_cosine"] == vib.history_[-1]["mean_cosine"]  # the last epoch is kept


def test_hmm_states_matched_with_few_pairs():
    p = hmm_pairs(n_states=6, symbols_per_state=10, length=60_000, dim=12, seed=0)
    sa, sb = p.meta["state_of_a"], p.meta["state_of_b"]
    seeds = hmm_state_seeds(p, 6)
    model = CycleAligner(**FAST).fit(p.X, p.Y, seed_pairs=seeds)
    _, I = knn(model.transform(p.X), p.Y, 1)
    assert (sb[I[:, 0]] == sa).mean() > 3 / 6  # chance: 1/6


def test_deterministic_with_a_seed():
    p = rotation(n=300, d=8, seed=4)
    a = CycleAligner(**FAST, random_state=3).fit(p.X, p.Y)
    b = CycleAligner(**FAST, random_state=3).fit(p.X, p.Y)
    c = CycleAligner(**FAST, random_state=4).fit(p.X, p.Y)
    np.testing.assert_array_equal(a.transform(p.X), b.transform(p.X))
    assert a.history_ == b.history_
    assert a.history_ != c.history_


@pytest.mark.parametrize("vib", [0.0, 1e-3])
def test_save_load_round_trip(tmp_path, vib):
    p = rotation(n=300, d=8, d_out=6, seed=5)
    model = CycleAligner(**FAST, vib_weight=vib, random_state=1).fit(p.X, p.Y)
    loaded = BaseAligner.load(model.save(tmp_path / "cycle"))
    assert isinstance(loaded, CycleAligner)
    np.testing.assert_array_equal(loaded.transform(p.X), model.transform(p.X))
    np.testing.assert_array_equal(loaded.inverse_transform(p.Y), model.inverse_transform(p.Y))
    assert loaded.inverse_transform(p.Y[:4]).shape == (4, 8)
    assert loaded.criterion_ == model.criterion_


def test_bad_inputs():
    p = rotation(n=200, d=8, seed=6)
    with pytest.raises(NotFittedError):
        CycleAligner().transform(p.X)
    bad = p.Y.copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValidationError):
        CycleAligner(**FAST).fit(p.X, bad)
    with pytest.raises(ShapeError):
        CycleAligner(**FAST).fit(p.X, np.zeros((0, 8)))
    model = CycleAligner(**FAST).fit(p.X, p.Y)
    with pytest.raises(ShapeError, match="fitted on 8"):
        model.transform(np.zeros((2, 3)))
    with pytest.raises(ShapeError):
        model.inverse_transform(np.zeros((2, 3)))
    with pytest.raises(ValidationError):
        CycleAligner(**FAST).fit(p.X, p.Y, seed_pairs=[[-1, 0]])
    for params in ({"cycle_weight": -1.0}, {"depth": -1}, {"dis_dropout": 2.0}, {"d_latent": 0},
                   {"patience": 0}, {"random_state": -3}, {"init": "procrustes"}):
        with pytest.raises(AlignError):
            CycleAligner(**{**FAST, **params}).fit(p.X, p.Y)


@pytest.mark.slow
def test_learns_a_nonlinear_map_beyond_the_linear_ceiling():
    # Y = XW + 2·tanh(XA)B: no linear map reaches it; the warm-started cycle aligner, fed only the
    # unpaired sets, should beat Procrustes fitted on every true pair (cosine to the true target)
    p = nonlinear(n=2500, d=16, strength=2.0, noise=0.05, seed=0)
    X, Y, Xe, Ye = p.X[:2000], p.Y[:2000][::-1].copy(), p.X[2000:], p.Y[2000:]
    ceiling = translation_scores(ProcrustesTranslator().fit(X, p.Y[:2000]).transform(Xe), Ye)["mean_cosine"]
    start = SelfLearningRefiner().fit(X, Y, seed_pairs=np.stack([np.arange(20), 1999 - np.arange(20)], 1))
    model = CycleAligner(n_epochs=15, hidden=64, dis_hidden=64, vsp_weight=0.0, init=start).fit(X, Y)
    assert translation_scores(model.transform(Xe), Ye)["mean_cosine"] > ceiling + 0.03
