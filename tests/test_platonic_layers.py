"""Layer-by-layer mode of the platonic-convergence recipe, on toy per-layer encoders (offline)."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from align.encoders import EncoderInfo
from align.exceptions import AlignError, ModelNotAvailableError, ValidationError
from align.recipes import get_recipe
from align.recipes import platonic_layers as pl
from align.recipes.common import apply_overrides
from toy_encoders import ToyLayers


TOYS = {"deep": (5, 3), "shallow": (2, 1), "flat": (None, None)}


@pytest.fixture
def toys(monkeypatch):
    infos = {n: EncoderInfo(name=n, family="toy", kind="sentence", dim=6, n_layers=L) for n, (L, _) in TOYS.items()}
    def get_info(name):
        if name not in infos:
            raise ModelNotAvailableError(f"unknown encoder {name!r}")
        return infos[name]

    monkeypatch.setattr(pl, "get_info", get_info)
    monkeypatch.setattr(pl, "load_encoder", lambda name: ToyLayers(name, TOYS[name][1], TOYS[name][0], noise=0.3, batch_size=16))


def _config(tmp_path, **kw):
    base = dict(layer_pairs=("deep:shallow",), layer_metric="mutual_knn", layer_permutations=100, n_permutations=100,
                n_boot=30, level=0.95, seed=0, k=5, cache=False, n_texts=60, out=str(tmp_path))
    base.update(kw)
    return SimpleNamespace(**base)


def test_layer_sweeps_find_the_shared_layers(toys, tmp_path):
    texts = [f"text {i}" for i in range(60)]
    timings = {}
    sweeps = pl.run_layer_sweeps(texts, _config(tmp_path), timings)
    res = sweeps["deep:shallow"]
    assert np.array(res["grid"]).shape == (6, 3)
    assert (res["best"]["layer_a"], res["best"]["layer_b"]) == (3, 1) and res["best"]["p_corrected"] < 0.05
    assert res["null_max"]["q95"] > res["null_cell"]["q95"]
    pngs = pl.plot_layer_sweeps(tmp_path, sweeps)
    assert pngs == ["layers_deep_vs_shallow.png"] and (tmp_path / pngs[0]).stat().st_size > 1000
    md = pl.render_layer_sweeps(sweeps, _config(tmp_path), pngs)
    assert "## Layer by layer" in md and "(3, 1)" in md and "layers_deep_vs_shallow.png" in md
    assert {"layer_embed_s", "layer_sweeps_s"} <= set(timings)


def test_bad_pairs(toys, tmp_path):
    for pairs in [("deep",), ("deep:shallow:x",), (), ("deep:nope",)]:
        with pytest.raises(AlignError):
            pl.parse_pairs(pairs)
    with pytest.raises(ValidationError):
        pl.run_layer_sweeps([f"t {i}" for i in range(20)], _config(tmp_path, layer_pairs=("deep:flat",)), {})


def test_recipe_layers_all_mode(toys, tmp_path, monkeypatch):
    """``--set layers=all`` adds the heatmap, the best-layer table and the JSON entry (no real models)."""
    mod = get_recipe("platonic_convergence")
    sets = {"n_texts": 80, "models": ["minilm-l6", "e5-small", "glove-en-50d"], "metrics": ["mutual_knn"], "layers": "all",
            "layer_pairs": ["deep:shallow"], "n_permutations": 19, "layer_permutations": 50, "n_boot": 20,
            "k": 5, "out": str(tmp_path)}
    config = apply_overrides(mod.Config(), [f"{k}={json.dumps(v)}" for k, v in sets.items()])
    rng = np.random.default_rng(0)
    monkeypatch.setattr(mod, "embed_models", lambda texts, cfg, timings: {
        m: {None: mod.prepare_features(rng.normal(size=(80, 8)))} for m in cfg.models})
    run_dir = mod.run(config, verbose=False)
    assert "layers_deep_vs_shallow.png" in {p.name for p in run_dir.iterdir()}
    m = json.loads((run_dir / "metrics.json").read_text())
    best = m["layer_sweeps"]["deep:shallow"]["best"]
    assert (best["layer_a"], best["layer_b"]) == (3, 1) and best["p_corrected"] < 0.05
    report = (run_dir / "report.md").read_text()
    assert "## Layer by layer" in report and report.count("![layers_deep_vs_shallow.png]") == 1


@pytest.mark.parametrize("override", ["layers=some", 'layer_pairs=["deep"]', 'layer_pairs=["deep:nope"]'])
def test_recipe_layers_bad_config(toys, tmp_path, override):
    mod = get_recipe("platonic_convergence")
    config = apply_overrides(mod.Config(), ["layers=all", override, f"out={tmp_path}"])
    with pytest.raises(AlignError):
        mod.run(config, verbose=False)
