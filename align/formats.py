"""Vectors from users' own files: plain ``.npy`` / ``.npz`` / ``.safetensors`` (no sidecar), Parquet,
Arrow / Feather, and a Hugging Face ``datasets`` folder (``Dataset.save_to_disk``).

Vector stores export a table with one vector column (a list of floats per row, or a fixed-size
list) and an id column; :func:`read_table` finds both by name or by type. Every reader returns
``(vectors (n, d) float32, ids list[str] | None)``; :meth:`align.EmbeddingSet.load` wraps them.
Nothing here unpickles: ``.npy`` / ``.npz`` are read with ``allow_pickle=False``.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
from safetensors.numpy import load_file

from .exceptions import CorruptFileError, ValidationError

PLAIN = (".npy", ".npz", ".safetensors")
TABLES = (".parquet", ".arrow", ".feather", ".ipc")
ID_NAMES = ("id", "ids", "_id", "doc_id", "uuid", "key")
VECTOR_NAMES = ("vector", "vectors", "embedding", "embeddings", "emb", "values")
HOW = ("align reads EmbeddingSet files (.safetensors/.npz with the .json sidecar `align embed` writes), "
       "plain .npy/.npz/.safetensors arrays, Parquet/Arrow/Feather tables with a vector column, and a "
       "Hugging Face `datasets` folder")


def read_plain(path: Path):
    """One 2-D array from ``.npy``, or the single (or ``vectors``/``embeddings``) array of ``.npz`` /
    ``.safetensors``; ids are None (the caller numbers the rows)."""
    try:
        if path.suffix == ".npy":
            arrays = {"vectors": np.load(path, allow_pickle=False)}
        elif path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: np.array(z[k]) for k in z.files}
        else:
            arrays = load_file(str(path))
    except ValueError as e:
        raise CorruptFileError(f"{path}: cannot read it as a plain array without pickle ({e})") from None
    except Exception as e:  # zipfile/OSError for .npz, SafetensorError for .safetensors: all mean unreadable
        raise CorruptFileError(f"{path}: cannot read it ({type(e).__name__}: {e})") from None
    key = next((k for k in ("vectors", "embeddings") if k in arrays), None)
    if key is None:
        if len(arrays) != 1:
            raise ValidationError(f"{path} holds arrays {sorted(arrays)}; name the vectors 'vectors' or keep one array")
        key = next(iter(arrays))
    return _matrix(arrays[key], path), None


def read_table(path: Path, *, vector_column: str | None = None, id_column: str | None = None):
    """The vector column and the id column of a Parquet / Arrow / Feather file or a ``datasets`` folder.

    Parameters
    ----------
    path : Path
    vector_column : str or None
        Default: the only list-of-numbers column, else one named like :data:`VECTOR_NAMES`.
    id_column : str or None
        Default: a column named like :data:`ID_NAMES`; none → rows are numbered.

    Returns
    -------
    vectors : ndarray (n, d) float32
    ids : list of str or None
    """
    table = _open_table(path)
    names = table.column_names
    vec = vector_column or _guess_vector_column(table, path)
    if vec not in names:
        raise ValidationError(f"{path} has no column {vec!r}; columns: {', '.join(names)}")
    rows = table.column(vec).to_pylist()
    if any(r is None for r in rows):
        raise ValidationError(f"{path}: column {vec!r} has missing vectors (nulls)")
    try:
        vectors = np.asarray(rows, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValidationError(f"{path}: column {vec!r} is not a column of equal-length number lists") from None
    ids = None
    idc = id_column or next((c for c in names if c.lower() in ID_NAMES), None)
    if id_column is not None and id_column not in names:
        raise ValidationError(f"{path} has no column {id_column!r}; columns: {', '.join(names)}")
    if idc is not None:
        ids = [str(v) for v in table.column(idc).to_pylist()]
    return _matrix(vectors, path), ids


TEXT_NAMES = ("text", "texts", "sentence", "content", "document", "passage", "body")


def read_texts(path, *, text_column: str | None = None, id_column: str | None = None):
    """Texts (and ids) from a plain text file (one per line), JSONL, CSV/TSV or a Parquet/Arrow table.

    Parameters
    ----------
    path : str or Path
    text_column : str or None
        Column / JSON key of the texts; default one named like :data:`TEXT_NAMES`.
    id_column : str or None
        Column / key of the ids; default one named like :data:`ID_NAMES`, else line / row numbers.

    Returns
    -------
    ids : list of str
    texts : list of str
        Blank texts are dropped (ids stay the line / row numbers of the kept ones).

    Raises
    ------
    ValidationError
        Not UTF-8, a bad JSON line, or no text column.
    """
    path = Path(path)
    try:
        if path.suffix in TABLES or path.is_dir():
            table = _open_table(path)
            records = table.to_pylist()
        elif path.suffix in (".jsonl", ".ndjson", ".csv", ".tsv"):
            with open(path, encoding="utf-8-sig", newline="") as f:
                if path.suffix in (".csv", ".tsv"):
                    records = list(csv.DictReader(f, delimiter="\t" if path.suffix == ".tsv" else ","))
                else:
                    records = [_json_line(line, n, path) for n, line in enumerate(f) if line.strip()]
        else:
            with open(path, encoding="utf-8-sig") as f:  # -sig: a leading UTF-8 BOM is dropped
                lines = [(i, line.strip()) for i, line in enumerate(f)]
            kept = [(i, t) for i, t in lines if t]  # ids are line numbers: blank lines do not shift them
            return [str(i) for i, _ in kept], [t for _, t in kept]
    except OSError as e:
        raise ValidationError(f"cannot read {path}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ValidationError(f"{path} is not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start}); "
                              "convert it first, e.g. iconv -f latin1 -t utf-8") from None
    if not records:
        return [], []
    keys = list(records[0]) if isinstance(records[0], dict) else []
    col = text_column or next((k for k in keys if str(k).lower() in TEXT_NAMES), None)
    if col is None or col not in keys:
        raise ValidationError(f"{path}: no text column {text_column!r} (columns: {', '.join(map(str, keys))}); "
                              "pass --text-column" if text_column else
                              f"{path}: which column holds the texts? columns: {', '.join(map(str, keys))}; "
                              "pass --text-column")
    idc = id_column or next((k for k in keys if str(k).lower() in ID_NAMES), None)
    if id_column is not None and id_column not in keys:
        raise ValidationError(f"{path}: no id column {id_column!r} (columns: {', '.join(map(str, keys))})")
    ids, texts = [], []
    for n, r in enumerate(records):
        t = r.get(col)
        if t is None or not str(t).strip():
            continue
        ids.append(str(r[idc]) if idc is not None else str(n))
        texts.append(str(t).strip())
    return ids, texts


def _json_line(line: str, n: int, path: Path) -> dict:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise ValidationError(f"{path}: line {n + 1} is not JSON ({e.msg})") from None
    if not isinstance(obj, dict):
        raise ValidationError(f"{path}: line {n + 1} is a JSON {type(obj).__name__}, not an object")
    return obj


def _open_table(path: Path) -> pa.Table:
    try:
        if path.is_dir():
            files = sorted(path.glob("*.arrow"))
            if not files or not (path / "dataset_info.json").exists() and not (path / "state.json").exists():
                raise ValidationError(f"{path} is a folder but not a Hugging Face `datasets` folder "
                                      "(no *.arrow files with state.json / dataset_info.json)")
            return pa.concat_tables([_read_ipc(f) for f in files])
        if path.suffix == ".parquet":
            return pq.read_table(path)
        return feather.read_table(path) if path.suffix == ".feather" else _read_ipc(path)
    except (pa.ArrowInvalid, OSError, json.JSONDecodeError) as e:
        raise CorruptFileError(f"{path}: cannot read the table ({e})") from None


def _read_ipc(path: Path) -> pa.Table:
    with pa.memory_map(str(path)) as source:
        try:
            return ipc.open_stream(source).read_all()  # `datasets` writes the streaming format
        except pa.ArrowInvalid:
            source.seek(0)
            return ipc.open_file(source).read_all()


def _guess_vector_column(table: pa.Table, path: Path) -> str:
    lists = [f.name for f in table.schema
             if (pa.types.is_list(f.type) or pa.types.is_large_list(f.type) or pa.types.is_fixed_size_list(f.type))
             and (pa.types.is_floating(f.type.value_type) or pa.types.is_integer(f.type.value_type))]
    if len(lists) == 1:
        return lists[0]
    named = [c for c in lists if c.lower() in VECTOR_NAMES]
    if len(named) == 1:
        return named[0]
    raise ValidationError(f"{path}: cannot tell which column holds the vectors (number-list columns: "
                          f"{', '.join(lists) or 'none'}); pass vector_column=... (CLI: --vector-column)")


def _matrix(A, path) -> np.ndarray:
    A = np.asarray(A)
    if A.ndim != 2 or 0 in A.shape:
        raise ValidationError(f"{path}: vectors must form a non-empty 2-D array; got shape {A.shape}")
    if not np.issubdtype(A.dtype, np.number):
        raise ValidationError(f"{path}: vectors must be numbers; got dtype {A.dtype}")
    return np.ascontiguousarray(A, dtype=np.float32)
