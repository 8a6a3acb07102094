import numpy as np
import pytest

from align.base import BaseAligner
from align.exceptions import CorruptFileError, NotFittedError, ShapeError, ValidationError
from align.metrics import translation_scores
from align.supervised import ProcrustesTranslator
from align.synthetic import rotation


def test_recovers_planted_rotation():
    p = rotation(2000, 64, noise=0.01, seed=0)
    X, Y = p.paired()
    tr = ProcrustesTranslator().fit(X[:1000], Y[:1000])
    # noise 0.01 on 1,000 pairs: relative Frobenius error about 0.005, spectral about 0.013
    assert np.linalg.norm(tr.W_ - p.W) / np.linalg.norm(p.W) < 0.01
    assert np.linalg.norm(tr.W_ - p.W, 2) < 0.03
    s = translation_scores(tr.transform(X[1000:]), Y[1000:])
    assert s["top1"] == 1.0 and s["mean_rank"] == 1.0 and s["mean_cosine"] > 0.99


def test_scale_and_center():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 5))
    R = np.linalg.qr(rng.standard_normal((5, 5)))[0]
    Y = 3.0 * X @ R + 7.0
    tr = ProcrustesTranslator(scale=True).fit(X, Y)
    assert abs(tr.scale_ - 3.0) < 1e-4
    np.testing.assert_allclose(tr.transform(X), Y, atol=1e-3)
    np.testing.assert_allclose(tr.inverse_transform(Y), X, atol=1e-4)


def test_different_dims_is_semi_orthogonal():
    p = rotation(500, 32, d_out=20, noise=0.0)
    X, Y = p.paired()
    tr = ProcrustesTranslator().fit(X, Y)
    assert tr.W_.shape == (32, 20)
    np.testing.assert_allclose(tr.W_.T @ tr.W_, np.eye(20), atol=1e-6)
    assert tr.transform(X).shape == (500, 20)


def test_save_load_round_trip(tmp_path):
    p = rotation(300, 8, noise=0.1)
    X, Y = p.paired()
    tr = ProcrustesTranslator(scale=True).fit(X, Y)
    back = BaseAligner.load(tr.save(tmp_path / "m"))
    assert isinstance(back, ProcrustesTranslator) and back.get_params() == {"center": True, "scale": True,
                                                                      "random_state": None}
    np.testing.assert_array_equal(back.transform(X), tr.transform(X))
    (tmp_path / "m" / "aligner.safetensors").write_bytes(b"junk")
    with pytest.raises(CorruptFileError):
        BaseAligner.load(tmp_path / "m")
    with pytest.raises(CorruptFileError):
        BaseAligner.load(tmp_path / "nothing-here")


def test_bad_inputs():
    X = np.ones((10, 4))
    with pytest.raises(NotFittedError):
        ProcrustesTranslator().transform(X)
    with pytest.raises(ShapeError, match="paired"):
        ProcrustesTranslator().fit(X, np.ones((9, 4)))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValidationError, match="NaN"):
        ProcrustesTranslator().fit(bad, X)
    tr = ProcrustesTranslator().fit(np.random.default_rng(0).standard_normal((10, 4)), X)
    with pytest.raises(ShapeError, match="3 columns but the aligner was fitted on 4"):
        tr.transform(np.ones((2, 3)))
    with pytest.raises(ShapeError):
        ProcrustesTranslator().fit(np.ones((0, 4)), np.ones((0, 4)))
    with pytest.raises(ValidationError):
        ProcrustesTranslator().set_params(nope=1)


def test_translation_scores_by_hand():
    T = np.eye(3, dtype=np.float32)
    P = np.array([[1, 0, 0], [1, 0.9, 0], [0, 0, -1]], np.float32)
    s = translation_scores(P, T, ks=(1, 2))
    # ranks: item0 → 1; item1 → cos to e0 (0.74) > to e1 (0.67) → 2; item2 → -1 vs 0, 0 → 3
    assert s["top1"] == pytest.approx(1 / 3) and s["top2"] == pytest.approx(2 / 3)
    assert s["mean_rank"] == pytest.approx(2.0) and s["median_rank"] == 2.0
    assert s["mrr"] == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    assert s["mean_cosine"] == pytest.approx((1 + 0.9 / np.hypot(1, 0.9) - 1) / 3, abs=1e-6)
    with pytest.raises(ValidationError):
        translation_scores(P, T, ks=(0,))
    with pytest.raises(ShapeError):
        translation_scores(P, T[:2])
