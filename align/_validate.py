"""Input checks shared by the public functions: one place that turns bad arrays into clear errors."""
from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

from .exceptions import ShapeError, ValidationError


def is_torch(x) -> bool:
    """Whether ``x`` is a torch tensor, without importing torch.

    Parameters
    ----------
    x : object
        Any value.

    Returns
    -------
    bool
        True for a ``torch.Tensor``; a process that has not imported torch holds none, so this
        module stays importable without torch.
    """
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def check_matrix(x, name: str = "X", *, min_rows: int = 1, allow_torch: bool = True,
                 dtype=np.float32):
    """Validate a 2-D finite matrix.

    Returns a NumPy array of ``dtype`` (or a floating torch tensor, left on its device, when
    ``allow_torch`` and the input is a tensor). Raises :class:`ShapeError` for a wrong rank or too
    few rows/columns and :class:`ValidationError` for NaN/inf or a non-numeric input.
    """
    if is_torch(x):
        if not allow_torch:
            x = x.detach().cpu().numpy()
        else:
            if x.ndim != 2:
                raise ShapeError(f"{name} must be a 2-D matrix (n, d); got shape {tuple(x.shape)}")
            if not x.is_floating_point():
                x = x.float()
            _check_size(tuple(x.shape), name, min_rows)
            if not bool(x.isfinite().all()):
                raise ValidationError(f"{name} contains NaN or inf values")
            return x
    try:
        arr = np.asarray(x)
    except Exception as e:  # ragged lists and the like
        raise ValidationError(f"{name} could not be read as a numeric matrix: {e}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValidationError(f"{name} must be numeric; got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ShapeError(f"{name} must be a 2-D matrix (n, d); got shape {arr.shape}")
    _check_size(arr.shape, name, min_rows)
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if not np.isfinite(arr).all():
        raise ValidationError(f"{name} contains NaN or inf values")
    return arr


def _check_size(shape, name, min_rows):
    if shape[0] < min_rows:
        raise ShapeError(f"{name} needs at least {min_rows} row(s); got {shape[0]}")
    if shape[1] < 1:
        raise ShapeError(f"{name} has no columns (shape {shape})")


def check_paired(X, Y, names=("X", "Y")):
    """Check that ``X`` and ``Y`` have the same number of rows (row i of X pairs with row i of Y).

    Parameters
    ----------
    X, Y : array-like or torch.Tensor
        Matrices with a ``shape``.
    names : tuple of str, default ("X", "Y")
        Their names in the message.

    Raises
    ------
    ShapeError
        If the row counts differ.
    """
    if X.shape[0] != Y.shape[0]:
        raise ShapeError(
            f"{names[0]} and {names[1]} must have the same number of rows (paired); "
            f"got {X.shape[0]} and {Y.shape[0]}")


def check_positive_int(value, name: str, *, minimum: int = 1) -> int:
    """An integer ``>= minimum`` (bool is refused).

    Parameters
    ----------
    value : object
        The value to check.
    name : str
        Its name in the message.
    minimum : int, default 1
        Smallest accepted value.

    Returns
    -------
    int
        ``int(value)``.

    Raises
    ------
    ValidationError
        If ``value`` is not an integer or is below ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValidationError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValidationError(f"{name} must be >= {minimum}; got {value}")
    return int(value)


def check_choice(value, name: str, choices):
    """``value`` if it is one of ``choices``.

    Parameters
    ----------
    value : object
        The value to check.
    name : str
        Its name in the message.
    choices : collection
        Accepted values.

    Returns
    -------
    object
        ``value`` unchanged.

    Raises
    ------
    ValidationError
        If ``value`` is not in ``choices``.
    """
    if value not in choices:
        raise ValidationError(f"{name} must be one of {sorted(choices)}; got {value!r}")
    return value


def check_texts(texts, name: str = "texts") -> list[str]:
    """A non-empty list of strings.

    Parameters
    ----------
    texts : iterable of str
        The texts (a single string is refused).
    name : str, default "texts"
        Its name in the message.

    Returns
    -------
    list of str
        ``list(texts)``.

    Raises
    ------
    ValidationError
        For a single string, a non-iterable, an empty input or a non-string item.
    """
    if isinstance(texts, str):
        raise ValidationError(f"{name} must be a list of strings, not a single string")
    try:
        texts = list(texts)
    except TypeError:
        raise ValidationError(f"{name} must be a list of strings; got {type(texts).__name__}") from None
    if not texts:
        raise ValidationError(f"{name} is empty")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise ValidationError(
            f"{name} must contain only strings; item {bad[0]} is {type(texts[bad[0]]).__name__}")
    for i, t in enumerate(texts):
        try:
            t.encode("utf-8")
        except UnicodeEncodeError as e:
            raise ValidationError(f"{name}[{i}] is not valid Unicode text ({e.reason} at position {e.start}: "
                                  f"{t[max(0, e.start - 10):e.start]!r}…); fix or drop it") from None
    return texts


_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def check_device(device, name: str = "device") -> str:
    """Validate a device name without importing torch.

    Parameters
    ----------
    device : str or torch.device
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
    name : str, default "device"
        Its name in the message.

    Returns
    -------
    str

    Raises
    ------
    ValidationError
        For any other value (e.g. ``"tpu"``).
    """
    text = str(device)
    if not _DEVICE.match(text):
        raise ValidationError(f"{name} must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'; got {device!r}")
    return text


def resolve_device(device: str = "auto") -> str:
    """``"auto"`` → ``"cuda"`` when a GPU is visible, else ``"cpu"``; other valid names pass through.

    Raises ValidationError for an unknown name (``"tpu"``) or a CUDA/MPS device this machine lacks.
    """
    device = check_device(device)
    if device == "cpu":
        return device
    import torch  # lazy: this ground-floor module (and the encoder registry) stays torch-free
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValidationError(f"device={device!r} but no CUDA GPU is visible here; use 'auto' or 'cpu'")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ValidationError("device='mps' but this machine has no MPS backend; use 'auto' or 'cpu'")
    return device


def check_output_folder(folder, name: str = "output folder"):
    """Refuse an output folder path that is an existing file (before any work is done).

    Parameters
    ----------
    folder : str or Path
    name : str, default "output folder"

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValidationError
        When ``folder`` (or one of its parents) exists as a file.
    """
    folder = Path(folder)
    for p in (folder, *folder.parents):
        if p.exists():
            if not p.is_dir():
                raise ValidationError(f"{name} {folder} cannot be created: {p} is a file")
            check_writable(p, f"{name} {folder}" if p != folder else name)
            break
    return folder


def check_writable(folder, name: str = "output folder") -> None:
    """Refuse a folder this process cannot create files in — before the heavy work, not after it.

    Parameters
    ----------
    folder : str or Path
        An existing folder (the nearest existing parent of an output path).
    name : str, default "output folder"

    Raises
    ------
    ValidationError
        When a probe file cannot be created there (read-only file system, no permission).
    """
    try:
        fd, probe = tempfile.mkstemp(prefix=".align-write-probe-", dir=folder)
    except OSError as e:
        raise ValidationError(f"{name}: {folder} is not writable ({e.strerror})") from None
    os.close(fd)
    os.unlink(probe)


def check_output_file(path, name: str = "--out") -> Path:
    """Refuse an output file whose folder cannot be written (see :func:`check_writable`).

    Parameters
    ----------
    path : str or Path
    name : str, default "--out"

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    if path.is_dir():
        raise ValidationError(f"{name} {path} is a folder; give a file name")
    check_output_folder(path.parent, name)
    return path


def parse_key_value(item: str, refusal: str):
    """``"key=value"`` → ``(key, value)``; the value is JSON when it parses (``3``, ``0.5``, ``true``,
    ``[1, 2]``), else the string as given.

    Parameters
    ----------
    item : str
    refusal : str
        The ValidationError message when ``item`` has no ``=``.

    Returns
    -------
    (str, object)
    """
    if "=" not in item:
        raise ValidationError(refusal)
    key, raw = item.split("=", 1)
    try:
        return key.strip(), json.loads(raw)
    except json.JSONDecodeError:
        return key.strip(), raw

