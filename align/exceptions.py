"""Errors raised by ``align``.

Every error the library raises on purpose derives from :class:`AlignError`, so callers can catch
one type. Messages say what was expected and what came.
"""


class AlignError(Exception):
    """Base class of every error raised by ``align``."""


class ShapeError(AlignError, ValueError):
    """An array has the wrong number of dimensions, rows or columns."""


class ValidationError(AlignError, ValueError):
    """An input value is invalid (NaN, inf, empty, unknown option...)."""


class NotFittedError(AlignError, AttributeError):
    """An estimator was used before ``fit``."""


class ModelNotAvailableError(AlignError, LookupError):
    """An encoder name is unknown, or its package is not installed."""


class DataNotAvailableError(AlignError, LookupError):
    """A corpus or dictionary is not installed on this machine."""


class CorruptFileError(AlignError, OSError):
    """A file is missing, truncated, tampered with, or not of the expected kind."""


class DegenerateFitWarning(UserWarning):
    """A fit that ran but can hardly mean anything (e.g. one pair for a 384-d Procrustes map)."""
