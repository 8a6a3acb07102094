"""Supervised translators: planted answers, bad inputs, persistence, determinism."""
import json

import numpy as np
import pytest

from align.base import ALIGNERS, BaseAligner
from align.exceptions import AlignError, CorruptFileError, NotFittedError, ShapeError, ValidationError
from align.supervised import LinearTranslator, MLPTranslator, ProcrustesTranslator, affine_approximation
from align.supervised.linear import ridge_loo_errors
from align.supervised.mlp import parse_loss
from align.synthetic import nonlinear, rotation


def mean_cos(P, T):
    P = P / np.linalg.norm(P, axis=1, keepdims=True)
    T = T / np.linalg.norm(T, axis=1, keepdims=True)
    return float((P * T).sum(1).mean())


def small_mlp(**kw):
    return MLPTranslator(**{"hidden": 16, "epochs": 3, "threads": 1, **kw})


FACTORIES = [LinearTranslator, ProcrustesTranslator, small_mlp]


def test_registered():
    for name in ("LinearTranslator", "ProcrustesTranslator", "MLPTranslator"):
        assert name in ALIGNERS


def test_procrustes_recovers_rotation_exactly():
    p = rotation(n=300, d=24, noise=0.0, shuffle=False, seed=1)
    m = ProcrustesTranslator(center=False).fit(p.X, p.Y)
    np.testing.assert_allclose(m.W_, p.W, atol=1e-5)
    np.testing.assert_allclose(m.transform(p.X), p.Y, atol=1e-4)
    np.testing.assert_allclose(m.inverse_transform(p.Y), p.X, atol=1e-4)


def test_procrustes_semi_orthogonal_and_affine():
    # d_x < d_y: an isometric embedding (W Wᵀ = I) is recovered exactly, whatever X's spectrum
    p = rotation(n=300, d=10, d_out=16, noise=0.0, shuffle=False, seed=2)
    m = ProcrustesTranslator(scale=True).fit(p.X, p.Y)
    np.testing.assert_allclose(m.W_ @ m.W_.T, np.eye(10), atol=1e-8)
    assert m.scale_ == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_allclose(m.transform(p.X), p.Y, atol=1e-4)
    A, b = m.affine()
    np.testing.assert_allclose(p.X @ A + b, m.transform(p.X), atol=1e-4)


@pytest.mark.parametrize("alpha", [0, "auto"])
def test_ridge_recovers_general_linear_map(alpha):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 20))
    A = rng.standard_normal((20, 30))  # not orthogonal, different dims
    Y = X @ A + 3.0
    m = LinearTranslator(alpha=alpha).fit(X, Y)
    np.testing.assert_allclose(m.W_, A, atol=1e-4)
    np.testing.assert_allclose(m.transform(X), Y, atol=1e-3)
    if alpha == "auto":
        assert m.alpha_ > 0 and len(m.loo_errors_) == 17


def test_ridge_loo_matches_brute_force():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((25, 6))
    Y = X @ rng.standard_normal((6, 3)) + 0.5 * rng.standard_normal((25, 3))
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    U, s, _ = np.linalg.svd(Xc, full_matrices=False)
    for a in (0.1, 3.0):
        fast = ridge_loo_errors(U, s, U.T @ Yc, Yc, [a])[0]
        errs = []
        for i in range(25):  # refit without row i, intercept included
            keep = np.arange(25) != i
            pred = LinearTranslator(alpha=a).fit(X[keep], Y[keep]).transform(X[i:i + 1])
            errs.append(((pred - Y[i]) ** 2).sum())
        assert fast == pytest.approx(np.mean(errs), rel=1e-5)


def test_ridge_auto_regularises_noisy_few_pairs():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((30, 50))
    Y = rng.standard_normal((30, 5))  # pure noise: the best ridge predicts the mean
    m = LinearTranslator().fit(X, Y)
    assert m.alpha_ > LinearTranslator(alpha=0).fit(X, Y).alpha_
    assert np.abs(m.W_).max() < 0.05


