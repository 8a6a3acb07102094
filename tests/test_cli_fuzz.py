"""CLI fuzz: every command fed a corpus of bad files and arguments exits 2 with one line and writes nothing."""
import numpy as np
import pytest
from safetensors.numpy import save_file

from align import EmbeddingSet
from align.cli import main


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    X = np.random.default_rng(0).standard_normal((40, 6)).astype(np.float32)
    good = EmbeddingSet(X, [str(i) for i in range(40)], model="a").save(d / "good.safetensors")
    (d / "empty.safetensors").write_bytes(b"")
    (d / "garbage.npz").write_bytes(b"PK\x03\x04 not really a zip")
    (d / "notes.txt").write_text("hello")
    (d / "binary.parquet").write_bytes(bytes(range(256)))
    (d / "folder").mkdir()
    nan = X.copy()
    nan[3, 2] = np.nan
    np.save(d / "nan.npy", nan)
    np.save(d / "flat.npy", X[:, 0])
    save_file({"vectors": X[:5]}, str(d / "few.safetensors"))
    bad = [d / n for n in ("empty.safetensors", "garbage.npz", "notes.txt", "binary.parquet", "folder", "nan.npy",
                          "flat.npy", "missing.npy")]
    return d, good, bad, d / "few.safetensors"


def _argvs(d, good, bad, few):
    out = d / "out"
    for b in bad:
        yield ["compare", str(b), str(good)]
        yield ["compare", str(good), str(b), "--metric", "mutual_knn"]
        yield ["fit", "--method", "procrustes", "--source", str(b), "--target", str(good), "--out", str(out / "m")]
        yield ["fit", "--method", "linear", "--source", str(good), "--target", str(b), "--out", str(out / "m")]
        yield ["translate", "--model", str(b), "--input", str(good), "--out", str(out / "t.safetensors")]
        if b.name in ("binary.parquet", "folder", "missing.npy", "nan.npy"):  # not UTF-8 text, or no file
            yield ["embed", "--model", "minilm-l3-onnx", "--file", str(b), "--out", str(out / "e.safetensors")]
    yield ["compare", str(good), str(few)]  # ids differ
    yield ["compare", str(good), str(good), "--k", "0"]
    yield ["compare", str(good), str(good), "--k", "100"]
    yield ["fit", "--method", "procrustes", "--source", str(good), "--target", str(good), "--pairs", "-3",
           "--out", str(out / "m")]
    yield ["fit", "--method", "mlp", "--source", str(good), "--target", str(good), "--param", "epochs=abc",
           "--out", str(out / "m")]
    yield ["embed", "--model", "no-such-model", "--file", str(d / "notes.txt"), "--out", str(out / "e.safetensors")]
    yield ["embed", "--model", "minilm-l3-onnx", "--file", str(d / "notes.txt"), "--out", str(out / "e.txt")]


def test_bad_files_and_arguments_exit_2_with_one_line_and_write_nothing(corpus, capsys):
    d, good, bad, few = corpus
    before = sorted(p.name for p in d.iterdir())
    for argv in _argvs(d, good, bad, few):
        capsys.readouterr()
        try:
            code = main(argv)
        except SystemExit as e:  # argparse's own refusals
            code = e.code
        err = capsys.readouterr().err.strip()
        assert code == 2, (argv, err)
        assert err.startswith("align: error:") or err.startswith("usage:"), (argv, err)
        if err.startswith("align: error:"):
            assert len(err.splitlines()) == 1, (argv, err)
        assert not (d / "out").exists(), argv
    assert sorted(p.name for p in d.iterdir()) == before
    assert EmbeddingSet.load(good).model == "a"  # the good file is untouched
