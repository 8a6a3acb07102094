"""Method specs and the named-method registry: strings → fresh, unfitted estimators.

Two ways to name a method, used by the recipes (and open to the CLI):

- a **spec** ``"ClassName"`` or ``"ClassName(key=value,key=value)"`` of an unsupervised aligner
  registered in :data:`align.base.ALIGNERS`; ``;`` also separates parameters (handier on a shell's
  ``--set``). Values are parsed as JSON when they can be (``3``, ``0.5``, ``true``, ``null``),
  else kept as strings. :func:`parse_spec` checks it, :func:`build` makes the aligner.
- a **registered method** (:data:`METHODS`, :func:`register_method`): a name bound to a factory
  ``factory(seed, n_pairs, config, init=None)`` and the data it needs. The built-in entries are the
  supervised translators (``linear``, ``procrustes``, ``mlp``, ``mlp_ridge``, ``mlp_procrustes``)
  and ``refine`` (self-learning refinement from a seed dictionary).

:func:`get_method` resolves either form to a :class:`Method`. Importing this module registers every
aligner class (supervised, unsupervised and :class:`~align.unsupervised.restarts.RestartsAligner`)
in :data:`align.base.ALIGNERS`.

>>> from align.methods import build, parse_spec
>>> parse_spec("RestartsAligner(n_restarts=4;start=spectral)")
('RestartsAligner', {'n_restarts': 4, 'start': 'spectral'})
>>> aligner = build("RestartsAligner(n_restarts=4)", seed=0)
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Callable

from ._validate import parse_key_value
from .base import ALIGNERS, rename_params
from .exceptions import ValidationError
from .supervised import LinearTranslator, MLPTranslator, ProcrustesTranslator
from .unsupervised import SelfLearningRefiner
from .unsupervised.restarts import RestartsAligner  # noqa: F401  (registers it in ALIGNERS)

_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.S)


def unsupervised_aligners() -> list[str]:
    """Names of the registered unsupervised aligner classes, sorted.

    Returns
    -------
    list of str
        Keys of :data:`align.base.ALIGNERS` whose class has ``supervised = False``.
    """
    return sorted(n for n, c in ALIGNERS.items() if not getattr(c, "supervised", True))


def parse_spec(spec: str) -> tuple[str, dict]:
    """Parse an unsupervised-aligner spec ``"Name(a=1,b=x)"`` → ``("Name", {"a": 1, "b": "x"})``.

    Parameters
    ----------
    spec : str
        ``"ClassName"`` or ``"ClassName(key=value,...)"`` (``,`` or ``;`` between parameters).

    Returns
    -------
    name : str
        The class name, a key of :data:`align.base.ALIGNERS`.
    params : dict
        Keyword arguments, JSON-decoded where possible, else strings.

    Raises
    ------
    ValidationError
        If ``spec`` is not a non-empty string, does not parse, names no unsupervised aligner, has a
        part without ``=``, or sets a parameter the class does not take.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValidationError(f"a method spec must be a non-empty string like 'Name(key=value)'; got {spec!r}")
    m = _SPEC.match(spec)
    if m is None:
        raise ValidationError(f"cannot parse method spec {spec!r}; expected 'Name' or 'Name(key=value,...)'")
    name, body = m.group(1), m.group(2)
    cls = ALIGNERS.get(name)
    if cls is None or getattr(cls, "supervised", True):
        raise ValidationError(f"{name!r} is not an unsupervised aligner; available: "
                              f"{', '.join(unsupervised_aligners())}")
    params = {}
    for part in re.split(r"[,;]", body or ""):
        if not part.strip():
            continue
        key, value = parse_key_value(part.strip(), f"parameter {part!r} of {spec!r} must be key=value")
        params[key] = value
    allowed = inspect.signature(cls.__init__).parameters
    params = rename_params(params, allowed, name)
    unknown = [k for k in params if k not in allowed]
    if unknown:
        raise ValidationError(f"{name} has no parameter(s) {unknown}; it takes "
                              f"{', '.join(p for p in allowed if p != 'self')}")
    return name, params


def _seed_kwargs(cls, seed) -> dict:
    """``{"random_state": seed}`` if ``cls.__init__`` takes it, else ``{}``."""
    return {"random_state": seed} if "random_state" in inspect.signature(cls.__init__).parameters else {}


def build(spec: str, seed: int):
    """A fresh, unfitted aligner for ``spec`` with its seed set to ``seed``.

    Parameters
    ----------
    spec : str
        See :func:`parse_spec`.
    seed : int
        Passed as ``random_state`` (when the class takes one); it overrides a ``random_state`` given
        in the spec.

    Returns
    -------
    align.base.BaseAligner
        The aligner.

    Raises
    ------
    ValidationError
        If the spec is invalid (:func:`parse_spec`) or the class rejects the parameters.
    """
    name, params = parse_spec(spec)
    cls = ALIGNERS[name]
    params.update(_seed_kwargs(cls, seed))
    try:
        return cls(**params)
    except TypeError as exc:  # pragma: no cover - parse_spec checked the names
        raise ValidationError(f"cannot build {spec!r}: {exc}") from None


