"""Bad input from users' own files and arguments: one-line AlignErrors (CLI exit 2), nothing written.

Issue 15's traceback list: --device tpu, a Latin-1 or binary text file, a translator path that is a
file, fit --out over an existing file, a sidecar with a bad layer, a lone surrogate in texts.
"""
import json
import shutil

import numpy as np
import pytest

from align import AlignError, EmbeddingSet
from align._validate import check_device, check_texts
from align.cli import main
from align.embeddings import sidecar_path
from align.exceptions import ValidationError
from align.cache import embed
from align.supervised import MLPTranslator

from toy_encoders import ToyLayers


@pytest.fixture
def sets(tmp_path):
    X = np.random.default_rng(0).standard_normal((60, 8)).astype(np.float32)
    ids = [str(i) for i in range(60)]
    a = EmbeddingSet(X, ids, model="a").save(tmp_path / "A.safetensors")
    b = EmbeddingSet(X[:, ::-1].copy(), ids, model="b").save(tmp_path / "B.safetensors")
    return tmp_path, a, b


def _fails_cleanly(argv, capsys, match):
    capsys.readouterr()
    assert main(argv) == 2, argv
    err = capsys.readouterr().err
    assert err.startswith("align: error:") and len(err.strip().splitlines()) == 1, err
    assert match in err, err


def test_unknown_device_everywhere(sets, capsys):
    tmp, _, _ = sets
    (tmp / "t.txt").write_text("hello\n")
    _fails_cleanly(["embed", "--model", "minilm-l3-onnx", "--file", str(tmp / "t.txt"), "--device", "tpu",
                    "--out", str(tmp / "o.safetensors")], capsys, "device must be 'auto', 'cpu'")
    assert not (tmp / "o.safetensors").exists()
    with pytest.raises(ValidationError, match="got 'tpu'"):
        MLPTranslator(device="tpu", epochs=1).fit(np.eye(4), np.eye(4))
    for ok in ("auto", "cpu", "cuda", "cuda:1", "mps"):
        assert check_device(ok) == ok
    for bad in ("tpu", "gpu", "cuda:x", "", None):
        with pytest.raises(ValidationError):
            check_device(bad)


def test_text_files_latin1_binary_bom_and_line_ids(tmp_path, capsys):
    (tmp_path / "latin1.txt").write_bytes("café\n".encode("latin-1"))
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\xff\xfe\x80")
    for name in ("latin1.txt", "binary.txt"):
        _fails_cleanly(["embed", "--model", "minilm-l3-onnx", "--file", str(tmp_path / name),
                        "--out", str(tmp_path / "o.safetensors")], capsys, "is not UTF-8 text")
    assert not (tmp_path / "o.safetensors").exists()


@pytest.mark.models
def test_bom_is_stripped_and_ids_are_line_numbers(tmp_path):
    (tmp_path / "t.txt").write_bytes("\ufeffhello\n\nworld\n".encode("utf-8"))
    assert main(["embed", "--model", "minilm-l3-onnx", "--file", str(tmp_path / "t.txt"),
                 "--out", str(tmp_path / "o.safetensors"), "--no-cache"]) == 0
    es = EmbeddingSet.load(tmp_path / "o.safetensors")
    assert es.texts == ["hello", "world"] and es.ids == ["0", "2"]


def test_translator_path_that_is_a_file_and_out_over_a_file(sets, capsys):
    tmp, a, b = sets
    _fails_cleanly(["translate", "--model", str(a), "--input", str(a), "--out", str(tmp / "T.safetensors")],
                   capsys, "is a file, not a saved aligner")
    (tmp / "existing").write_text("keep me")
    for out in (tmp / "existing", tmp / "existing" / "sub"):
        _fails_cleanly(["fit", "--method", "procrustes", "--source", str(a), "--target", str(b), "--out", str(out)],
                       capsys, "cannot be created")
    assert (tmp / "existing").read_text() == "keep me"


def test_sidecar_with_a_bad_layer(sets, capsys):
    tmp, a, b = sets
    shutil.copy(a, tmp / "C.safetensors")
    side = json.loads(sidecar_path(a).read_text())
    side.update({"vector_file": "C.safetensors", "layer": "abc"})
    sidecar_path(tmp / "C.safetensors").write_text(json.dumps(side))
    _fails_cleanly(["compare", str(tmp / "C.safetensors"), str(b), "--metric", "cka"], capsys,
                   "layer must be an integer")
    with pytest.raises(AlignError):
        EmbeddingSet(np.eye(3, dtype=np.float32), layer="abc")


def test_lone_surrogate_in_texts():
    with pytest.raises(ValidationError, match=r"texts\[1\] is not valid Unicode"):
        check_texts(["fine", "bad \ud800 text"])
    assert check_texts(["naïve", "日本語"]) == ["naïve", "日本語"]


def test_output_files_get_the_umask_mode(tmp_path):
    import os
    import stat
    old = os.umask(0o022)
    try:
        path = EmbeddingSet(np.eye(3, dtype=np.float32)).save(tmp_path / "S.safetensors")
    finally:
        os.umask(old)
    for p in (path, sidecar_path(path)):
        assert stat.S_IMODE(p.stat().st_mode) == 0o644, p


def test_every_error_class_is_exported():
    import align
    import align.exceptions as ex
    for name in ("AlignError", "ShapeError", "ValidationError", "NotFittedError", "ModelNotAvailableError",
                 "DataNotAvailableError", "CorruptFileError"):
        assert getattr(align, name) is getattr(ex, name) and name in align.__all__


def test_unwritable_outputs_fail_before_the_work(sets, capsys, monkeypatch, tmp_path):
    tmp, a, b = sets
    # /proc refuses new files even for root: a stand-in for a read-only folder
    _fails_cleanly(["fit", "--method", "procrustes", "--source", str(a), "--target", str(b),
                    "--out", "/proc/align-test/m"], capsys, "is not writable")
    assert main(["fit", "--method", "procrustes", "--source", str(a), "--target", str(b), "--out", str(tmp / "m")]) == 0
    _fails_cleanly(["translate", "--model", str(tmp / "m"), "--input", str(a), "--out", "/proc/t.safetensors"],
                   capsys, "is not writable")
    (tmp / "t.txt").write_text("hello\n")
    _fails_cleanly(["embed", "--model", "minilm-l3-onnx", "--file", str(tmp / "t.txt"), "--out", "/proc/e.npz"],
                   capsys, "is not writable")
    monkeypatch.setenv("ALIGN_CACHE", "/proc/align-cache")
    with pytest.raises(ValidationError, match=r"embedding cache \(ALIGN_CACHE\) /proc/align-cache: /proc is not writable"):
        embed(["a", "b"], ToyLayers("toy-w", 1))


@pytest.mark.parametrize("cls", ["ProcrustesTranslator", "LinearTranslator"])
def test_one_pair_fit_warns(cls):
    import warnings
    import align.supervised as sup
    from align.exceptions import DegenerateFitWarning
    X = np.random.default_rng(0).standard_normal((1, 384)).astype(np.float32)
    with pytest.warns(DegenerateFitWarning, match="1 pair"):
        getattr(sup, cls)().fit(X, X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateFitWarning)
        getattr(sup, cls)().fit(np.vstack([X] * 3) + np.arange(3)[:, None], np.vstack([X] * 3))


def test_embed_refuses_an_unknown_device_before_loading():
    with pytest.raises(ValidationError, match="got 'tpu'"):
        embed(["a"], "minilm-l3-onnx", device="tpu")
