"""The similarity-metric registry: metric names → functions ``(X, Y, **params) -> float``.

Its own module so that both :mod:`align.metrics.similarity` (the public face) and
:mod:`align.metrics.similarity_scorers` (the fast re-pairing scorers) read it without importing
each other.
"""
from __future__ import annotations

from ..exceptions import ValidationError
from .similarity_global import cka, rsa, svcca, unbiased_cka
from .similarity_knn import cknna, cycle_knn, mutual_knn

SIMILARITY = {
    "mutual_knn": mutual_knn,
    "cycle_knn": cycle_knn,
    "cka": cka,
    "unbiased_cka": unbiased_cka,
    "cknna": cknna,
    "svcca": svcca,
    "rsa": rsa,
}


def metric_name(metric) -> str:
    """Registered name of ``metric``.

    Parameters
    ----------
    metric : str or callable
        A name in :data:`SIMILARITY`, one of the registered functions, or any callable
        ``(X, Y, **params) -> float``.

    Returns
    -------
    str
        The registry name; for an unregistered callable its ``__name__`` (``"metric"`` if none).

    Raises
    ------
    ValidationError
        If ``metric`` is an unknown name or neither a string nor a callable.
    """
    if isinstance(metric, str):
        if metric not in SIMILARITY:
            raise ValidationError(f"unknown similarity metric {metric!r}; available: {', '.join(SIMILARITY)}")
        return metric
    for name, fn in SIMILARITY.items():
        if fn is metric:
            return name
    if not callable(metric):
        raise ValidationError(f"metric must be a name in SIMILARITY or a callable; got {type(metric).__name__}")
    return getattr(metric, "__name__", "metric")


__all__ = ["SIMILARITY", "metric_name"]
