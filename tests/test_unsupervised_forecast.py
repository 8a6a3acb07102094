"""Alignability forecast calibrated on planted problems: a rotation is 'likely', independent clouds
(same or different spectra) and a heavily noisy nonlinear map are 'unlikely'; pairs add evidence."""
import numpy as np
import pytest

from align.exceptions import ShapeError, ValidationError
from align.synthetic import _cloud, hmm_pairs, nonlinear, rotation
from align.unsupervised import forecast_alignability


def test_rotation_is_likely_and_pairs_confirm_it():
    p = rotation(n=1500, d=64, noise=0.05, seed=0)
    out = forecast_alignability(p.X, p.Y, pairs=p.pairs[:25])
    assert out["verdict"] == "likely"
    s = out["stats"]
    assert s["agreeing_rows"] > 0.9 and s["spectrum_tv"] < 0.05
    assert s["cka_z"] > 5 and s["mutual_knn_z"] > 5 and s["cka"] > s["cka_null"]
    assert "neighbour lists agree" in out["reason"] and "pairs share strong structure" in out["reason"]
    assert all(np.isfinite(v) for v in s.values())


def test_different_dimensions_are_likely():
    p = rotation(n=1500, d=64, d_out=48, noise=0.05, seed=0)
    assert forecast_alignability(p.X, p.Y)["verdict"] == "likely"


def test_hmm_symbols_are_likely():
    p = hmm_pairs(n_states=6, symbols_per_state=10, length=60_000, dim=12, seed=0)
    assert forecast_alignability(p.X, p.Y)["verdict"] == "likely"


@pytest.mark.parametrize("d_y,decay", [(64, 2.0), (48, 6.0)])
def test_independent_clouds_are_unlikely(d_y, decay):
    rng = np.random.default_rng(0)
    X = _cloud(1500, 64, rng, 2.0).astype(np.float32)
    Y = _cloud(1500, d_y, rng, decay).astype(np.float32)
    out = forecast_alignability(X, Y)
    assert out["verdict"] == "unlikely"
    assert "no structure-only map" in out["reason"]
    if d_y == 48:
        assert out["stats"]["spectrum_tv"] > 0.2  # the distributions already disagree


def test_noisy_nonlinear_map_is_unlikely():
    p = nonlinear(n=1500, d=32, strength=1.0, noise=2.0, shuffle=True, seed=0)
    assert forecast_alignability(p.X, p.Y)["verdict"] == "unlikely"


def test_strong_pairs_lift_an_unlikely_verdict():
    # identical clouds with half the rows of Y replaced: the structure-only map is weak, the pairs are not
    p = rotation(n=1500, d=64, noise=0.05, seed=2)
    rng = np.random.default_rng(1)
    Y = p.Y.copy()
    Y[rng.permutation(len(Y))[:1200]] = rng.standard_normal((1200, 64)).astype(np.float32)
    kept = p.pairs[np.isin(p.pairs[:, 1], np.setdiff1d(np.arange(len(Y)), np.flatnonzero((Y != p.Y).any(1))))]
    assert forecast_alignability(p.X, Y)["verdict"] == "unlikely"  # 80 % of Y replaced
    out = forecast_alignability(p.X, Y, pairs=kept[:30])
    assert out["stats"]["cka_z"] > 5 and out["stats"]["mutual_knn_z"] > 5
    assert out["verdict"] == "uncertain" and "few-pair self-learning" in out["reason"]


def test_deterministic_and_sample():
    p = rotation(n=600, d=16, noise=0.05, seed=3)
    a = forecast_alignability(p.X, p.Y, sample=300, seed=1)
    b = forecast_alignability(p.X, p.Y, sample=300, seed=1)
    a["stats"].pop("seconds"), b["stats"].pop("seconds")
    assert a == b


def test_bad_inputs():
    p = rotation(n=100, d=8, seed=0)
    bad = p.X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValidationError, match="NaN or inf"):
        forecast_alignability(bad, p.Y)
    with pytest.raises(ValidationError, match="NaN or inf"):
        forecast_alignability(p.X, np.where(bad == bad, p.Y, np.inf))
    with pytest.raises(ShapeError, match="2-D"):
        forecast_alignability(p.X[0], p.Y)
    with pytest.raises(ShapeError, match="at least 20 row"):
        forecast_alignability(p.X[:5], p.Y)
    with pytest.raises(ShapeError, match="at least 20 row"):
        forecast_alignability(np.zeros((0, 8)), p.Y)
    with pytest.raises(ValidationError, match="sample"):
        forecast_alignability(p.X, p.Y, sample=5)
    with pytest.raises(ValidationError, match="seed"):
        forecast_alignability(p.X, p.Y, seed=-1)
    with pytest.raises(ValidationError, match="out of range"):
        forecast_alignability(p.X, p.Y, pairs=[[0, 500]] * 5)
    with pytest.raises(ShapeError, match=r"\(m, 2\)"):
        forecast_alignability(p.X, p.Y, pairs=[1, 2, 3])
    with pytest.raises(ValidationError, match="at least 4"):
        forecast_alignability(p.X, p.Y, pairs=[[0, 0], [1, 1]])
