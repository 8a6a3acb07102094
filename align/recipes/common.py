"""Shared recipe plumbing: ``--set key=value`` overrides, corpus loading, timing, thread caps."""
from __future__ import annotations

import dataclasses
import time
import typing
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

from .. import corpora
from .._validate import parse_key_value
from ..exceptions import ValidationError
from ..supervised.mlp import torch_threads


def apply_overrides(config, overrides) -> object:
    """Return a copy of dataclass ``config`` with ``["key=value", ...]`` applied.

    Values are parsed as JSON when possible (``3``, ``0.5``, ``true``, ``[1, 2]``), else kept as strings,
    then checked against the field's type.

    Parameters
    ----------
    config : dataclass instance
        A recipe's ``Config``.
    overrides : iterable of str or None
        ``"key=value"`` items.

    Returns
    -------
    dataclass instance
        A new config; ``config`` is not changed.

    Raises
    ------
    ValidationError
        For an item without ``=``, an unknown key, or a value of the wrong type.
    """
    fields = {f.name: f for f in dataclasses.fields(config)}
    hints = typing.get_type_hints(type(config))
    changes = {}
    for item in overrides or ():
        key, value = parse_key_value(item, f"--set expects key=value; got {item!r}")
        if key not in fields:
            raise ValidationError(f"unknown config key {key!r}; valid keys: {', '.join(fields)}")
        changes[key] = _coerce(value, hints[key], key)
    return dataclasses.replace(config, **changes)


def _coerce(value, hint, key):
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint in (int, str, bool) and isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
        return value
    if hint is str:
        return str(value)
    if origin in (list, tuple) and isinstance(value, list):
        return tuple(value) if origin is tuple else value
    if origin in (list, tuple) and isinstance(value, str):
        body = value[1:-1] if value.startswith("[") and value.endswith("]") else value  # [a,b] without JSON quotes
        parts = [p.strip() for p in body.split(",") if p.strip()]
        return tuple(parts) if origin is tuple else parts
    raise ValidationError(f"config key {key!r} expects {getattr(hint, '__name__', hint)}; got {value!r}")


def load_corpus(name: str):
    """A packaged corpus by name.

    Parameters
    ----------
    name : {"kjv", "wordnet"}
        ``"kjv"`` (default, pip-only) or ``"wordnet"`` (needs Debian's wordnet-base).

    Returns
    -------
    align.corpora.Corpus
        Its ids, texts and labels.

    Raises
    ------
    ValidationError
        For another name.
    DataNotAvailableError
        If the corpus is not installed.
    """
    if name == "kjv":
        return corpora.kjv()
    if name == "wordnet":
        return corpora.wordnet_glosses()
    raise ValidationError(f"unknown corpus {name!r}; use 'kjv' or 'wordnet'")


@contextmanager
def timer(store: dict, key: str, *, cpu: bool = False):
    """Record the wall time of the block in ``store[key]`` (seconds, 3 decimals).

    Parameters
    ----------
    store : dict
        Where the timings go (a run's ``timings``).
    key : str
        Key of the wall time, by convention ending in ``_s`` (e.g. ``"stats_s"``).
    cpu : bool, default False
        Also record this process's CPU time under ``key`` with ``_s`` replaced by ``_cpu_s``
        (``"embed_s"`` → ``"embed_cpu_s"``): on a shared host wall time alone misleads.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    yield
    store[key] = round(time.perf_counter() - t0, 3)
    if cpu:
        store[key.removesuffix("_s") + "_cpu_s"] = round(time.process_time() - c0, 3)


@contextmanager
def limit_threads(n: int):
    """Cap BLAS/OpenMP (threadpoolctl) and torch CPU threads at ``n`` inside the block.

    Parameters
    ----------
    n : int
        Thread cap; 0 leaves both unchanged.
    """
    if not n:
        yield
        return
    with torch_threads(n), threadpool_limits(limits=n):
        yield
