"""The translator registry of the paired-vs-unpaired study.

A :class:`Method` says how to build an aligner and what data it needs:

- ``needs_pairs=True`` (supervised): ``fit(X_train[:n], Y_train[:n])`` at every point ``n`` of the
  learning curve.
- ``needs_pairs=False`` (unsupervised): ``fit(X_pool, Y_pool)`` once per seed on *unpaired* pools
  (source vectors of the training strings, target vectors of disjoint strings); reported as the
  "0 pairs" point of the curve. Such a fitted aligner can also initialise the methods with
  ``accepts_init=True`` (config ``init_from``), the few-pair regime.
- ``uses_pools=True``: a few-pair method that also sees the unpaired pools (e.g. self-learning
  refinement from a seed dictionary): ``fit(X_all, Y_all, seed_pairs=...)``.

Any aligner class registered with :func:`align.base.register_aligner` whose ``supervised`` is False
joins by its class name (its ``seed``/``random_state`` parameter gets the run's seed), so the
unsupervised aligners of ``align.unsupervised`` need no code here; ``"Name(key=value;...)"`` sets
their parameters (the spec syntax of :mod:`align.recipes.unshared_methods`).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable

from ..base import ALIGNERS
from ..exceptions import ValidationError


@dataclass(frozen=True)
class Method:
    name: str
    factory: Callable  # factory(seed=int, n_pairs=int, config=Config, init=aligner|None) -> BaseAligner
    needs_pairs: bool = True
    accepts_init: bool = False
    uses_pools: bool = False
    description: str = ""


METHODS: dict = {}


def register_method(name: str, factory: Callable, *, needs_pairs: bool = True, accepts_init: bool = False,
                    uses_pools: bool = False, description: str = "") -> Method:
    """Add (or replace) a method of the study; returns it."""
    METHODS[name] = Method(name, factory, needs_pairs, accepts_init, uses_pools, description)
    return METHODS[name]


def get_method(name: str) -> Method:
    """A registered method, or an unsupervised aligner class from ``align.base.ALIGNERS`` by name."""
    if name in METHODS:
        return METHODS[name]
    import align.unsupervised  # noqa: F401  (registers the unsupervised aligners)
    from ..unsupervised import restarts  # noqa: F401  (RestartsAligner, not exported by the package)
    if "(" in name:  # "Name(key=value;...)": an unsupervised aligner with parameters
        from .unshared_methods import build, parse_spec
        parse_spec(name)
        return Method(name, lambda seed, n_pairs, config, init=None: build(name, seed), needs_pairs=False,
                      description=f"{name} (unsupervised)")
    cls = ALIGNERS.get(name)
    if cls is not None and not getattr(cls, "supervised", True):
        return Method(name, _class_factory(cls), needs_pairs=False, description=f"{name} (unsupervised)")
    unsup = sorted(n for n, c in ALIGNERS.items() if not getattr(c, "supervised", True))
    raise ValidationError(f"unknown method {name!r}; registered: {', '.join(sorted(METHODS))}; "
                          f"unsupervised aligners: {', '.join(unsup) or 'none'}")


def _class_factory(cls):
    params = inspect.signature(cls.__init__).parameters

    def factory(seed, n_pairs, config, init=None):
        kwargs = {}
        for key in ("seed", "random_state"):
            if key in params:
                kwargs[key] = seed
        return cls(**kwargs)
    return factory


# --------------------------------------------------------------------------- built-in entries
def _linear(seed, n_pairs, config, init=None):
    from ..supervised import LinearTranslator
    return LinearTranslator()


def _procrustes(seed, n_pairs, config, init=None):
    from ..supervised import ProcrustesTranslator
    return ProcrustesTranslator()


def _mlp(seed, n_pairs, config, init=None, skip=None):
    from ..supervised import MLPTranslator
    return MLPTranslator(hidden=config.mlp_hidden, depth=config.mlp_depth, loss=config.mlp_loss,
                         epochs=config.mlp_epochs, patience=config.mlp_patience, lr=config.mlp_lr,
                         init=init if init is not None else skip, seed=seed, threads=config.threads or None)


def _mlp_ridge(seed, n_pairs, config, init=None):
    return _mlp(seed, n_pairs, config, init, skip="ridge")


def _mlp_procrustes(seed, n_pairs, config, init=None):
    return _mlp(seed, n_pairs, config, init, skip="procrustes")


def _refine(seed, n_pairs, config, init=None):
    from ..unsupervised import SelfLearningRefiner
    return SelfLearningRefiner(n_iter=config.refine_iters, csls_k=config.csls_k)


register_method("linear", _linear, description="ridge regression, LOO-chosen penalty")
register_method("procrustes", _procrustes, description="orthogonal Procrustes with centring")
register_method("mlp", _mlp, accepts_init=True, description="residual MLP, random init")
register_method("mlp_ridge", _mlp_ridge, accepts_init=True,
                description="residual MLP whose linear skip starts at the ridge solution")
register_method("mlp_procrustes", _mlp_procrustes, accepts_init=True,
                description="residual MLP whose linear skip starts at the Procrustes solution")
register_method("refine", _refine, uses_pools=True,
                description="self-learning CSLS refinement from the pairs as seed dictionary, on the pools")
