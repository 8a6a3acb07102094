"""Every registered unsupervised aligner honours the same contract (fast configurations, tiny data):
unpaired fit with n_x ≠ n_y and d_x ≠ d_y, ``seed_pairs=``, transform shape/dtype, NotFittedError,
save/load, seeds, bad inputs, get_params/set_params and a ``criterion_`` dict holding the label-free
criteria of :mod:`align.unsupervised.selection`."""
import numpy as np
import pytest

from align.base import ALIGNERS, BaseAligner
from align.exceptions import AlignError, NotFittedError, ShapeError, ValidationError
from align.synthetic import rotation
from align.unsupervised.selection import CRITERIA
from fast_estimators import UNSUPERVISED

FAST = UNSUPERVISED
NAMES = sorted(FAST)


def test_every_registered_unsupervised_aligner_is_covered():
    registered = {name for name, cls in ALIGNERS.items() if not cls.supervised}
    assert registered == set(FAST), f"add a fast configuration for {registered - set(FAST)}"


@pytest.fixture(scope="module")
def data():
    p = rotation(n=300, d=8, d_out=6, noise=0.01, seed=3)
    X, Y = p.X, p.Y[:250]  # unpaired, n_x ≠ n_y, d_x ≠ d_y
    keep = p.pairs[p.pairs[:, 1] < 250]
    return X, Y, keep


@pytest.fixture(scope="module")
def fitted(data):
    X, Y, _ = data
    return {name: FAST[name]().fit(X, Y) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_transform_shape_dtype_and_criteria(name, fitted, data):
    X, _, _ = data
    model = fitted[name]
    assert model.supervised is False and isinstance(model, BaseAligner)
    out = model.transform(X[:7])
    assert out.shape == (7, 6) and out.dtype == np.float32 and np.isfinite(out).all()
    crit = model.criterion_
    assert isinstance(crit, dict) and set(CRITERIA) <= set(crit)
    for key, value in crit.items():
        assert isinstance(value, (int, float)) and np.isfinite(value), (key, value)


@pytest.mark.parametrize("name", NAMES)
def test_not_fitted(name, data):
    with pytest.raises(NotFittedError, match="not fitted"):
        FAST[name]().transform(data[0])


@pytest.mark.parametrize("name", NAMES)
def test_save_load_round_trip(name, fitted, data, tmp_path):
    model = fitted[name]
    loaded = BaseAligner.load(model.save(tmp_path / name))
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.transform(data[0]), model.transform(data[0]))
    assert loaded.criterion_ == model.criterion_
    assert loaded.get_params() == model.get_params()


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_output(name, fitted, data):
    X, Y, _ = data
    again = FAST[name]().fit(X, Y)
    np.testing.assert_array_equal(again.transform(X), fitted[name].transform(X))
    assert again.criterion_ == fitted[name].criterion_


@pytest.mark.parametrize("name", NAMES)
def test_seed_pairs_accepted(name, data):
    X, Y, pairs = data
    model = FAST[name]().fit(X, Y, seed_pairs=pairs[:20])
    assert model.transform(X[:3]).shape == (3, 6)
    with pytest.raises(ValidationError, match="out of range"):
        FAST[name]().fit(X, Y, seed_pairs=[[0, 10_000]])
    with pytest.raises(ShapeError, match=r"\(m, 2\)"):
        FAST[name]().fit(X, Y, seed_pairs=[1, 2, 3])


@pytest.mark.parametrize("name", NAMES)
def test_bad_inputs(name, fitted, data):
    X, Y, _ = data
    for bad_value, match in ((np.nan, "NaN or inf"), (np.inf, "NaN or inf")):
        bad = X.copy()
        bad[2, 1] = bad_value
        with pytest.raises(ValidationError, match=match):
            FAST[name]().fit(bad, Y)
        with pytest.raises(ValidationError, match=match):
            FAST[name]().fit(X, np.where(np.arange(len(Y))[:, None] == 0, bad_value, Y))
    with pytest.raises(ShapeError, match="at least 1 row"):
        FAST[name]().fit(np.zeros((0, 8), np.float32), Y)
    with pytest.raises(ShapeError, match="2-D"):
        FAST[name]().fit(X[0], Y)
    with pytest.raises(ShapeError, match="fitted on 8"):
        fitted[name].transform(np.zeros((3, 5), np.float32))
    with pytest.raises(ValidationError, match="NaN or inf"):
        fitted[name].transform(np.full((2, 8), np.inf, np.float32))
    with pytest.raises(ValidationError, match="numeric"):
        fitted[name].transform([["a"] * 8])


@pytest.mark.parametrize("name", NAMES)
def test_params(name):
    model = FAST[name]()
    params = model.get_params()
    assert params and all(hasattr(model, key) for key in params)
    key = "random_state" if "random_state" in params else "csls_k"
    assert model.set_params(**{key: 5}) is model and model.get_params()[key] == 5
    with pytest.raises(ValidationError, match="no parameter"):
        model.set_params(not_a_parameter=1)
    with pytest.raises(AlignError):
        FAST[name]().set_params(csls_k=0).fit(np.ones((20, 4), np.float32), np.ones((20, 4), np.float32))
