"""Declarative parameter constraints, checked once at the start of ``fit`` (as scikit-learn's
``_parameter_constraints``, written here so align depends on no private scikit-learn API).

Each estimator class declares ``_parameter_constraints = {name: [constraint, ...]}``; a value is
valid when it satisfies any constraint of its list. A constraint is one of:

- :class:`Interval` — a number of a given kind in a range (``Interval(int, 1, None)``,
  ``Interval(float, 0, 1, closed="right")``); real intervals reject NaN and ±inf;
- :class:`StrOptions` / :class:`Options` — one of a fixed set of values;
- :class:`HasMethods` — an object with the named methods (e.g. an aligner given as ``init``);
- :class:`Check` — any predicate with a description (it may also raise ValidationError);
- ``"boolean"`` (``bool`` or ``numpy.bool_``), ``"random_state"`` (None or an int ≥ 0),
  ``None`` (the value None), or a class (``isinstance``).

:func:`validate_params` raises :class:`~align.exceptions.ValidationError` naming the parameter,
what was expected and what came.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .exceptions import ValidationError

_CLOSED = ("both", "left", "right", "neither")


class Interval:
    """A number of kind ``type`` (``int``: integers, ``float``: any real) in ``[left, right]``.

    Parameters
    ----------
    type : {int, float}
        ``int`` accepts Python and NumPy integers (not bool); ``float`` accepts any finite real
        number, integers included (not bool).
    left, right : float or None
        Bounds; None means unbounded on that side.
    closed : {"both", "left", "right", "neither"}, default "both"
        Which bounds belong to the interval.
    """

    def __init__(self, type, left, right, *, closed: str = "both"):
        if type not in (int, float) or closed not in _CLOSED:
            raise ValueError(f"Interval needs type int or float and closed in {_CLOSED}")
        self.type, self.left, self.right, self.closed = type, left, right, closed

    def is_satisfied_by(self, value) -> bool:
        """True when ``value`` is a number of this kind inside the interval."""
        if isinstance(value, (bool, np.bool_)):
            return False
        kind = numbers.Integral if self.type is int else numbers.Real
        if not isinstance(value, kind) or (self.type is float and not math.isfinite(value)):
            return False
        lo_ok = self.left is None or (value >= self.left if self.closed in ("both", "left") else value > self.left)
        hi_ok = self.right is None or (value <= self.right if self.closed in ("both", "right") else value < self.right)
        return bool(lo_ok and hi_ok)

    def __str__(self) -> str:
        kind = "an integer" if self.type is int else "a finite number"
        if self.right is None and self.left is not None:
            return f"{kind} {'>=' if self.closed in ('both', 'left') else '>'} {self.left}"
        if self.left is None and self.right is not None:
            return f"{kind} {'<=' if self.closed in ('both', 'right') else '<'} {self.right}"
        if self.left is None:
            return kind
        lb = "[" if self.closed in ("both", "left") else "("
        rb = "]" if self.closed in ("both", "right") else ")"
        return f"{kind} in {lb}{self.left}, {self.right}{rb}"


class Options:
    """One of a fixed set of values of a given type.

    Parameters
    ----------
    type : type
        The values' type (``isinstance``).
    options : set
        The allowed values.
    """

    def __init__(self, type, options):
        self.type, self.options = type, set(options)

    def is_satisfied_by(self, value) -> bool:
        """True when ``value`` has the type and is one of the options."""
        return isinstance(value, self.type) and value in self.options

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(o) for o in sorted(self.options, key=str))


class StrOptions(Options):
    """One of a fixed set of strings.

    Parameters
    ----------
    options : set of str
        The allowed strings.
    """

    def __init__(self, options):
        super().__init__(str, options)


class HasMethods:
    """An object with all of the named methods (duck typing, e.g. an aligner with ``transform``).

    Parameters
    ----------
    methods : str or list of str
        Method names the value must have.
    """

    def __init__(self, methods):
        self.methods = [methods] if isinstance(methods, str) else list(methods)

    def is_satisfied_by(self, value) -> bool:
        """True when ``value`` (not a string) has every method."""
        return not isinstance(value, (str, bytes)) and all(callable(getattr(value, m, None)) for m in self.methods)

    def __str__(self) -> str:
        return "an object with " + ", ".join(f"{m}()" for m in self.methods)


class Check:
    """Any predicate ``fn(value) -> bool`` with a description; ``fn`` may raise ValidationError,
    whose message is then quoted in the error.

    Parameters
    ----------
    fn : callable
        The predicate.
    description : str
        What a valid value is, e.g. ``"a non-empty list of positive numbers"``.
    """

    def __init__(self, fn, description: str):
        self.fn, self.description, self.reason = fn, description, None

    def is_satisfied_by(self, value) -> bool:
        """``fn(value)``; a ValidationError it raises counts as False and its message is kept."""
        self.reason = None
        try:
            return bool(self.fn(value))
        except ValidationError as e:
            self.reason = str(e)
            return False

    def __str__(self) -> str:
        return self.description


class _Boolean:
    def is_satisfied_by(self, value) -> bool:
        return isinstance(value, (bool, np.bool_))

    def __str__(self) -> str:
        return "a boolean"


class _RandomState:
    def is_satisfied_by(self, value) -> bool:
        return value is None or Interval(int, 0, None).is_satisfied_by(value)

    def __str__(self) -> str:
        return "None or an integer >= 0 (a seed)"


class _NoneConstraint:
    def is_satisfied_by(self, value) -> bool:
        return value is None

    def __str__(self) -> str:
        return "None"


class _InstanceOf:
    def __init__(self, cls):
        self.cls = cls

    def is_satisfied_by(self, value) -> bool:
        return isinstance(value, self.cls)

    def __str__(self) -> str:
        return f"an instance of {self.cls.__name__}"


def make_constraint(spec):
    """Turn one constraint spec (see the module docstring) into an object with ``is_satisfied_by``.

    Parameters
    ----------
    spec : object
        An Interval/Options/HasMethods/Check, ``"boolean"``, ``"random_state"``, None or a class.

    Returns
    -------
    object
        The constraint.

    Raises
    ------
    ValueError
        For an unknown spec (a programming error in a class's declaration).
    """
    if spec is None:
        return _NoneConstraint()
    if spec == "boolean":
        return _Boolean()
    if spec == "random_state":
        return _RandomState()
    if isinstance(spec, type):
        return _InstanceOf(spec)
    if hasattr(spec, "is_satisfied_by"):
        return spec
    raise ValueError(f"unknown parameter constraint {spec!r}")


def validate_params(constraints: dict, params: dict, owner: str = "") -> None:
    """Check every parameter in ``params`` against its list of constraints.

    Parameters
    ----------
    constraints : dict
        ``{name: [constraint spec, ...]}``; a value is valid when any constraint holds. A parameter
        without an entry is not checked (as in scikit-learn; the tests check that every registered
        aligner declares all of its parameters).
    params : dict
        ``{name: value}``.
    owner : str, optional
        The estimator's name, for the message.

    Raises
    ------
    ValidationError
        ``"<owner>: <name> must be <expected>; got <value>"`` for the first invalid parameter.
    """
    for name, value in params.items():
        if name not in constraints:
            continue
        specs = constraints[name]
        specs = specs if isinstance(specs, (list, tuple)) else [specs]
        checks = [make_constraint(s) for s in specs]
        if any(c.is_satisfied_by(value) for c in checks):
            continue
        expected = " or ".join(str(c) for c in checks)
        reasons = [c.reason for c in checks if getattr(c, "reason", None)]
        where = f"{owner}: " if owner else ""
        extra = f" ({'; '.join(reasons)})" if reasons else ""
        raise ValidationError(f"{where}{name} must be {expected}; got {value!r}{extra}")
