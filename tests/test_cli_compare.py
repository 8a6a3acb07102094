"""``align compare``: rows paired by id, permutation p-values, clear errors."""
import json

import numpy as np
import pytest

from align.cli import main
from align.embeddings import EmbeddingSet
from align.metrics import cka, mutual_knn


@pytest.fixture()
def files(tmp_path):
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(60, 3))
    X = (Z @ rng.normal(size=(3, 8)) + 0.3 * rng.normal(size=(60, 8))).astype(np.float32)
    Y = (Z @ rng.normal(size=(3, 5)) + 0.3 * rng.normal(size=(60, 5))).astype(np.float32)
    ids = [f"t{i}" for i in range(60)]
    a = EmbeddingSet(X, ids=ids, model="a").save(tmp_path / "a.safetensors")
    order = rng.permutation(60)  # B stored in another order: rows must be paired by id
    b = EmbeddingSet(Y[order], ids=[ids[i] for i in order], model="b").save(tmp_path / "b.npz")
    c = EmbeddingSet(Y[:59], ids=ids[:59], model="c").save(tmp_path / "c.safetensors")
    return str(a), str(b), str(c), X, Y


def test_compare_pairs_rows_by_id(files, capsys):
    a, b, _, X, Y = files
    assert main(["compare", a, b, "--metric", "mutual_knn", "--k", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["value"] == pytest.approx(mutual_knn(X, Y, k=5)) and out["n"] == 60


def test_compare_with_permutations_and_bootstrap(files, capsys):
    a, b, _, X, Y = files
    assert main(["compare", a, b, "--metric", "cka", "--permutations", "19", "--bootstrap", "20"]) == 0
    text = capsys.readouterr().out
    assert f"cka() = {cka(X, Y):.4f}" in text and "permutation p = 0.05" in text and "bootstrap CI" in text


def test_compare_prepare_flag(files, capsys):
    a, b, *_ = files
    assert main(["compare", a, b, "--prepare", "--zscore", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["prepared"] and out["zscored"] and out["params"] == {"k": 10}


def test_compare_errors(files, capsys):
    a, _, c, *_ = files
    assert main(["compare", a, c]) == 2
    err = capsys.readouterr().err
    assert "ids differ" in err and "1 of A's ids are missing from B" in err
    assert main(["compare", a, a + ".missing"]) == 2
    assert main(["compare", a, a, "--k", "100"]) == 2
    assert "rows" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["compare", a, a, "--metric", "nope"])
    assert e.value.code == 2
