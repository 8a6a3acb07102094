"""scikit-learn conventions on every registered estimator: ``random_state`` (``seed=`` deprecated),
``n_refine`` (``refine_iter=`` deprecated), declarative parameter constraints checked in ``fit``,
the ``Aligner`` suffix with the old name as a deprecated alias, and saved files from before the
renames still loading."""
import json
import warnings

import numpy as np
import pytest

import align.unsupervised as U
from align._params import Check, HasMethods, Interval, Options, StrOptions, validate_params
from align.base import ALIGNERS, BaseAligner
from align.exceptions import ValidationError
from align.supervised import MLPTranslator
from align.unsupervised import ot, wasserstein
from align.synthetic import rotation
from fast_estimators import ALL


@pytest.fixture(scope="module")
def data():
    p = rotation(n=200, d=6, noise=0.01, seed=3)
    return p.X, p.Y


def test_every_registered_estimator_has_a_fast_configuration():
    assert set(ALIGNERS) == set(ALL)


@pytest.mark.parametrize("name", sorted(ALL))
def test_random_state_is_a_parameter(name):
    cls = ALIGNERS[name]
    model = cls(random_state=0)
    assert model.random_state == 0 and model.get_params()["random_state"] == 0
    assert "seed" not in model.get_params()
    assert model.set_params(random_state=3).random_state == 3


@pytest.mark.parametrize("name", sorted(ALL))
def test_same_random_state_same_output(name, data):
    X, Y = data
    a = ALL[name](random_state=1).fit(X, Y).transform(X)
    b = ALL[name](random_state=1).fit(X, Y).transform(X)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(ALL))
def test_seed_is_a_deprecated_name_of_random_state(name):
    cls = ALIGNERS[name]
    with pytest.warns(DeprecationWarning, match="random_state"):
        model = cls(seed=2)
    assert model.random_state == 2
    with pytest.raises(ValidationError, match="both seed= and random_state="):
        cls(seed=2, random_state=2)
    with pytest.warns(DeprecationWarning, match="random_state"):
        assert cls().set_params(seed=4).random_state == 4
    with pytest.warns(DeprecationWarning, match="random_state"):
        assert model.seed == 2  # reading the old attribute name still works
    with pytest.raises(AttributeError):
        model.not_an_attribute


@pytest.mark.parametrize("name", sorted(n for n in ALL if "n_refine" in ALIGNERS[n]().get_params()))
def test_refine_iter_is_a_deprecated_name_of_n_refine(name):
    cls = ALIGNERS[name]
    with pytest.warns(DeprecationWarning, match="n_refine"):
        model = cls(refine_iter=3)
    assert model.n_refine == 3 and "refine_iter" not in model.get_params()


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_parameter_has_a_constraint_and_the_defaults_pass(name):
    model = ALIGNERS[name]()
    assert set(model.get_params()) == set(type(model)._parameter_constraints)
    model._validate_params()


@pytest.mark.parametrize("name", sorted(ALL))
def test_a_bad_parameter_is_rejected_by_fit_with_its_name(name, data):
    X, Y = data
    with pytest.raises(ValidationError, match=r"random_state must be .*; got -1"):
        ALL[name]().set_params(random_state=-1).fit(X, Y)


def test_no_hand_written_check_params_left():
    for cls in ALIGNERS.values():
        assert not hasattr(cls, "_check_params"), cls.__name__


def test_wasserstein_procrustes_old_name_is_a_deprecated_alias():
    for module in (U, ot, wasserstein):
        with pytest.warns(DeprecationWarning, match="WassersteinProcrustesAligner"):
            assert module.WassersteinProcrustes is U.WassersteinProcrustesAligner
    assert ALIGNERS["WassersteinProcrustes"] is U.WassersteinProcrustesAligner
    assert ALIGNERS.get("WassersteinProcrustes") is U.WassersteinProcrustesAligner
    assert "WassersteinProcrustes" in ALIGNERS and "WassersteinProcrustes" not in list(ALIGNERS)


def test_files_saved_before_the_renames_still_load(data, tmp_path):
    X, Y = data
    model = ALL["WassersteinProcrustesAligner"](random_state=5).fit(X, Y)
    folder = model.save(tmp_path / "wp")
    meta = json.loads((folder / "aligner.json").read_text())
    meta["class"] = "WassersteinProcrustes"  # as written before the rename
    meta["params"]["seed"] = meta["params"].pop("random_state")
    meta["params"]["refine_iter"] = meta["params"].pop("n_refine")
    (folder / "aligner.json").write_text(json.dumps(meta))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # loading an old file is not the user's deprecated call
        loaded = BaseAligner.load(folder)
    assert type(loaded) is type(model) and loaded.random_state == 5 and loaded.n_refine == model.n_refine
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))


def test_constraint_language():
    assert Interval(int, 1, None).is_satisfied_by(np.int64(3))
    assert not Interval(int, 1, None).is_satisfied_by(True)
    assert not Interval(int, 1, None).is_satisfied_by(1.0)
    assert Interval(float, 0, 1, closed="left").is_satisfied_by(0)
    assert not Interval(float, 0, 1, closed="left").is_satisfied_by(1.0)
    assert not Interval(float, 0, None).is_satisfied_by(float("nan"))
    assert not Interval(float, 0, None).is_satisfied_by(float("inf"))
    assert not Interval(float, 0, None, closed="neither").is_satisfied_by(0.0)
    assert StrOptions({"a", "b"}).is_satisfied_by("a") and not StrOptions({"a"}).is_satisfied_by("c")
    assert Options(int, {1, 2}).is_satisfied_by(2) and not Options(int, {1, 2}).is_satisfied_by("2")
    assert HasMethods(["fit", "transform"]).is_satisfied_by(ALIGNERS["LinearTranslator"]())
    assert not HasMethods("transform").is_satisfied_by("procrustes")
    constraints = {"k": [Interval(int, 1, None)], "mode": [StrOptions({"x", "y"}), None], "flag": ["boolean"],
                   "rs": ["random_state"], "obj": [BaseAligner], "even": [Check(lambda v: v % 2 == 0, "even")]}
    validate_params(constraints, {"k": 2, "mode": None, "flag": False, "rs": None, "obj": BaseAligner(),
                                  "even": 4})
    with pytest.raises(ValidationError, match=r"Est: k must be an integer >= 1; got 0"):
        validate_params(constraints, {"k": 0}, "Est")
    with pytest.raises(ValidationError, match=r"mode must be one of 'x', 'y' or None; got 'z'"):
        validate_params(constraints, {"mode": "z"})
    with pytest.raises(ValidationError, match=r"flag must be a boolean; got 1"):
        validate_params(constraints, {"flag": 1})
    with pytest.raises(ValidationError, match=r"rs must be None or an integer >= 0"):
        validate_params(constraints, {"rs": -1})
    with pytest.raises(ValidationError, match=r"obj must be an instance of BaseAligner"):
        validate_params(constraints, {"obj": "x"})
    with pytest.raises(ValidationError, match=r"even must be even; got 3"):
        validate_params(constraints, {"even": 3})
    validate_params(constraints, {"undeclared": object()})  # not checked, as in scikit-learn


def test_constraint_messages_quote_a_checker_reason():
    X = np.random.default_rng(0).standard_normal((20, 3))
    with pytest.raises(ValidationError, match=r"MLPTranslator: loss must be .*; got 'huber' \(loss term must be one of"):
        MLPTranslator(loss="huber").fit(X, X)
