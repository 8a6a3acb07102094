"""Estimator base class and the aligner registry.

Conventions (scikit-learn): ``__init__`` only stores keyword-only parameters; ``fit`` validates and
learns attributes ending in ``_``; ``transform`` maps source → target space; using an unfitted
estimator raises :class:`NotFittedError`. Persistence writes a folder with ``aligner.json``
(class, parameters, scalar state, checksum) and ``aligner.safetensors`` (array state) — no pickle.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import json
import warnings
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

from ._params import validate_params
from ._validate import check_matrix, check_output_folder
from .exceptions import CorruptFileError, DegenerateFitWarning, NotFittedError, ShapeError, ValidationError
from .io import atomic_write, atomic_write_json, sha256_file

_FORMAT = "align.Aligner"

#: Parameter names accepted for one release with a DeprecationWarning: old → scikit-learn-style new.
RENAMED_PARAMS = {"seed": "random_state", "refine_iter": "n_refine"}
#: Class names of saved files written before a rename: old → registered name.
RENAMED_CLASSES = {"WassersteinProcrustes": "WassersteinProcrustesAligner"}


class _Registry(dict):
    """Name → class; lookups (``[]``, ``get``, ``in``) also resolve the old names of
    :data:`RENAMED_CLASSES`, iteration lists only the current names."""

    def __missing__(self, key):
        if key in RENAMED_CLASSES:
            return self[RENAMED_CLASSES[key]]
        raise KeyError(key)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def __contains__(self, key):
        return dict.__contains__(self, key) or dict.__contains__(self, RENAMED_CLASSES.get(key, None))


#: Every registered aligner class by name (old names of renamed classes resolve too).
ALIGNERS: dict = _Registry()


def register_aligner(cls):
    """Class decorator: make ``cls`` loadable by name and listed in ``ALIGNERS``.

    Parameters
    ----------
    cls : type
        A :class:`BaseAligner` subclass.

    Returns
    -------
    type
        ``cls`` itself.
    """
    ALIGNERS[cls.__name__] = cls
    return cls


def rename_params(params: dict, accepted, owner: str, *, warn: bool = True) -> dict:
    """Map deprecated parameter names (:data:`RENAMED_PARAMS`) in ``params`` to their new names.

    Parameters
    ----------
    params : dict
        Keyword arguments as given.
    accepted : collection of str
        The parameter names the estimator has; an old name is mapped only when its new name is
        among them and the old one is not.
    owner : str
        Estimator name, for messages.
    warn : bool, default True
        Emit a DeprecationWarning per old name (False when loading old saved files).

    Returns
    -------
    dict
        A new dict with the new names.

    Raises
    ------
    ValidationError
        When both the old and the new name are given.
    """
    out = dict(params)
    for old, new in RENAMED_PARAMS.items():
        if old in out and new in accepted and old not in accepted:
            if new in out:
                raise ValidationError(f"{owner} got both {old}= and {new}=; pass only {new}= "
                                      f"({old}= is its deprecated name)")
            if warn:
                warnings.warn(f"{owner}: {old}= is deprecated and will be removed in the next release; "
                              f"use {new}=", DeprecationWarning, stacklevel=3)
            out[new] = out.pop(old)
    return out


def _accept_renamed(init):
    """Wrap a subclass ``__init__`` so the deprecated names of :data:`RENAMED_PARAMS` still work."""
    accepted = set(inspect.signature(init).parameters)

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        init(self, *args, **rename_params(kwargs, accepted, type(self).__name__))
    return __init__


class BaseAligner:
    """Common machinery: parameters, their validation, fitted checks, input checks, save/load.

    Subclasses store their keyword-only ``__init__`` parameters unchanged, declare
    ``_parameter_constraints`` (see :mod:`align._params`) and call :meth:`_validate_params` first
    thing in ``fit``. They list array state in ``_array_attrs`` and scalar/JSON state in
    ``_json_attrs``. The deprecated names ``seed=`` and ``refine_iter=`` are accepted by every
    subclass for one release (DeprecationWarning) and mapped to ``random_state`` / ``n_refine``.

    Attributes
    ----------
    supervised : bool
        True when ``fit(X, Y)`` needs paired rows.
    """

    _array_attrs: tuple = ()
    _json_attrs: tuple = ("n_features_in_", "n_features_out_")
    _parameter_constraints: dict = {}
    supervised: bool = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _accept_renamed(cls.__dict__["__init__"])

    # ------------------------------------------------------------------ params
    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind == p.KEYWORD_ONLY]

    def get_params(self, deep: bool = False) -> dict:
        """The ``__init__`` parameters as ``{name: value}``.

        Parameters
        ----------
        deep : bool, default False
            Kept for scikit-learn compatibility (no nested estimators are expanded).

        Returns
        -------
        dict
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def __getattr__(self, name):
        # only reached when normal lookup fails: reading a deprecated name (``model.seed``) still works
        new = RENAMED_PARAMS.get(name)
        if new is not None and new in type(self)._param_names():
            warnings.warn(f"{type(self).__name__}.{name} is deprecated; read .{new}", DeprecationWarning,
                          stacklevel=2)
            return getattr(self, new)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _validate_params(self) -> None:
        """Check every parameter against ``_parameter_constraints``; raises ValidationError."""
        params = {name: getattr(self, name) for name in self._param_names()}
        validate_params(type(self)._parameter_constraints, params, type(self).__name__)

    def set_params(self, **params):
        """Set parameters by name (deprecated names are mapped with a warning); returns self.

        Raises
        ------
        ValidationError
            For a name the estimator does not have.
        """
        valid = set(self._param_names())
        params = rename_params(params, valid, type(self).__name__)
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
        """True once ``fit`` has succeeded (``n_features_in_`` is set)."""
        return hasattr(self, "n_features_in_")

    def _check_fitted(self):
        if not self.is_fitted:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(X, Y) first")

    def _check_fit_inputs(self, X, Y):
        X = check_matrix(X, "X", allow_torch=False)
        Y = check_matrix(Y, "Y", allow_torch=False)
        if self.supervised and X.shape[0] != Y.shape[0]:
            raise ShapeError(f"supervised fit needs paired rows: X has {X.shape[0]} rows but Y has {Y.shape[0]}")
        if self.supervised and X.shape[0] < 3 and max(X.shape[1], Y.shape[1]) > 2:
            warnings.warn(f"{type(self).__name__}: {X.shape[0]} pair(s) for a {X.shape[1]} → {Y.shape[1]}-d map "
                          "determine at most one direction of it; expect chance-level translations",
                          DegenerateFitWarning, stacklevel=3)
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
        folder = check_output_folder(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {name: np.ascontiguousarray(getattr(self, name)) for name in self._array_attrs}
        arrays.update(self._extra_arrays())
        tensor_path = folder / "aligner.safetensors"
        atomic_write(tensor_path, lambda tmp: save_file(arrays, tmp), ".safetensors")
        state = {name: _jsonable(getattr(self, name)) for name in self._json_attrs if hasattr(self, name)}
        atomic_write_json(folder / "aligner.json", {
            "format": _FORMAT, "class": type(self).__name__, "module": type(self).__module__,
            "params": _jsonable(self.get_params()),
            "state": state, "sha256": sha256_file(tensor_path)})
        return folder

    @staticmethod
    def load(folder) -> "BaseAligner":
        """Rebuild an aligner saved by :meth:`save`; raises CorruptFileError on any mismatch.

        Files written before a rename still load: an old class name (:data:`RENAMED_CLASSES`) and
        old parameter names (:data:`RENAMED_PARAMS`, e.g. ``"seed"``) are mapped to the new ones.
        """
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise CorruptFileError(f"{folder} is a file, not a saved aligner (a folder with aligner.json, "
                                   "as `align fit --out` and `save()` write)")
        meta_path, tensor_path = folder / "aligner.json", folder / "aligner.safetensors"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CorruptFileError(f"{folder} holds no saved aligner (aligner.json missing)") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise CorruptFileError(f"{meta_path} is not valid JSON ({e})") from None
        if isinstance(meta, dict) and meta.get("class") in RENAMED_CLASSES:
            meta["class"] = RENAMED_CLASSES[meta["class"]]
        if isinstance(meta, dict) and meta.get("format") == _FORMAT and meta.get("class") not in ALIGNERS:
            _import_defining_module(meta)
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT or meta.get("class") not in ALIGNERS:
            raise CorruptFileError(f"{meta_path} is not an align aligner (class {meta.get('class')!r})")
        if not tensor_path.is_file() or sha256_file(tensor_path) != meta.get("sha256"):
            raise CorruptFileError(f"{tensor_path} is missing or does not match its checksum")
        cls = ALIGNERS[meta["class"]]
        params = rename_params(meta.get("params") or {}, set(cls._param_names()), cls.__name__, warn=False)
        obj = cls(**params)
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


def _import_defining_module(meta: dict) -> None:
    """Register the class a saved aligner names by importing the module that defines it.

    A fresh process that calls :meth:`BaseAligner.load` has not imported ``align.supervised`` or
    ``align.unsupervised`` yet, so their classes are not in :data:`ALIGNERS`. The file records the
    class's module (files from before that record nothing: every align aligner is registered by
    :mod:`align.methods`). Only modules of the ``align`` package are imported this way; a user's own
    aligner class must be imported before loading.
    """
    module = meta.get("module") or "align.methods"
    if isinstance(module, str) and (module == "align" or module.startswith("align.")):
        try:
            importlib.import_module(module)
        except ImportError:
            pass  # load() reports the unknown class below

