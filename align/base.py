"""Estimator base class and the aligner registry.

Conventions (scikit-learn): ``__init__`` only stores keyword-only parameters; ``fit`` validates and
learns attributes ending in ``_``; ``transform`` maps source → target space; using an unfitted
estimator raises :class:`NotFittedError`. Persistence writes a folder with ``aligner.json``
(class, parameters, scalar state, checksum) and ``aligner.safetensors`` (array state) — no pickle.
"""
from __future__ import annotations

import inspect
import json
from pathlib import Path

import numpy as np

from ._validate import check_matrix
from .exceptions import CorruptFileError, NotFittedError, ShapeError, ValidationError
from .io import atomic_write, atomic_write_json, sha256_file

ALIGNERS: dict = {}
_FORMAT = "align.Aligner"


def register_aligner(cls):
    """Class decorator: make ``cls`` loadable by name and listed in ``ALIGNERS``."""
    ALIGNERS[cls.__name__] = cls
    return cls


class BaseAligner:
    """Common machinery: params, fitted checks, input checks, save/load.

    Subclasses list their array state in ``_array_attrs`` and scalar/JSON state in ``_json_attrs``.
    """

    _array_attrs: tuple = ()
    _json_attrs: tuple = ("n_features_in_", "n_features_out_")
    supervised: bool = True

    # ------------------------------------------------------------------ params
    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind == p.KEYWORD_ONLY]

    def get_params(self, deep: bool = False) -> dict:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        valid = set(self._param_names())
        for key, value in params.items():
            if key not in valid:
                raise ValidationError(f"{type(self).__name__} has no parameter {key!r}; valid: {sorted(valid)}")
            setattr(self, key, value)
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ checks
    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "n_features_in_")

    def _check_fitted(self):
        if not self.is_fitted:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(X, Y) first")

    def _check_fit_inputs(self, X, Y):
        X = check_matrix(X, "X", allow_torch=False)
        Y = check_matrix(Y, "Y", allow_torch=False)
        if self.supervised and X.shape[0] != Y.shape[0]:
            raise ShapeError(f"supervised fit needs paired rows: X has {X.shape[0]} rows but Y has {Y.shape[0]}")
        return X, Y

    def _check_transform_input(self, X, name="X", side="in"):
        self._check_fitted()
        X = check_matrix(X, name, allow_torch=False)
        expected = self.n_features_in_ if side == "in" else self.n_features_out_
        if X.shape[1] != expected:
            raise ShapeError(f"{name} has {X.shape[1]} columns but the aligner was fitted on {expected}")
        return X

    # ------------------------------------------------------------------ persistence
    def save(self, folder) -> Path:
        """Write ``folder/aligner.json`` and ``folder/aligner.safetensors``; returns the folder."""
        self._check_fitted()
        from safetensors.numpy import save_file
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {name: np.ascontiguousarray(getattr(self, name)) for name in self._array_attrs}
        arrays.update(self._extra_arrays())
        tensor_path = folder / "aligner.safetensors"
        atomic_write(tensor_path, lambda tmp: save_file(arrays, tmp), ".safetensors")
        state = {name: _jsonable(getattr(self, name)) for name in self._json_attrs if hasattr(self, name)}
        atomic_write_json(folder / "aligner.json", {
            "format": _FORMAT, "class": type(self).__name__, "params": _jsonable(self.get_params()),
            "state": state, "sha256": sha256_file(tensor_path)})
        return folder

    @staticmethod
    def load(folder) -> "BaseAligner":
        """Rebuild an aligner saved by :meth:`save`; raises CorruptFileError on any mismatch."""
        from safetensors.numpy import load_file
        folder = Path(folder)
        meta_path, tensor_path = folder / "aligner.json", folder / "aligner.safetensors"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CorruptFileError(f"{folder} holds no saved aligner (aligner.json missing)") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise CorruptFileError(f"{meta_path} is not valid JSON ({e})") from None
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT or meta.get("class") not in ALIGNERS:
            raise CorruptFileError(f"{meta_path} is not an align aligner (class {meta.get('class')!r})")
        if not tensor_path.is_file() or sha256_file(tensor_path) != meta.get("sha256"):
            raise CorruptFileError(f"{tensor_path} is missing or does not match its checksum")
        cls = ALIGNERS[meta["class"]]
        obj = cls(**meta["params"])
        arrays = load_file(str(tensor_path))
        for name in cls._array_attrs:
            if name not in arrays:
                raise CorruptFileError(f"{tensor_path} lacks the array {name!r}")
            setattr(obj, name, arrays[name])
        for name, value in meta["state"].items():
            setattr(obj, name, value)
        obj._restore_extra(arrays)
        return obj

    def _extra_arrays(self) -> dict:
        return {}

    def _restore_extra(self, arrays: dict) -> None:
        pass


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
