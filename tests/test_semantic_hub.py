"""Semantic-hub recipe: verse selection, contrasts, bad configs, and a tiny run on the real decoder."""
import json

import numpy as np
import pytest

from align.corpora import ParallelCorpus
from align.exceptions import AlignError, ValidationError
from align.recipes import get_recipe
from align.recipes.common import apply_overrides
from align.recipes.semantic_hub import (Config, code_switch, control_difference, has_proper_name, middle_contrast,
                                       regions, run, select_verses)


def test_code_switch_and_regions():
    assert code_switch("a b c d", "w x y z v") == "a b y z v"
    assert code_switch("a b c d", "w x y z v", english_first=False) == "w x c d"
    assert has_proper_name("And Moses said") and not has_proper_name("And the LORD said unto me, O")
    assert regions(30) == {"early": list(range(1, 11)), "middle": list(range(11, 21)), "late": list(range(21, 31))}
    assert regions(6)["middle"] == [3, 4]


def test_select_verses_is_disjoint_and_filtered():
    src = [" ".join(["w"] * (i % 12 + 1)) + f" {i}" for i in range(200)]
    tgt = [f"t {i}" for i in range(200)]
    src[5] = src[4]  # a duplicated English string is never picked twice
    pc = ParallelCorpus("toy", [str(i) for i in range(200)], src, tgt)
    cfg = Config(n_texts=50, token_set_texts=60, min_words=3, max_words=8)
    ev, tok = select_verses(pc, cfg)
    assert len(ev) == 50 and len(tok) == 60 and not set(ev) & set(tok)
    assert all(3 <= len(src[i].split()) <= 8 for i in ev) and 5 not in ev
    with pytest.raises(ValidationError):
        select_verses(pc, Config(n_texts=500))


def test_middle_contrast_planted():
    rng = np.random.default_rng(0)
    layers = list(range(7))
    values = np.array([0.1, 0.1, 0.2, 0.5, 0.5, 0.2, 0.1])
    boot = values[None, :] + 0.02 * rng.standard_normal((100, 7))
    c = middle_contrast({"values": values.tolist(), "boot": boot, "layers": layers, "best_layer": 3},
                        regions(6), 0.95)
    assert c["middle_minus_early"]["low"] > 0.2 and c["middle_minus_late"]["low"] > 0.2
    assert c["best_layer_in_middle_share"] == 1.0 and c["best_layer_region"] == "middle"


@pytest.mark.parametrize("override", ["language=fr", "model=minilm-l6", "n_texts=5", "n_lens=-1",
                                      "control=minilm-l6"])
def test_bad_config(override, tmp_path):
    cfg = apply_overrides(Config(out=str(tmp_path)), [override])
    with pytest.raises(AlignError):
        run(cfg, verbose=False)
    assert not any(tmp_path.iterdir())


def _tiny(tmp_path, **kw):
    base = dict(n_texts=12, n_lens=2, lens_positions=2, token_set_texts=150, n_permutations=20, n_boot=20, k=3,
                out=str(tmp_path))
    base.update(kw)
    return Config(**base)


def _check_artefacts(run_dir, models):
    names = {p.name for p in run_dir.iterdir()}
    assert {"config.json", "metrics.json", "report.md", "layer_curve.png", "lens_shares.png"} <= names
    m = json.loads((run_dir / "metrics.json").read_text())
    assert set(m["models"]) == set(models)
    curves = m["models"]["smollm2-135m"]["curves"]
    assert len(curves["mutual_knn"]["values"]) == 31 and len(curves["top1_ny_to_en"]["low"]) == 31
    assert all(0 <= v <= 1 for v in curves["top1_en_to_ny"]["values"])
    lens = m["lens"]["per_kind"]
    assert set(lens) == {"en", "ny", "mixed"} and len(lens["ny"]) == 31
    assert all(r["en"] + r["ny"] <= 1 + 1e-6 for r in lens["en"])
    assert min(m["lens"]["set_sizes"].values()) > 10
    report = (run_dir / "report.md").read_text()
    assert "## Verdict" in report and "![layer_curve.png]" in report
    return m


@pytest.mark.models
def test_tiny_run_writes_artefacts(tmp_path):
    """The real decoder on 12 verse pairs (the random-init control is exercised by the slow test)."""
    assert get_recipe("semantic_hub").NAME == "semantic_hub"
    m = _check_artefacts(run(_tiny(tmp_path, control=""), verbose=False), ["smollm2-135m"])
    assert m["control"] is None and m["trained_minus_control"] == {}


@pytest.mark.slow
@pytest.mark.models
def test_tiny_run_with_control(tmp_path):
    m = _check_artefacts(run(_tiny(tmp_path), verbose=False), ["smollm2-135m", "smollm2-135m-random"])
    diff = m["trained_minus_control"]["mutual_knn"]
    assert len(diff["values"]) == 31 and all(lo <= hi for lo, hi in zip(diff["low"], diff["high"]))


def test_control_difference_joint_bootstrap():
    rng = np.random.default_rng(1)
    boot_a, boot_b = 0.5 + 0.01 * rng.standard_normal((50, 3)), 0.2 + 0.01 * rng.standard_normal((50, 3))
    trained = {"curves": {"mutual_knn": {"values": [0.5, 0.5, 0.5], "boot": boot_a},
                          "top1_en_to_ny_names": {"values": [0.1, 0.1, 0.1]}}}
    control = {"curves": {"mutual_knn": {"values": [0.2, 0.2, 0.2], "boot": boot_b}}}
    d = control_difference(trained, control, 0.95)
    assert list(d) == ["mutual_knn"] and d["mutual_knn"]["values"] == pytest.approx([0.3] * 3)
    assert all(0.25 < lo < 0.3 < hi < 0.35 for lo, hi in zip(d["mutual_knn"]["low"], d["mutual_knn"]["high"]))
