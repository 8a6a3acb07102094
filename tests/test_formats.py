"""Users' own vector files: plain arrays, Parquet / Arrow / Feather tables, a `datasets` folder."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from safetensors.numpy import save_file

from align import CorruptFileError, EmbeddingSet, ValidationError
from align.cli import main

V = np.random.default_rng(0).standard_normal((20, 6)).astype(np.float32)
IDS = [f"doc-{i}" for i in range(20)]


def _table():
    return pa.table({"id": IDS, "embedding": pa.array(V.tolist(), pa.list_(pa.float32())), "title": ["t"] * 20})


@pytest.mark.parametrize("kind", ["npy", "npz", "safetensors"])
def test_plain_arrays_number_their_rows(tmp_path, kind):
    path = tmp_path / f"v.{kind}"
    if kind == "npy":
        np.save(path, V)
    elif kind == "npz":
        np.savez(path, embeddings=V)
    else:
        save_file({"vectors": V}, str(path))
    es = EmbeddingSet.load(path)
    np.testing.assert_array_equal(es.vectors, V)
    assert es.ids == [str(i) for i in range(20)] and es.meta["source_file"] == path.name


@pytest.mark.parametrize("kind", ["parquet", "feather", "arrow"])
def test_tables_find_the_vector_and_id_columns(tmp_path, kind):
    path = tmp_path / f"v.{kind}"
    t = _table()
    if kind == "parquet":
        pq.write_table(t, path)
    elif kind == "feather":
        feather.write_feather(t, path)
    else:
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, t.schema) as w:
            w.write_table(t)
    es = EmbeddingSet.load(path)
    np.testing.assert_array_equal(es.vectors, V)
    assert es.ids == IDS


def test_datasets_folder(tmp_path):
    folder = tmp_path / "ds"
    folder.mkdir()
    t = _table()
    with pa.OSFile(str(folder / "data-00000-of-00001.arrow"), "wb") as sink, pa.ipc.new_stream(sink, t.schema) as w:
        w.write_table(t)
    (folder / "state.json").write_text(json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}))
    (folder / "dataset_info.json").write_text("{}")
    es = EmbeddingSet.load(folder)
    np.testing.assert_array_equal(es.vectors, V)
    assert es.ids == IDS


def test_table_errors(tmp_path):
    two = pa.table({"a": pa.array(V.tolist()), "b": pa.array(V.tolist())})
    pq.write_table(two, tmp_path / "two.parquet")
    with pytest.raises(ValidationError, match="cannot tell which column"):
        EmbeddingSet.load(tmp_path / "two.parquet")
    assert EmbeddingSet.from_file(tmp_path / "two.parquet", vector_column="b").dim == 6
    with pytest.raises(ValidationError, match="no column 'c'"):
        EmbeddingSet.from_file(tmp_path / "two.parquet", vector_column="c")
    ragged = pa.table({"vector": pa.array([[1.0, 2.0], [3.0]])})
    pq.write_table(ragged, tmp_path / "ragged.parquet")
    with pytest.raises(ValidationError, match="equal-length"):
        EmbeddingSet.load(tmp_path / "ragged.parquet")
    dup = pa.table({"id": ["a", "a"], "vector": pa.array([[1.0], [2.0]])})
    pq.write_table(dup, tmp_path / "dup.parquet")
    with pytest.raises(ValidationError, match="unique"):
        EmbeddingSet.load(tmp_path / "dup.parquet")
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(CorruptFileError):
        EmbeddingSet.load(tmp_path / "bad.parquet")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(CorruptFileError, match="without pickle"):
        EmbeddingSet.load(tmp_path / "obj.npy")
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValidationError, match="not a Hugging Face"):
        EmbeddingSet.load(tmp_path / "folder")


def test_cli_fits_and_compares_plain_files(tmp_path, capsys):
    np.save(tmp_path / "A.npy", V)
    pq.write_table(pa.table({"id": [str(i) for i in range(20)],
                             "vector": pa.array((V[:, ::-1]).tolist())}), tmp_path / "B.parquet")
    assert main(["fit", "--method", "procrustes", "--source", str(tmp_path / "A.npy"),
                 "--target", str(tmp_path / "B.parquet"), "--out", str(tmp_path / "m")]) == 0
    assert main(["compare", str(tmp_path / "A.npy"), str(tmp_path / "B.parquet"), "--metric", "cka"]) == 0
    assert "1.0000" in capsys.readouterr().out  # a column permutation: CKA is exactly 1


def test_texts_from_jsonl_csv_tsv_parquet_and_plain(tmp_path):
    from align.formats import read_texts
    (tmp_path / "t.jsonl").write_text('{"id": "a", "text": "hello"}\n\n{"id": "b", "text": "world"}\n')
    (tmp_path / "t.csv").write_text("doc_id,body\nx,hello there\ny,\nz,general kenobi\n")
    (tmp_path / "t.tsv").write_text("sentence\tkey\nfirst\tk1\nsecond\tk2\n")
    pq.write_table(pa.table({"uuid": ["u1", "u2"], "passage": ["p one", "p two"]}), tmp_path / "t.parquet")
    (tmp_path / "t.txt").write_bytes("\ufeffone\n\nthree\n".encode())
    assert read_texts(tmp_path / "t.jsonl") == (["a", "b"], ["hello", "world"])
    assert read_texts(tmp_path / "t.csv", text_column="body") == (["x", "z"], ["hello there", "general kenobi"])
    assert read_texts(tmp_path / "t.tsv") == (["k1", "k2"], ["first", "second"])
    assert read_texts(tmp_path / "t.parquet") == (["u1", "u2"], ["p one", "p two"])
    assert read_texts(tmp_path / "t.txt") == (["0", "2"], ["one", "three"])
    (tmp_path / "bad.jsonl").write_text('{"text": "ok"}\nnot json\n')
    with pytest.raises(ValidationError, match="line 2 is not JSON"):
        read_texts(tmp_path / "bad.jsonl")
    (tmp_path / "cols.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValidationError, match="which column holds the texts"):
        read_texts(tmp_path / "cols.csv")
    with pytest.raises(ValidationError, match="no id column 'nope'"):
        read_texts(tmp_path / "t.jsonl", id_column="nope")


def test_translate_reads_a_plain_array_and_embed_texts_from_a_datasets_folder(tmp_path, capsys):
    from align.formats import read_texts
    np.save(tmp_path / "A.npy", V)
    pq.write_table(pa.table({"id": [str(i) for i in range(20)], "vector": pa.array(V.tolist())}),
                   tmp_path / "B.parquet")
    assert main(["fit", "--method", "procrustes", "--source", str(tmp_path / "A.npy"),
                 "--target", str(tmp_path / "B.parquet"), "--out", str(tmp_path / "m")]) == 0
    assert main(["translate", "--model", str(tmp_path / "m"), "--input", str(tmp_path / "A.npy"),
                 "--out", str(tmp_path / "T.npz")]) == 0
    np.testing.assert_allclose(EmbeddingSet.load(tmp_path / "T.npz").vectors, V, atol=1e-4)
    folder = tmp_path / "texts"
    folder.mkdir()
    t = pa.table({"id": ["q1", "q2"], "text": ["first", "second"]})
    with pa.OSFile(str(folder / "data-00000-of-00001.arrow"), "wb") as sink, pa.ipc.new_stream(sink, t.schema) as w:
        w.write_table(t)
    (folder / "state.json").write_text("{}")
    assert read_texts(folder) == (["q1", "q2"], ["first", "second"])
