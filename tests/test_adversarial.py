"""AdversarialAligner: planted answers, warm starts, the label-free criterion, errors, persistence."""
import numpy as np
import pytest

from align.base import ALIGNERS, BaseAligner
from align.exceptions import AlignError, NotFittedError, ShapeError, ValidationError
from align.compute import knn
from align.metrics import translation_scores
from align.supervised.procrustes import procrustes
from align.synthetic import hmm_pairs, rotation
from align.unsupervised import AdversarialAligner
from align.unsupervised._gan import mean_csls_cosine, standardise
from planted import held_out, hmm_state_seeds

FAST = dict(n_epochs=1, steps_per_epoch=30, dis_hidden=64, dis_steps=2, n_refine=2)


def skewed_rotation(n=6000, n_train=5000, d=8, eps=0.3):
    """Independent centred exponential coordinates (non-Gaussian: no reflection symmetry) rotated
    by Q, plus a start map Q0 near Q. Returns X, Y (train, Y shuffled), Xe, Ye (held out), Q, Q0."""
    rng = np.random.default_rng(0)
    X = (rng.gamma(1.0, 1.0, (n, d)) - 1.0) * np.exp(-np.arange(d) / d)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    Y = X @ Q + 0.05 * rng.standard_normal((n, d))
    perm = rng.permutation(n_train)
    Q0 = procrustes(np.eye(d), Q + eps * rng.standard_normal((d, d)))
    f32 = lambda a: a.astype(np.float32)  # noqa: E731
    return f32(X[:n_train]), f32(Y[:n_train][perm]), f32(X[n_train:]), f32(Y[n_train:]), Q, Q0


def test_registered_unsupervised():
    assert ALIGNERS["AdversarialAligner"] is AdversarialAligner
    assert AdversarialAligner.supervised is False


def test_few_pairs_recover_planted_rotation():
    X, Y, true, Xe, Ye = held_out(rotation(n=3500, d=64, noise=0.05, seed=1), 3000)
    model = AdversarialAligner(**FAST).fit(X, Y, seed_pairs=true[:10])
    assert translation_scores(model.transform(Xe), Ye)["top1"] >= 0.95
    assert set(model.criterion_) >= {"mean_cosine", "mean_cosine_adversarial", "mutual_csls", "n_mutual"}


@pytest.mark.slow
def test_gan_moves_a_warm_start_towards_the_planted_map():
    # the adversarial stage alone (no refinement) must pull a perturbed start towards the truth
    X, Y, Xe, Ye, Q, Q0 = skewed_rotation()

    class Start(BaseAligner):  # a fitted stand-in whose map is the perturbed truth
        def transform(self, A):
            return ((A - A.mean(0)) @ Q0 + Y.mean(0)).astype(np.float32)
    start = Start()
    start.n_features_in_ = start.n_features_out_ = 8
    model = AdversarialAligner(n_epochs=4, steps_per_epoch=300, dis_hidden=256, dis_steps=3, n_refine=0,
                               init=start).fit(X, Y)
    before = translation_scores(start.transform(Xe), Ye)["top1"]
    after = translation_scores(model.transform(Xe), Ye)["top1"]
    assert np.linalg.norm(model.W_ - Q) < 0.6 * np.linalg.norm(Q0 - Q)
    assert after > before + 0.1


def test_criterion_prefers_the_true_map():
    p = rotation(n=2000, d=32, noise=0.05, seed=2)
    Xs, _, _ = standardise(p.X)
    Ys, _, _ = standardise(p.Y)
    wrong = procrustes(np.eye(32), np.random.default_rng(0).standard_normal((32, 32)))
    assert mean_csls_cosine(Xs @ p.W, Ys) > mean_csls_cosine(Xs @ wrong, Ys) + 0.2


def test_semi_orthogonal_map_when_dims_differ():
    p = rotation(n=800, d=16, d_out=12, noise=0.01, seed=3)
    model = AdversarialAligner(n_epochs=1, steps_per_epoch=60, dis_hidden=64, n_refine=0, beta=0.01).fit(p.X, p.Y)
    sv = np.linalg.svd(model.W_adv_, compute_uv=False)
    assert sv.shape == (12,) and np.allclose(sv, 1.0, atol=0.05)
    assert model.transform(p.X[:5]).shape == (5, 12)


def test_hmm_states_matched_with_few_pairs():
    p = hmm_pairs(n_states=6, symbols_per_state=10, length=60_000, dim=12, seed=0)
    sa, sb = p.meta["state_of_a"], p.meta["state_of_b"]
    seeds = hmm_state_seeds(p, 6)
    model = AdversarialAligner(**FAST).fit(p.X, p.Y, seed_pairs=seeds)
    _, I = knn(model.transform(p.X), p.Y, 1)
    assert (sb[I[:, 0]] == sa).mean() > 3 / 6  # chance: 1/6


def test_deterministic_with_a_seed():
    p = rotation(n=300, d=8, seed=4)
    a = AdversarialAligner(**FAST, random_state=7).fit(p.X, p.Y)
    b = AdversarialAligner(**FAST, random_state=7).fit(p.X, p.Y)
    c = AdversarialAligner(**FAST, random_state=8).fit(p.X, p.Y)
    np.testing.assert_array_equal(a.W_adv_, b.W_adv_)
    np.testing.assert_array_equal(a.transform(p.X), b.transform(p.X))
    assert a.criterion_ == b.criterion_
    assert not np.array_equal(a.W_adv_, c.W_adv_)


def test_save_load_round_trip(tmp_path):
    p = rotation(n=300, d=8, d_out=6, seed=5)
    model = AdversarialAligner(**FAST).fit(p.X, p.Y)
    loaded = BaseAligner.load(model.save(tmp_path / "adv"))
    assert isinstance(loaded, AdversarialAligner)
    np.testing.assert_array_equal(loaded.transform(p.X), model.transform(p.X))
    assert loaded.criterion_ == model.criterion_ and loaded.get_params() == model.get_params()


def test_bad_inputs():
    p = rotation(n=200, d=8, seed=6)
    with pytest.raises(NotFittedError):
        AdversarialAligner().transform(p.X)
    bad = p.X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValidationError):
        AdversarialAligner(**FAST).fit(bad, p.Y)
    with pytest.raises(ShapeError):
        AdversarialAligner(**FAST).fit(np.zeros((0, 8)), p.Y)
    with pytest.raises(ShapeError):
        AdversarialAligner(**FAST).fit(p.X[0], p.Y)
    model = AdversarialAligner(**FAST).fit(p.X, p.Y)
    with pytest.raises(ShapeError, match="fitted on 8"):
        model.transform(np.zeros((3, 5)))
    with pytest.raises(ValidationError):
        AdversarialAligner(**FAST).fit(p.X, p.Y, seed_pairs=[[0, 999]])
    with pytest.raises(ShapeError):
        AdversarialAligner(**FAST).fit(p.X, p.Y, seed_pairs=[1, 2, 3])
    for params in ({"n_epochs": -1}, {"dis_smooth": 0.7}, {"lr": float("nan")}, {"device": 3},
                   {"most_frequent": 1}, {"batch_size": 1}, {"init": object()}):
        with pytest.raises(AlignError):
            AdversarialAligner(**{**FAST, **params}).fit(p.X, p.Y)


def test_criterion_is_finite_without_refinement():
    p = rotation(n=300, d=8, seed=5)
    model = AdversarialAligner(**{**FAST, "n_refine": 0}).fit(p.X, p.Y)
    assert all(np.isfinite(v) for v in model.criterion_.values()), model.criterion_
    assert model.criterion_["n_mutual"] >= 0