def test_mlp_learns_planted_nonlinear_map_linear_maps_cannot():
    p = nonlinear(n=2500, d=8, hidden=64, strength=2.0, seed=0)
    Xtr, Ytr, Xte, Yte = p.X[:2000], p.Y[:2000], p.X[2000:], p.Y[2000:]
    mlp = MLPTranslator(hidden=256, depth=2, dropout=0.0, weight_decay=1e-4, lr=3e-3, epochs=40,
                        batch_size=128, threads=1, random_state=0).fit(Xtr, Ytr)
    c_mlp = mean_cos(mlp.transform(Xte), Yte)
    c_ridge = mean_cos(LinearTranslator().fit(Xtr, Ytr).transform(Xte), Yte)
    c_proc = mean_cos(ProcrustesTranslator(scale=True).fit(Xtr, Ytr).transform(Xte), Yte)
    assert c_mlp >= 0.98
    assert c_ridge < 0.95 and c_proc < 0.90
    assert c_mlp - c_ridge > 0.03


@pytest.mark.parametrize("loss", ["cosine", "infonce", {"mse": 1, "infonce": 0.1}, "mse+0.5*cosine"])
def test_mlp_losses_train(loss):
    p = nonlinear(n=300, d=6, hidden=16, strength=0.5, seed=1)
    m = MLPTranslator(hidden=32, epochs=30, loss=loss, threads=1, lr=3e-3).fit(p.X, p.Y)
    first, last = m.history_[0]["train_loss"], min(h["train_loss"] for h in m.history_)
    assert last < first
    assert mean_cos(m.transform(p.X), p.Y) > 0.8


def test_parse_loss():
    assert parse_loss("mse") == {"mse": 1.0}
    assert parse_loss("mse+0.1*infonce") == {"mse": 1.0, "infonce": 0.1}
    for bad in ("l1", "mse+", {"mse": -1}, {}, {"mse": 0}, 3):
        with pytest.raises(ValidationError):
            parse_loss(bad)


def test_mlp_init_starts_at_the_given_map():
    p = nonlinear(n=200, d=6, d_out=4, hidden=16, seed=2)
    ridge = LinearTranslator().fit(p.X, p.Y)
    m = MLPTranslator(hidden=8, epochs=1, lr=1e-12, init=ridge, threads=1, dropout=0.0).fit(p.X, p.Y)
    np.testing.assert_allclose(m.transform(p.X), ridge.transform(p.X), atol=1e-3)
    assert m.init_ == "LinearTranslator"
    assert m.get_params()["init"] is None  # the object is not saved; the fitted skip carries it
    unfitted = LinearTranslator()
    MLPTranslator(hidden=8, epochs=1, init=unfitted, threads=1).fit(p.X, p.Y)
    assert not unfitted.is_fitted  # fitted on a copy
    wrong = LinearTranslator().fit(p.X[:, :3], p.Y)
    bad = MLPTranslator(hidden=8, epochs=1, init=wrong, threads=1)
    with pytest.raises(ValidationError, match="init aligner maps 3"):
        bad.fit(p.X, p.Y)
    assert not bad.is_fitted
    m2 = MLPTranslator(hidden=8, epochs=1, lr=1e-12, init="procrustes", threads=1, dropout=0.0).fit(p.X, p.Y)
    np.testing.assert_allclose(m2.transform(p.X), ProcrustesTranslator().fit(p.X, p.Y).transform(p.X), atol=1e-3)


def test_affine_approximation_fits_any_transform():
    class Wrapped(BaseAligner):
        def __init__(self, *, inner=None):
            self.inner = inner

        def transform(self, X):
            return self.inner.transform(X)

    rng = np.random.default_rng(5)
    X = rng.standard_normal((100, 6))
    lin = LinearTranslator(alpha=0).fit(X, X @ rng.standard_normal((6, 3)) + 1.0)
    A, b = affine_approximation(Wrapped(inner=lin), X)
    A0, b0 = lin.affine()
    np.testing.assert_allclose(A, A0, atol=1e-4)
    np.testing.assert_allclose(b, b0, atol=1e-4)
    with pytest.raises(ValidationError):
        affine_approximation(Wrapped(inner=lin))


@pytest.mark.parametrize("factory", FACTORIES)
def test_bad_inputs(factory):
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((40, 5)), rng.standard_normal((40, 3))
    with pytest.raises(NotFittedError):
        factory().transform(X)
    with pytest.raises(ShapeError):
        factory().fit(X, Y[:30])  # unpaired lengths
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValidationError):
        factory().fit(Xn, Y)
    with pytest.raises(ValidationError):
        factory().fit(X, np.full_like(Y, np.inf))
    with pytest.raises(ShapeError):
        factory().fit(X[:, 0], Y)
    m = factory().fit(X, Y)
    with pytest.raises(ShapeError, match="5"):
        m.transform(rng.standard_normal((4, 7)))  # dim mismatch at transform
    with pytest.raises(AlignError):
        m.transform(np.zeros((0, 5)))


