"""align.methods: method specs build the right estimator with the right parameters; bad specs fail clearly."""
import pytest

import align.recipes.translators as old_translators
import align.recipes.unshared_methods as old_unshared
from align import methods
from align.base import ALIGNERS
from align.exceptions import ValidationError
from align.methods import METHODS, Method, build, get_method, parse_spec, register_method, unsupervised_aligners
from align.supervised import LinearTranslator, MLPTranslator, ProcrustesTranslator
from align.unsupervised import SelfLearningRefiner, StructureMatchingAligner
from align.unsupervised.restarts import RestartsAligner


class _Cfg:
    mlp_hidden, mlp_depth, mlp_loss, mlp_epochs, mlp_patience, mlp_lr = 17, 2, "mse", 3, 2, 0.01
    threads, refine_iters, csls_k = 0, 4, 7


def test_importing_methods_registers_every_aligner():
    for cls in (LinearTranslator, ProcrustesTranslator, MLPTranslator, SelfLearningRefiner,
                StructureMatchingAligner, RestartsAligner):
        assert ALIGNERS[cls.__name__] is cls
    assert "RestartsAligner" in unsupervised_aligners() and "LinearTranslator" not in unsupervised_aligners()


def test_parse_spec_values_and_separators():
    assert parse_spec("RestartsAligner") == ("RestartsAligner", {})
    assert parse_spec("  RestartsAligner ( ) ") == ("RestartsAligner", {})
    name, params = parse_spec("StructureMatchingAligner(init=relative; n_sample=300, stochastic=0.5,n_candidates=null)")
    assert name == "StructureMatchingAligner"
    assert params == {"init": "relative", "n_sample": 300, "stochastic": 0.5, "n_candidates": None}
    assert parse_spec("RestartsAligner(normalize=\"unit-center\")")[1] == {"normalize": "unit-center"}


def test_build_makes_the_class_with_the_params_and_seed():
    model = build("StructureMatchingAligner(init=kmeans;n_sample=123)", seed=7)
    assert type(model) is StructureMatchingAligner
    assert model.init == "kmeans" and model.n_sample == 123 and model.random_state == 7
    r = build("RestartsAligner(n_restarts=3;start=relative)", seed=5)
    assert type(r) is RestartsAligner and r.n_restarts == 3 and r.start == "relative"
    assert r.random_state == 5
    assert not hasattr(r, "n_features_in_")  # fresh, unfitted


@pytest.mark.parametrize("bad,message", [
    ("", "non-empty string"),
    (3, "non-empty string"),
    ("Struct(", "cannot parse"),
    ("1Name", "cannot parse"),
    ("NoSuchAligner", "not an unsupervised aligner; available: .*RestartsAligner"),
    ("ProcrustesTranslator", "not an unsupervised aligner"),
    ("StructureMatchingAligner(init)", "must be key=value"),
    ("StructureMatchingAligner(bogus=1)", r"has no parameter\(s\) \['bogus'\]; it takes .*init"),
])
def test_bad_specs_raise_clear_errors(bad, message):
    with pytest.raises(ValidationError, match=message):
        parse_spec(bad)
    with pytest.raises(ValidationError, match=message):
        build(bad, seed=0)


def test_registered_methods_build_supervised_translators():
    assert {"linear", "procrustes", "mlp", "mlp_ridge", "mlp_procrustes", "refine"} <= set(METHODS)
    assert type(get_method("linear").factory(seed=0, n_pairs=10, config=_Cfg())) is LinearTranslator
    assert type(get_method("procrustes").factory(seed=0, n_pairs=10, config=_Cfg())) is ProcrustesTranslator
    mlp = get_method("mlp_ridge").factory(seed=3, n_pairs=10, config=_Cfg())
    assert type(mlp) is MLPTranslator
    assert (mlp.hidden, mlp.depth, mlp.loss, mlp.epochs, mlp.patience, mlp.lr) == (17, 2, "mse", 3, 2, 0.01)
    assert mlp.init == "ridge" and mlp.random_state == 3 and mlp.threads is None
    ref = get_method("refine")
    assert ref.uses_pools and ref.needs_pairs
    model = ref.factory(seed=0, n_pairs=10, config=_Cfg())
    assert type(model) is SelfLearningRefiner and model.n_iter == 4 and model.csls_k == 7


def test_get_method_resolves_aligner_names_and_specs():
    m = get_method("RestartsAligner")
    assert not m.needs_pairs and type(m.factory(seed=2, n_pairs=0, config=None)) is RestartsAligner
    s = get_method("StructureMatchingAligner(init=relative;n_clusters=8)")
    model = s.factory(seed=4, n_pairs=0, config=None)
    assert not s.needs_pairs and model.init == "relative" and model.n_clusters == 8 and model.random_state == 4
    with pytest.raises(ValidationError, match="unknown method 'nope'; registered: .*linear"):
        get_method("nope")
    with pytest.raises(ValidationError, match="bogus"):
        get_method("StructureMatchingAligner(bogus=1)")


def test_register_method_adds_and_replaces(monkeypatch):
    monkeypatch.setattr(methods, "METHODS", dict(METHODS))
    entry = register_method("mine", lambda seed, n_pairs, config, init=None: LinearTranslator(), description="x")
    assert isinstance(entry, Method) and methods.get_method("mine") is entry and entry.needs_pairs


def test_old_recipe_paths_re_export():
    assert old_unshared.build is build and old_unshared.parse_spec is parse_spec
    assert old_translators.get_method is get_method and old_translators.METHODS is METHODS
    assert old_translators.register_method is register_method and old_translators.Method is Method


def test_anchors_method_is_the_relative_start_of_the_refiner():
    m = get_method("anchors")
    assert m.uses_pools and m.needs_pairs
    model = m.factory(seed=2, n_pairs=25, config=_Cfg())
    assert type(model) is SelfLearningRefiner and model.start == "relative"
    assert model.n_iter == 30 and model.csls_k == 7 and model.random_state == 2
