import json

import numpy as np
import pytest
from safetensors.numpy import save_file

import align.embeddings
from align import EmbeddingSet
from align.embeddings import sidecar_path
from align.exceptions import AlignError, CorruptFileError, ShapeError, ValidationError


def _set(n=5, d=3):
    rng = np.random.default_rng(0)
    return EmbeddingSet(rng.standard_normal((n, d)), ids=[f"id{i}" for i in range(n)],
                        texts=[f"text {i}" for i in range(n)], labels=["a", "b", "a", "b", "a"][:n],
                        model="m", layer=3, pooling="mean", meta={"k": [1, 2]})


@pytest.mark.parametrize("suffix", [".safetensors", ".npz"])
def test_round_trip(tmp_path, suffix):
    es = _set()
    path = es.save(tmp_path / f"x{suffix}")
    assert path.exists() and sidecar_path(path).exists() and not path.with_suffix(".json").exists()
    back = EmbeddingSet.load(path)
    assert back.vectors.dtype == np.float32
    np.testing.assert_array_equal(back.vectors, es.vectors)
    assert (back.ids, back.texts, back.labels) == (es.ids, es.texts, es.labels)
    assert (back.model, back.layer, back.pooling, back.meta) == ("m", 3, "mean", {"k": [1, 2]})
    assert EmbeddingSet.load(sidecar_path(path)).ids == es.ids


def test_defaults_and_subset():
    es = EmbeddingSet(np.ones((3, 2)))
    assert es.ids == ["0", "1", "2"] and es.texts is None and len(es) == 3 and es.dim == 2
    sub = _set().subset([4, 0])
    assert sub.ids == ["id4", "id0"] and sub.texts == ["text 4", "text 0"]
    mask = np.array([True, False, False, False, True])
    assert _set().subset(mask).ids == ["id0", "id4"]


@pytest.mark.parametrize("bad, err", [
    (np.full((2, 2), np.nan), ValidationError), (np.array([[1.0, np.inf]]), ValidationError),
    (np.ones(3), ShapeError), (np.ones((0, 3)), ShapeError), (np.ones((2, 0)), ShapeError),
    ([["a", "b"]], ValidationError),
])
def test_bad_vectors(bad, err):
    with pytest.raises(err):
        EmbeddingSet(bad)


def test_bad_metadata():
    with pytest.raises(ShapeError, match="ids has 2 entries but vectors has 3"):
        EmbeddingSet(np.ones((3, 2)), ids=["a", "b"])
    with pytest.raises(ShapeError):
        EmbeddingSet(np.ones((3, 2)), texts=["a"])
    with pytest.raises(ValidationError, match="unique"):
        EmbeddingSet(np.ones((2, 2)), ids=["a", "a"])


def test_truncated_file_is_detected(tmp_path):
    path = _set().save(tmp_path / "x.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="checksum"):
        EmbeddingSet.load(path)


def test_tampered_vectors_are_detected(tmp_path):
    path = _set().save(tmp_path / "x.npz")
    data = bytearray(path.read_bytes())
    data[-30] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError):
        EmbeddingSet.load(path)


def test_tampered_sidecar_is_detected(tmp_path):
    path = _set().save(tmp_path / "x.safetensors")
    side = sidecar_path(path)
    meta = json.loads(side.read_text())
    meta["shape"] = [4, 3]
    side.write_text(json.dumps(meta))
    with pytest.raises(CorruptFileError, match="shape"):
        EmbeddingSet.load(path)
    meta["shape"] = [5, 3]
    meta["ids"] = meta["ids"][:2]
    side.write_text(json.dumps(meta))
    with pytest.raises(CorruptFileError, match="inconsistent"):
        EmbeddingSet.load(path)
    side.write_text("{not json")
    with pytest.raises(CorruptFileError, match="JSON"):
        EmbeddingSet.load(path)


def test_not_an_embedding_set(tmp_path):
    other = tmp_path / "other.safetensors"
    save_file({"w": np.ones((2, 2), np.float32), "b": np.ones(2, np.float32)}, str(other))
    with pytest.raises(ValidationError, match="holds arrays"):  # no sidecar, two arrays: which one?
        EmbeddingSet.load(other)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CorruptFileError, match="unknown kind of file; align reads"):
        EmbeddingSet.load(tmp_path / "notes.txt")
    (tmp_path / "foreign.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(AlignError):
        EmbeddingSet.load(tmp_path / "foreign.json")
    with pytest.raises(CorruptFileError):
        EmbeddingSet.load(tmp_path / "missing.safetensors")


def test_bad_save_suffix(tmp_path):
    with pytest.raises(ValidationError, match="safetensors"):
        _set().save(tmp_path / "x.pkl")


def test_failed_save_leaves_no_file(tmp_path, monkeypatch):
    def broken(tensors, filename):
        with open(filename, "wb") as f:
            f.write(b"partial")
        raise KeyboardInterrupt  # a run killed mid-write

    monkeypatch.setattr(align.embeddings, "save_file", broken)
    with pytest.raises(KeyboardInterrupt):
        _set().save(tmp_path / "x.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_safetensors_and_npz_of_one_stem_keep_their_own_sidecars(tmp_path):
    a = EmbeddingSet(np.ones((3, 4), np.float32), model="model-a")
    b = EmbeddingSet(np.zeros((3, 4), np.float32), model="model-b")
    a.save(tmp_path / "S.safetensors")
    b.save(tmp_path / "S.npz")
    assert EmbeddingSet.load(tmp_path / "S.safetensors").model == "model-a"
    assert EmbeddingSet.load(tmp_path / "S.npz").model == "model-b"
    np.testing.assert_array_equal(EmbeddingSet.load(tmp_path / "S.safetensors").vectors, a.vectors)


def test_a_legacy_sidecar_of_another_file_is_refused(tmp_path):
    b = EmbeddingSet(np.zeros((3, 4), np.float32), model="model-b")
    b.save(tmp_path / "S.npz")
    sidecar_path(tmp_path / "S.npz").rename(tmp_path / "S.json")  # the old layout: S.json
    assert EmbeddingSet.load(tmp_path / "S.npz").model == "model-b"  # old files still load
    save_file({"vectors": np.ones((3, 4), np.float32)}, str(tmp_path / "S.safetensors"))
    with pytest.raises(CorruptFileError, match="belongs to 'S.npz', not to 'S.safetensors'"):
        EmbeddingSet.load(tmp_path / "S.safetensors")
