"""``align fit | translate | evaluate`` end to end on small synthetic EmbeddingSet files."""
import json

import numpy as np
import pytest

from align.base import BaseAligner
from align.cli import main
from align.cli_translate import pair_by_id
from align.embeddings import EmbeddingSet
from align.exceptions import ValidationError
from align.synthetic import rotation


@pytest.fixture
def files(tmp_path):
    p = rotation(n=300, d=12, d_out=16, noise=0.01, shuffle=False, seed=0)
    ids = [f"v{i}" for i in range(300)]
    perm = np.random.default_rng(1).permutation(300)  # the target file lists rows in another order
    a = EmbeddingSet(p.X, ids, texts=[f"text {i}" for i in range(300)], model="model-a").save(tmp_path / "A.safetensors")
    b = EmbeddingSet(p.Y[perm], [ids[i] for i in perm], model="model-b").save(tmp_path / "B.npz")
    return tmp_path, a, b, p


@pytest.mark.parametrize("method", ["procrustes", "linear", "mlp"])
def test_fit_translate_evaluate(files, method, capsys):
    tmp, a, b, p = files
    extra = ["--param", "epochs=5", "--param", "threads=1"] if method == "mlp" else []
    assert main(["fit", "--method", method, "--source", str(a), "--target", str(b), "--pairs", "200",
                 "--out", str(tmp / "model"), *extra]) == 0
    info = json.loads((tmp / "model" / "fit_info.json").read_text())
    assert info["n_pairs"] == 200 and len(set(info["train_ids"])) == 200 and info["source"]["model"] == "model-a"
    model = BaseAligner.load(tmp / "model")
    assert model.n_features_in_ == 12 and model.n_features_out_ == 16

    assert main(["translate", "--model", str(tmp / "model"), "--input", str(a), "--out", str(tmp / "T.safetensors")]) == 0
    t = EmbeddingSet.load(tmp / "T.safetensors")
    assert t.vectors.shape == (300, 16) and t.ids[:2] == ["v0", "v1"] and t.texts[0] == "text 0"
    assert t.model == "model-b" and t.meta["translated_from"] == "model-a"
    if method != "mlp":  # a linear map fitted on 200 noise-free-ish pairs is near exact
        np.testing.assert_allclose(t.vectors, p.Y, atol=0.1)

    capsys.readouterr()
    assert main(["evaluate", "--model", str(tmp / "model"), "--source", str(a), "--target", str(b),
                 "--json", str(tmp / "scores.json"), "--n-boot", "200"]) == 0
    out = capsys.readouterr().out
    assert "100 items" in out and "200 training ids left out" in out and "ci95_low" in out
    scores = json.loads((tmp / "scores.json").read_text())
    assert scores["n_items"] == 100 and scores["excluded_train"] == 200
    assert scores["scores"]["top1"]["low"] <= scores["scores"]["top1"]["value"] <= scores["scores"]["top1"]["high"]
    if method != "mlp":
        assert scores["scores"]["top1"]["value"] == 1.0


def test_evaluate_options(files, capsys):
    tmp, a, b, _ = files
    main(["fit", "--method", "linear", "--source", str(a), "--target", str(b), "--pairs", "50", "--out", str(tmp / "m")])
    capsys.readouterr()
    assert main(["evaluate", "--model", str(tmp / "m"), "--source", str(a), "--target", str(b), "--include-train",
                 "--gallery-size", "10", "--csls-k", "0", "--ks", "1,3", "--n-boot", "100"]) == 0
    out = capsys.readouterr().out
    assert "300 items, gallery of 10" in out and "top3" in out and "csls" not in out


def test_pair_by_id_reorders_and_checks(files):
    tmp, a, b, p = files
    X, Y, ids = pair_by_id(EmbeddingSet.load(a), EmbeddingSet.load(b))
    np.testing.assert_array_equal(Y, p.Y)
    assert ids[0] == "v0"
    part = EmbeddingSet(p.Y[:50], [f"v{i}" for i in range(50)])
    with pytest.raises(ValidationError, match="250 of source's ids are missing from target"):
        pair_by_id(EmbeddingSet.load(a), part)
    X, Y, ids = pair_by_id(EmbeddingSet.load(a), part, intersect=True)
    assert len(ids) == 50
    with pytest.raises(ValidationError, match="share no ids"):
        pair_by_id(EmbeddingSet.load(a), EmbeddingSet(p.Y[:5], [f"x{i}" for i in range(5)]))


def test_cli_errors(files, capsys):
    tmp, a, b, _ = files
    other = EmbeddingSet(np.ones((300, 7), np.float32) + np.arange(7), [f"v{i}" for i in range(300)]).save(tmp / "C.safetensors")
    fewer = EmbeddingSet(np.ones((10, 16), np.float32), [f"v{i}" for i in range(10)]).save(tmp / "D.safetensors")
    model = str(tmp / "m")
    assert main(["fit", "--method", "procrustes", "--source", str(a), "--target", str(b), "--out", model]) == 0
    cases = [
        ["fit", "--method", "linear", "--source", str(a), "--target", str(fewer), "--out", str(tmp / "x")],
        ["fit", "--method", "linear", "--source", str(a), "--target", str(b), "--pairs", "999", "--out", str(tmp / "x")],
        ["fit", "--method", "linear", "--source", str(a), "--target", str(b), "--param", "alpha=-1", "--out", str(tmp / "x")],
        ["fit", "--method", "mlp", "--source", str(a), "--target", str(b), "--param", "widht=3", "--out", str(tmp / "x")],
        ["fit", "--method", "linear", "--source", str(tmp / "missing.safetensors"), "--target", str(b), "--out", str(tmp / "x")],
        ["translate", "--model", model, "--input", str(other), "--out", str(tmp / "T.safetensors")],
        ["translate", "--model", str(tmp / "nothing"), "--input", str(a), "--out", str(tmp / "T.safetensors")],
        ["evaluate", "--model", model, "--source", str(a), "--target", str(other)],
        ["evaluate", "--model", model, "--source", str(a), "--target", str(b)],  # every id was used for training
        ["evaluate", "--model", model, "--source", str(a), "--target", str(b), "--include-train", "--ks", "x"],
    ]
    for argv in cases:
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("align: error:") and len(err.strip().splitlines()) == 1, err
    with pytest.raises(SystemExit) as e:
        main(["fit", "--method", "svm", "--source", str(a), "--target", str(b), "--out", model])
    assert e.value.code == 2


def test_translate_refuses_to_overwrite_its_input(files, capsys):
    tmp, a, b, _ = files
    assert main(["fit", "--method", "procrustes", "--source", str(a), "--target", str(b), "--out", str(tmp / "m")]) == 0
    before = a.read_bytes()
    capsys.readouterr()
    assert main(["translate", "--model", str(tmp / "m"), "--input", str(a), "--out", str(a)]) == 2
    err = capsys.readouterr().err
    assert "is the input file" in err and len(err.strip().splitlines()) == 1
    assert a.read_bytes() == before and EmbeddingSet.load(a).model == "model-a"
