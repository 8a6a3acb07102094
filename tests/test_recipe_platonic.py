"""The platonic-convergence recipe: artefacts, statistics plumbing, the control near the null."""
import json

import numpy as np
import pytest

from align.recipes import get_recipe
from align.recipes.common import apply_overrides

ARTEFACTS = {"config.json", "metrics.json", "report.md", "heatmap_mutual_knn.png", "heatmap_cka.png",
             "alignment_vs_size_competence.png"}


def _config(tmp_path, **kw):
    mod = get_recipe("platonic_convergence")
    sets = [f"{k}={json.dumps(v)}" for k, v in kw.items()]
    return mod, apply_overrides(mod.Config(), sets + [f"out={tmp_path}", "n_permutations=19", "n_boot=20"])


def test_recipe_with_planted_features(tmp_path, monkeypatch):
    """All stats, the decoder layer grid and the control, on planted features (no model work)."""
    mod, config = _config(tmp_path, n_texts=150, models=["minilm-l6", "e5-small", "glove-en-50d",
                                                         "smollm2-135m", "smollm2-135m-random"])
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(150, 6))

    def view(d, noise):
        return mod.prepare_features(Z @ rng.normal(size=(6, d)) + noise * rng.normal(size=(150, d)))

    def fake_embed(texts, cfg, timings):
        assert len(texts) == 150
        return {"minilm-l6": {None: view(32, 0.5)}, "e5-small": {None: view(32, 0.7)},
                "glove-en-50d": {None: view(16, 1.5)},
                "smollm2-135m": {la: view(24, 0.5 + la / 8) for la in cfg.decoder_layers},
                "smollm2-135m-random": {la: mod.prepare_features(rng.normal(size=(150, 24)))
                                        for la in cfg.decoder_layers}}

    monkeypatch.setattr(mod, "embed_models", fake_embed)
    run_dir = mod.run(config, verbose=False)
    assert ARTEFACTS <= {p.name for p in run_dir.iterdir()}
    m = json.loads((run_dir / "metrics.json").read_text())
    names = m["names"]
    assert names[3] == "smollm2-135m@L16" and m["control"] == ["smollm2-135m-random@L16"]
    for metric in ("mutual_knn", "cka"):
        V = np.array(m["matrices"][metric]["values"], dtype=float)
        P = m["matrices"][metric]["p_values"]
        assert V.shape == (5, 5) and np.allclose(np.diag(V), 1)
        assert P[0][1] == pytest.approx(0.05)  # planted alignment: the smallest possible p
        assert P[4][0] > 0.05 or V[4][0] < m["matrices"][metric]["null_q95"][4][0] * 1.5  # control near the null
        assert m["matrices"][metric]["low"][0][1] <= m["matrices"][metric]["high"][0][1]
    grid = m["layer_grids"]["smollm2-135m"]
    assert grid["layers"] == [8, 16, 24] and grid["argmax"] == [0, 0] and grid["p_value"] == pytest.approx(0.05)
    assert set(m["trends"]["cka"]) >= {"vs_size", "vs_competence", "vs_size_ci"}
    report = (run_dir / "report.md").read_text()
    assert "Control smollm2-135m-random@L16 against the null" in report and "Layer sweep" in report


def test_recipe_bad_config(tmp_path):
    mod, config = _config(tmp_path, decoder_layer=5)
    with pytest.raises(Exception, match="decoder_layer"):
        mod.run(config, verbose=False)


@pytest.mark.models
def test_recipe_on_real_encoders(tmp_path):
    mod, config = _config(tmp_path, n_texts=60, models=["minilm-l3-onnx", "glove-en-50d", "e5-small"])
    run_dir = mod.run(config, verbose=False)
    assert ARTEFACTS <= {p.name for p in run_dir.iterdir()}
    m = json.loads((run_dir / "metrics.json").read_text())
    V = np.array(m["matrices"]["mutual_knn"]["values"], dtype=float)
    assert V.shape == (3, 3) and (V[np.triu_indices(3, 1)] > 0.1).all()  # real encoders agree beyond chance
    assert 0 <= m["competence"]["per_model"]["e5-small"]["value"] <= 1
