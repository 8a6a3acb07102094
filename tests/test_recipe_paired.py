"""The paired-vs-unpaired recipe: pure helpers, the method registry hook, and a tiny real run."""
import json

import numpy as np
import pytest

from align.base import BaseAligner
from align.cli import main
from align.exceptions import ValidationError
from align.methods import METHODS, get_method, register_method
from align.recipes import paired_vs_unpaired as pvu
from align.recipes.common import apply_overrides
from align.recipes.paired_data import canonical_order

FAST = dict(source="minilm-l3-onnx", target="glove-en-50d", n_train=120, n_eval=80, n_pairs=(10, 40, 120),
            seeds=(0,), mlp_epochs=3, mlp_hidden=32, tsne_points=40, n_boot=200)


def test_curve_points():
    c = pvu.Config()
    assert pvu.curve_points(c) == [10, 30, 100, 300, 1000, 3000]
    assert pvu.curve_points(apply_overrides(c, ["n_pairs=[50,5,50]"])) == [5, 50]
    with pytest.raises(ValidationError):
        pvu.curve_points(apply_overrides(c, ["n_pairs=[0]"]))
    assert pvu.curve_points(apply_overrides(c, ["n_train=8"])) == [8]


def test_overrides_and_checks():
    c = apply_overrides(pvu.Config(), ["seeds=[3,4]", "methods=linear,mlp", "target=glove-en-50d"])
    assert c.seeds == (3, 4) and c.methods == ("linear", "mlp")
    # a bracketed list without JSON quotes is read as a list of names, not as one name "[linear"
    assert apply_overrides(pvu.Config(), ["methods=[linear, mlp]"]).methods == ("linear", "mlp")
    for bad in (["methods=[]", "unsupervised_methods=[]"], ["methods=nope"], ["seeds=[]"],
                ["init_from=linear"], ["methods=[\"SelfLearningRefiner\"]"]):
        with pytest.raises(ValidationError):
            pvu._check(apply_overrides(pvu.Config(), bad))


def test_crossovers():
    curve = [{"method": m, "n_pairs": n, "top1": v} for m, vals in
             {"mlp": [0.1, 0.3, 0.8], "procrustes": [0.2, 0.4, 0.6]}.items() for n, v in zip((10, 100, 1000), vals)]
    got = pvu.crossovers(curve)
    assert got == [{"method": "mlp", "overtakes": "procrustes", "from_n_pairs": 1000, "metric": "top1"}]


def test_canonical_order_is_stable():
    texts = ["a", "b", "a", "c", "d"]
    o = canonical_order(texts, 0)
    assert sorted(o.tolist()) == [0, 1, 3, 4]
    np.testing.assert_array_equal(o, canonical_order(texts, 0))


def test_unsupervised_aligners_join_by_class_name():
    m = get_method("SelfLearningRefiner")  # registered with supervised = False
    assert not m.needs_pairs
    assert set(METHODS) >= {"linear", "procrustes", "mlp", "mlp_ridge", "refine", "mlp_procrustes"}


class _MeanMatch(BaseAligner):
    """Toy unsupervised aligner for the hook test: shifts the source mean onto the target mean."""

    supervised = False
    _array_attrs = ("shift_",)

    def __init__(self, *, seed: int = 0):
        self.seed = seed

    def fit(self, X, Y):
        X, Y = self._check_fit_inputs(X, Y)
        d = min(X.shape[1], Y.shape[1])
        self.shift_ = Y[:, :d].mean(0) - X[:, :d].mean(0)
        self.n_features_in_, self.n_features_out_ = X.shape[1], Y.shape[1]
        return self

    def transform(self, X):
        X = self._check_transform_input(X)
        out = np.zeros((X.shape[0], self.n_features_out_), np.float32)
        d = len(self.shift_)
        out[:, :d] = X[:, :d] + self.shift_
        return out


@pytest.mark.models
def test_tiny_recipe_run_writes_all_artefacts(tmp_path, capsys):
    argv = ["recipe", "paired_vs_unpaired", f"--set=out={tmp_path}"] + [
        f"--set={k}={json.dumps(list(v)) if isinstance(v, tuple) else v}" for k, v in FAST.items()]
    assert main(argv) == 0
    run = next((tmp_path / "paired_vs_unpaired").iterdir())
    for name in ("config.json", "metrics.json", "report.md", "learning_curves.png", "domains.png", "tsne.png"):
        assert (run / name).stat().st_size > 0, name
    config = json.loads((run / "config.json").read_text())
    assert config["n_train"] == 120 and config["source"] == "minilm-l3-onnx" and "environment" in config
    metrics = json.loads((run / "metrics.json").read_text())
    assert {(r["method"], r["n_pairs"]) for r in metrics["curve"]} == {
        (m, n) for m in ("linear", "procrustes", "mlp", "anchors") for n in (10, 40, 120)}
    for r in metrics["curve"]:
        assert r["top1_low"] <= r["top1"] <= r["top1_high"] and 1 <= r["mean_rank"] <= 80
    assert metrics["domains"]["rows"] and metrics["dims"] == [384, 50]
    assert len(metrics["comparisons"]) == 6  # every pair of the 4 default methods
    out = capsys.readouterr().out
    assert "top1_ci95" in out and "wrote" in out
    assert "## Learning curves" in (run / "report.md").read_text()


@pytest.mark.models
def test_unsupervised_hook_and_init_from(tmp_path):
    register_method("meanmatch", lambda seed, n_pairs, config, init=None: _MeanMatch(seed=seed),
                    needs_pairs=False)
    try:
        config = apply_overrides(pvu.Config(), [f"out={tmp_path}", "unsupervised_methods=meanmatch",
                                                "init_from=meanmatch", "methods=mlp,refine", "plots=false"])
        for k, v in FAST.items():
            setattr(config, k, v)
        config.n_pairs = (10, 120)
        run = pvu.run(config, verbose=False)
    finally:
        METHODS.pop("meanmatch")
    curve = json.loads((run / "metrics.json").read_text())["curve"]
    keys = {(r["method"], r["n_pairs"]) for r in curve}
    assert ("meanmatch", 0) in keys  # the unsupervised method is the 0-pairs point
    assert {("mlp+meanmatch", 10), ("mlp+meanmatch", 120), ("refine", 10), ("refine", 120)} <= keys
