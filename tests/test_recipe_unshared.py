"""The align_unshared recipe: method specs, word-level helpers, config errors and a tiny real run."""
import json

import numpy as np
import pytest

from align.cli import main
from align.exceptions import ValidationError
from align.methods import build, get_method, parse_spec
from align.recipes import align_unshared as au
from align.recipes.common import apply_overrides
from align.recipes.unshared_data import precision_at_k, reduce_dim

CHEAP = "StructureMatchingAligner(init=principal_axes;n_components=8;n_refine=1)"
FAST = dict(source="minilm-l3-onnx", target="glove-en-50d", n_pool=80, pool_sizes=(60, 80), n_eval=40,
            n_train=40, methods=(CHEAP,), seeds=(0, 1, 2), n_boot=100, criterion_sample=80, n_words=1500,
            n_word_test=100, threads=1)


def test_parse_spec():
    assert parse_spec("WassersteinProcrustes") == ("WassersteinProcrustes", {})
    name, params = parse_spec("StructureMatchingAligner(init=relative; n_sample=300, stochastic=0.5,n_candidates=null)")
    assert name == "StructureMatchingAligner"
    assert params == {"init": "relative", "n_sample": 300, "stochastic": 0.5, "n_candidates": None}
    model = build("StructureMatchingAligner(init=kmeans)", seed=7)
    assert model.random_state == 7 and model.init == "kmeans"
    for bad in ("", "Struct(", "NoSuchAligner", "ProcrustesTranslator", "StructureMatchingAligner(init)",
                "StructureMatchingAligner(bogus=1)", 3):
        with pytest.raises(ValidationError):
            parse_spec(bad)


def test_precision_at_k_planted():
    rng = np.random.default_rng(0)
    Y = rng.standard_normal((50, 8)).astype(np.float32)
    test = [(i, [i]) for i in range(10)] + [(10, [11, 10])]
    pred = Y[[i for i, _ in test]] + 0.01
    for csls_k in (0, 5):
        p = precision_at_k(pred, Y, test, csls_k=csls_k)
        assert p["p@1"] == 1.0 and p["p@5"] == 1.0
    # queries pointing at the wrong word: P@1 = 0
    p = precision_at_k(Y[[i + 20 for i, _ in test]], Y, test, csls_k=0)
    assert p["p@1"] == 0.0
    with pytest.raises(ValidationError):
        precision_at_k(pred[:3], Y, test)


def test_reduce_dim():
    rng = np.random.default_rng(1)
    Y = rng.standard_normal((100, 20)) @ np.diag(np.linspace(3, 0.1, 20))
    R = reduce_dim(Y, 5)
    assert R.shape == (100, 5) and R.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(R, axis=1), 1.0, atol=1e-5)
    assert reduce_dim(Y, 0).shape == (100, 20)


@pytest.mark.parametrize("bad", [["methods=[]"], ["seeds=[]"], ["criterion=nope"], ["methods=[\"Nope\"]"],
                                 ["n_eval=0"], ["seeds=[-1]"], ["pool_sizes=[-5]"], ["word_target_dim=-1"],
                                 [f"methods=[\"{CHEAP}\",\"{CHEAP}\"]"]])
def test_bad_config(bad):
    with pytest.raises(ValidationError):
        au._check(apply_overrides(au.Config(), bad))


def test_pool_too_large(tmp_path):
    with pytest.raises(ValidationError, match="largest disjoint pool"):
        au.run(au.Config(**{**FAST, "n_pool": 10 ** 6, "out": str(tmp_path)}), verbose=False)


def test_cli_bad_key(capsys):
    assert main(["recipe", "align_unshared", "--set", "bogus=1"]) == 2


@pytest.mark.models
def test_tiny_real_run(tmp_path):
    run_dir = au.run(au.Config(**FAST, out=str(tmp_path)), verbose=False)
    for name in ("config.json", "metrics.json", "report.md", "methods.png", "pool_curve.png", "words.png"):
        assert (run_dir / name).exists(), name
    m = json.loads((run_dir / "metrics.json").read_text())
    assert m["disjoint"]["verified"] and m["disjoint"]["shared_strings"] == 0
    assert m["disjoint"]["pool_a"] == m["disjoint"]["pool_b"] == 80
    assert len(m["runs"]) == 3 and {r["seed"] for r in m["runs"]} == {0, 1, 2}
    assert m["ceiling"]["top1"] > 1.0 / 40  # 40 pairs of a real encoder pair beat chance
    row = m["methods"][0]
    eps = 1e-9
    assert row["seed_min"] - eps <= row["top1"] <= row["seed_max"] + eps
    assert row["top1_low"] - eps <= row["top1"] <= row["top1_high"] + eps
    sel = m["selection"]
    assert sel["n_runs"] == 3 and set(sel["spearman"]) >= {"knn_agreement", "mean_nn_cos"}
    assert sel["gap"] >= 0
    assert [r["n_pool"] for r in m["pool_curve"]] == [60, 80]
    w = m["words"]
    if w["available"]:  # the FreeDict dictionary is optional data
        assert w["dims"] == [50, 50] and len(w["rows"]) == 3
        assert w["rows"][0]["p@1"] > 0.02  # supervised Procrustes ceiling beats chance (1/1500) by far
    report = (run_dir / "report.md").read_text()
    assert "Label-free selection" in report and "ceiling" in report


def test_paired_vs_unpaired_accepts_specs():
    m = get_method("StructureMatchingAligner(init=relative;n_clusters=8)")
    assert not m.needs_pairs
    model = m.factory(seed=4, n_pairs=0, config=None)
    assert model.init == "relative" and model.n_clusters == 8 and model.random_state == 4
    assert not get_method("RestartsAligner").needs_pairs
    with pytest.raises(ValidationError):
        get_method("StructureMatchingAligner(bogus=1)")
