"""EmbeddingSet: a matrix of vectors with the ids, texts and provenance that produced it."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from ._validate import check_matrix
from .exceptions import CorruptFileError, ShapeError, ValidationError
from .formats import HOW, PLAIN, TABLES, read_plain, read_table
from .io import atomic_write, atomic_write_json, sha256_file

FORMAT = "align.EmbeddingSet"
FORMAT_VERSION = 1
_SUFFIXES = (".safetensors", ".npz")


@dataclass
class EmbeddingSet:
    """Vectors of ``n`` items from one model/layer.

    Attributes:
        vectors: ``(n, d)`` float32 NumPy array.
        ids: ``n`` string ids (default ``"0".."n-1"``).
        texts: optional ``n`` source strings.
        labels: optional ``n`` category labels (e.g. a corpus domain), for per-domain analysis.
        model: encoder name; ``layer``: layer index or ``None``; ``pooling``: e.g. ``"mean"``.
        meta: free-form JSON-serialisable dict.
    """

    vectors: np.ndarray
    ids: list | None = None
    texts: list | None = None
    labels: list | None = None
    model: str | None = None
    layer: int | None = None
    pooling: str | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.vectors = check_matrix(self.vectors, "vectors", allow_torch=False)
        n = self.vectors.shape[0]
        self.ids = [str(i) for i in range(n)] if self.ids is None else [str(i) for i in self.ids]
        for name in ("ids", "texts", "labels"):
            value = getattr(self, name)
            if value is not None:
                value = list(value)
                setattr(self, name, value)
                if len(value) != n:
                    raise ShapeError(f"{name} has {len(value)} entries but vectors has {n} rows")
        if len(set(self.ids)) != n:
            raise ValidationError("ids must be unique")
        if self.layer is not None:
            if isinstance(self.layer, bool) or not isinstance(self.layer, (int, np.integer, str)) \
                    or not str(self.layer).lstrip("-").isdigit():
                raise ValidationError(f"layer must be an integer layer index or None; got {self.layer!r}")
            self.layer = int(self.layer)
        if not isinstance(self.meta, dict):
            raise ValidationError(f"meta must be a dict; got {type(self.meta).__name__}")

    def __len__(self) -> int:
        return self.vectors.shape[0]

    @property
    def dim(self) -> int:
        """Vector dimension (columns of ``vectors``)."""
        return self.vectors.shape[1]

    def subset(self, index) -> "EmbeddingSet":
        """Rows ``index`` (int array or boolean mask) as a new set with the same provenance."""
        idx = np.arange(len(self))[np.asarray(index)]
        pick = lambda seq: None if seq is None else [seq[i] for i in idx]  # noqa: E731
        return EmbeddingSet(self.vectors[idx], pick(self.ids), pick(self.texts), pick(self.labels),
                            self.model, self.layer, self.pooling, dict(self.meta))

    def __repr__(self) -> str:
        return (f"EmbeddingSet(n={len(self)}, dim={self.dim}, model={self.model!r}, "
                f"layer={self.layer!r}, pooling={self.pooling!r})")

    # ------------------------------------------------------------------ persistence
    def save(self, path) -> Path:
        """Write ``path`` (``.safetensors`` or ``.npz``) and its JSON sidecar ``<path>.json``.

        The sidecar keeps the vector file's full name (``S.safetensors.json``), so ``S.safetensors``
        and ``S.npz`` in one folder never share a sidecar.

        Both writes are atomic; the sidecar, written last, stores the SHA-256 of the vector file so
        that :meth:`load` detects truncation and tampering. Returns the vector file's path.
        """
        path = Path(path)
        if path.suffix not in _SUFFIXES:
            raise ValidationError(f"EmbeddingSet files end in {' or '.join(_SUFFIXES)}; got {path.name!r}")
        vectors = np.ascontiguousarray(self.vectors, dtype=np.float32)
        if path.suffix == ".safetensors":
            atomic_write(path, lambda tmp: save_file({"vectors": vectors}, tmp), ".safetensors")
        else:
            atomic_write(path, lambda tmp: _save_npz(tmp, vectors), ".npz")
        sidecar = {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "vector_file": path.name, "sha256": sha256_file(path),
            "shape": list(vectors.shape), "dtype": "float32",
            "ids": self.ids, "texts": self.texts, "labels": self.labels,
            "model": self.model, "layer": self.layer, "pooling": self.pooling, "meta": self.meta,
        }
        atomic_write_json(sidecar_path(path), sidecar)
        return path

    @classmethod
    def from_file(cls, path, *, vector_column: str | None = None, id_column: str | None = None) -> "EmbeddingSet":
        """A set from a user's own file (no sidecar): ``.npy``/``.npz``/``.safetensors`` arrays, Parquet,
        Arrow/Feather tables or a Hugging Face ``datasets`` folder (:mod:`align.formats`).

        Parameters
        ----------
        path : str or Path
        vector_column, id_column : str or None
            Table columns; by default the only number-list column and a column named ``id``.
            Rows are numbered ``"0".."n-1"`` when there is no id column.

        Returns
        -------
        EmbeddingSet
            ``meta["source_file"]`` names the file; model, layer and texts are unknown (None).
        """
        path = Path(path)
        if path.is_dir() or path.suffix in TABLES:
            vectors, ids = read_table(path, vector_column=vector_column, id_column=id_column)
        elif path.suffix in PLAIN:
            vectors, ids = read_plain(path)
        else:
            raise CorruptFileError(f"{path}: unknown kind of file; {HOW}")
        try:
            return cls(vectors, ids, meta={"source_file": path.name})
        except (ShapeError, ValidationError) as e:
            raise ValidationError(f"{path}: {e}") from None

    @classmethod
    def load(cls, path) -> "EmbeddingSet":
        """Load a set written by :meth:`save`, or a plain file (:meth:`from_file`) when no sidecar
        belongs to it; raises :class:`CorruptFileError` on any mismatch."""
        path = Path(path)
        if path.is_dir() or path.suffix in TABLES or path.suffix == ".npy" or (
                path.suffix in _SUFFIXES and not sidecar_path(path).exists() and not path.with_suffix(".json").exists()):
            if not path.exists():
                raise CorruptFileError(f"{path} does not exist")
            return cls.from_file(path)
        if path.suffix == ".json":
            side_path = path
        elif path.suffix in _SUFFIXES:
            side_path = sidecar_path(path)
            if not side_path.exists() and path.with_suffix(".json").exists():
                side_path = path.with_suffix(".json")  # written before sidecars kept the full name
        else:
            raise CorruptFileError(f"{path}: unknown kind of file; {HOW}")
        side = _read_sidecar(path, side_path)
        if path.suffix != ".json" and side.get("vector_file") != path.name:
            raise CorruptFileError(f"{side_path} belongs to {side.get('vector_file')!r}, not to {path.name!r}; "
                                   f"re-save {path.name} to give it its own sidecar")
        vec_path = side_path.parent / side.get("vector_file", "")
        if not vec_path.is_file():
            raise CorruptFileError(f"{side_path}: vector file {vec_path.name} is missing")
        if sha256_file(vec_path) != side.get("sha256"):
            raise CorruptFileError(f"{vec_path}: checksum mismatch (truncated or modified after saving)")
        try:
            vectors = _read_vectors(vec_path)
        except Exception as e:
            raise CorruptFileError(f"{vec_path}: cannot read vectors ({e})") from None
        if list(vectors.shape) != list(side.get("shape", [])):
            raise CorruptFileError(f"{vec_path}: shape {vectors.shape} does not match sidecar {side.get('shape')}")
        try:
            return cls(vectors, side.get("ids"), side.get("texts"), side.get("labels"),
                       side.get("model"), side.get("layer"), side.get("pooling"), side.get("meta") or {})
        except (ShapeError, ValidationError) as e:
            raise CorruptFileError(f"{side_path}: inconsistent contents ({e})") from None


def pair_rows(a: "EmbeddingSet", b: "EmbeddingSet", *, intersect: bool = False, names=("A", "B"), hint: str = ""):
    """Rows of two EmbeddingSets matched by id, in ``a``'s order.

    Parameters
    ----------
    a, b : EmbeddingSet
    intersect : bool, default False
        Use only the ids both have, instead of refusing sets whose ids differ.
    names : (str, str), default ("A", "B")
        How messages name the two sets.
    hint : str, default ""
        Appended to the message when the ids differ (e.g. how to intersect).

    Returns
    -------
    X : ndarray (n, d_a)
    Y : ndarray (n, d_b)
    ids : list of str

    Raises
    ------
    ValidationError
        When the sets share no id, or (without ``intersect``) when their ids differ.
    """
    na, nb = names
    if a.ids == b.ids:
        return a.vectors, b.vectors, list(a.ids)
    where = {i: r for r, i in enumerate(b.ids)}
    common = [i for i in a.ids if i in where]
    if not common:
        raise ValidationError(f"{na} and {nb} share no ids (e.g. {na} {a.ids[:2]}, {nb} {b.ids[:2]}); "
                              "rows are paired by id")
    in_a = set(a.ids)
    only_a, only_b = [i for i in a.ids if i not in where], [i for i in b.ids if i not in in_a]
    if (only_a or only_b) and not intersect:
        parts = [f"{na} has {len(a.ids)} ids and {nb} has {len(b.ids)}"]
        if only_a:
            parts.append(f"{len(only_a)} of {na}'s ids are missing from {nb} (first: {only_a[0]!r})")
        if only_b:
            parts.append(f"{len(only_b)} of {nb}'s ids are missing from {na} (first: {only_b[0]!r})")
        raise ValidationError("rows are paired by id, but the ids differ: " + "; ".join(parts) + hint)
    rows_a = {i: r for r, i in enumerate(a.ids)}
    return a.vectors[[rows_a[i] for i in common]], b.vectors[[where[i] for i in common]], common


def sidecar_path(path) -> Path:
    """The JSON sidecar of an EmbeddingSet vector file: its full name plus ``.json``.

    Parameters
    ----------
    path : str or Path
        ``S.safetensors`` or ``S.npz``.

    Returns
    -------
    Path
        ``S.safetensors.json`` or ``S.npz.json``.
    """
    path = Path(path)
    return path.with_name(path.name + ".json")


def _read_sidecar(path: Path, side_path: Path) -> dict:
    try:
        with open(side_path, encoding="utf-8") as f:
            side = json.load(f)
    except FileNotFoundError:
        raise CorruptFileError(f"{path}: sidecar {side_path.name} not found; "
                               "not an EmbeddingSet written by align") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CorruptFileError(f"{side_path}: sidecar is not valid JSON ({e})") from None
    if not isinstance(side, dict) or side.get("format") != FORMAT:
        raise CorruptFileError(f"{side_path} is not an EmbeddingSet sidecar")
    return side


def _save_npz(tmp, vectors):
    with open(tmp, "wb") as f:
        np.savez(f, vectors=vectors)


def _read_vectors(path: Path) -> np.ndarray:
    if path.suffix == ".safetensors":
        return load_file(str(path))["vectors"]
    with np.load(path, allow_pickle=False) as z:
        return np.array(z["vectors"])