@dataclass(frozen=True)
class Method:
    """How to build an aligner for a study and what data it needs.

    Parameters
    ----------
    name : str
        The method's name in tables and configs.
    factory : callable
        ``factory(seed=int, n_pairs=int, config=Config, init=aligner | None) -> BaseAligner``.
    needs_pairs : bool, default True
        Supervised: ``fit(X_train[:n], Y_train[:n])`` at every point ``n`` of a learning curve.
        False: ``fit(X_pool, Y_pool)`` on unpaired pools (the "0 pairs" point).
    accepts_init : bool, default False
        Can start from a fitted aligner (the few-pair regime, config ``init_from``).
    uses_pools : bool, default False
        A few-pair method that also sees the unpaired pools:
        ``fit(X_all, Y_all, seed_pairs=...)``.
    description : str, default ""
        One line for reports.
    """

    name: str
    factory: Callable
    needs_pairs: bool = True
    accepts_init: bool = False
    uses_pools: bool = False
    description: str = ""


METHODS: dict = {}


def register_method(name: str, factory: Callable, *, needs_pairs: bool = True, accepts_init: bool = False,
                    uses_pools: bool = False, description: str = "") -> Method:
    """Add (or replace) a named method in :data:`METHODS`.

    Parameters
    ----------
    name : str
        Registry key.
    factory : callable
        See :class:`Method`.
    needs_pairs, accepts_init, uses_pools : bool
        See :class:`Method`.
    description : str, default ""
        One line for reports.

    Returns
    -------
    Method
        The registered entry.
    """
    METHODS[name] = Method(name, factory, needs_pairs, accepts_init, uses_pools, description)
    return METHODS[name]


def get_method(name: str) -> Method:
    """A registered method, or an unsupervised aligner by class name or spec.

    Parameters
    ----------
    name : str
        A key of :data:`METHODS`, an unsupervised class name of :data:`align.base.ALIGNERS`, or a
        spec ``"Name(key=value;...)"`` (:func:`parse_spec`). Unsupervised aligners get the run's
        seed as ``random_state`` (or ``seed``).

    Returns
    -------
    Method
        The entry (a fresh one, ``needs_pairs=False``, for an aligner class or spec).

    Raises
    ------
    ValidationError
        If ``name`` is none of these, or a spec is invalid.
    """
    if name in METHODS:
        return METHODS[name]
    if "(" in name:
        parse_spec(name)
        return Method(name, lambda seed, n_pairs, config, init=None: build(name, seed), needs_pairs=False,
                      description=f"{name} (unsupervised)")
    cls = ALIGNERS.get(name)
    if cls is not None and not getattr(cls, "supervised", True):
        return Method(name, _class_factory(cls), needs_pairs=False, description=f"{name} (unsupervised)")
    raise ValidationError(f"unknown method {name!r}; registered: {', '.join(sorted(METHODS))}; "
                          f"unsupervised aligners: {', '.join(unsupervised_aligners()) or 'none'}")


def _class_factory(cls):
    def factory(seed, n_pairs, config, init=None):
        return cls(**_seed_kwargs(cls, seed))
    return factory


# --------------------------------------------------------------------------- built-in entries
# ``config`` is the recipe's config (duck-typed: the mlp_* fields, threads, refine_iters, csls_k).
def _linear(seed, n_pairs, config, init=None):
    return LinearTranslator()


def _procrustes(seed, n_pairs, config, init=None):
    return ProcrustesTranslator()


def _mlp(seed, n_pairs, config, init=None, skip=None):
    return MLPTranslator(hidden=config.mlp_hidden, depth=config.mlp_depth, loss=config.mlp_loss,
                         epochs=config.mlp_epochs, patience=config.mlp_patience, lr=config.mlp_lr,
                         init=init if init is not None else skip, random_state=seed, threads=config.threads or None)


def _mlp_ridge(seed, n_pairs, config, init=None):
    return _mlp(seed, n_pairs, config, init, skip="ridge")


def _mlp_procrustes(seed, n_pairs, config, init=None):
    return _mlp(seed, n_pairs, config, init, skip="procrustes")


def _refine(seed, n_pairs, config, init=None):
    return SelfLearningRefiner(n_iter=config.refine_iters, csls_k=config.csls_k)


def _anchors(seed, n_pairs, config, init=None):
    return SelfLearningRefiner(n_iter=getattr(config, "anchor_iters", 30), csls_k=config.csls_k, start="relative",
                               random_state=seed)


register_method("linear", _linear, description="ridge regression, LOO-chosen penalty")
register_method("procrustes", _procrustes, description="orthogonal Procrustes with centring")
register_method("mlp", _mlp, accepts_init=True, description="residual MLP, random init")
register_method("mlp_ridge", _mlp_ridge, accepts_init=True,
                description="residual MLP whose linear skip starts at the ridge solution")
register_method("mlp_procrustes", _mlp_procrustes, accepts_init=True,
                description="residual MLP whose linear skip starts at the Procrustes solution")
register_method("refine", _refine, uses_pools=True,
                description="self-learning CSLS refinement from the pairs as seed dictionary, on the pools")
register_method("anchors", _anchors, uses_pools=True,
                description="the pairs as relative-representation anchors → pseudo-pairs → Procrustes → "
                            "self-learning refinement, on the pools (Moschella et al. 2023)")

__all__ = ["Method", "METHODS", "build", "get_method", "parse_spec", "register_method", "unsupervised_aligners"]