@pytest.mark.parametrize("factory", FACTORIES)
def test_save_load_round_trip_and_other_dims(factory, tmp_path):
    rng = np.random.default_rng(1)
    X, Y = rng.standard_normal((60, 5)).astype(np.float32), rng.standard_normal((60, 3)).astype(np.float32)
    m = factory().fit(X, Y)
    m.save(tmp_path / "m")
    loaded = BaseAligner.load(tmp_path / "m")
    assert type(loaded) is type(m)
    np.testing.assert_array_equal(loaded.transform(X), m.transform(X))
    assert loaded.transform(X).dtype == np.float32
    with pytest.raises(ShapeError, match="fitted on 5"):
        loaded.transform(rng.standard_normal((3, 8)))
    # a model saved for other dims: weights of a 5→3 model with metadata claiming 8→3
    meta = json.loads((tmp_path / "m" / "aligner.json").read_text())
    meta["state"]["n_features_in_"] = 8
    (tmp_path / "m" / "aligner.json").write_text(json.dumps(meta))
    with pytest.raises(CorruptFileError, match="other dimensions"):
        BaseAligner.load(tmp_path / "m")


def test_mlp_load_rejects_weights_of_another_architecture(tmp_path):
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((40, 5)), rng.standard_normal((40, 3))
    small_mlp().fit(X, Y).save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "aligner.json").read_text())
    meta["params"]["depth"] = 3
    (tmp_path / "m" / "aligner.json").write_text(json.dumps(meta))
    with pytest.raises(CorruptFileError, match="another architecture"):
        BaseAligner.load(tmp_path / "m")


def test_mlp_deterministic_with_seed():
    p = nonlinear(n=200, d=6, hidden=16, seed=4)
    a = small_mlp(random_state=3, epochs=5).fit(p.X, p.Y).transform(p.X)
    b = small_mlp(random_state=3, epochs=5).fit(p.X, p.Y).transform(p.X)
    c = small_mlp(random_state=4, epochs=5).fit(p.X, p.Y).transform(p.X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_mlp_early_stopping_keeps_best_epoch():
    rng = np.random.default_rng(6)
    X, Y = rng.standard_normal((80, 10)), rng.standard_normal((80, 4))  # nothing to learn: overfits fast
    m = MLPTranslator(hidden=64, epochs=200, patience=5, threads=1, lr=1e-2).fit(X, Y)
    assert len(m.history_) < 200
    best = min(range(len(m.history_)), key=lambda i: m.history_[i]["val_loss"])
    assert m.best_epoch_ == best


@pytest.mark.parametrize("params", [{"norm": "group"}, {"depth": 0}, {"dropout": 1.0}, {"lr": 0},
                                    {"loss": "l1"}, {"init": "pca"}, {"batch_size": 1}, {"threads": 0}])
def test_mlp_bad_params(params):
    X = np.random.default_rng(0).standard_normal((20, 3))
    with pytest.raises(ValidationError):
        MLPTranslator(**params).fit(X, X)


@pytest.mark.parametrize("alpha", [-1.0, "best", float("nan"), True])
def test_linear_bad_alpha(alpha):
    X = np.random.default_rng(0).standard_normal((20, 3))
    with pytest.raises(ValidationError):
        LinearTranslator(alpha=alpha).fit(X, X)


def test_mlp_norm_variants_and_single_pair():
    p = nonlinear(n=65, d=4, hidden=8, seed=5)
    for norm in ("batch", "none"):
        small_mlp(norm=norm, depth=2, batch_size=32).fit(p.X, p.Y)  # 65 % 32 == 1: no batch of one
    with pytest.raises(ShapeError):
        small_mlp().fit(p.X[:1], p.Y[:1])
    one = LinearTranslator().fit(p.X[:1], p.Y[:1])  # one pair: predicts that target
    np.testing.assert_allclose(one.transform(p.X[:3]), np.repeat(p.Y[:1], 3, 0), atol=1e-5)
