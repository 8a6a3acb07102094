"""Safe, atomic file writes and checksums (no pickle anywhere)."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np


def cache_root() -> Path:
    """Root folder of align's on-disk cache (embeddings, unpacked model files).

    Returns
    -------
    pathlib.Path
        ``$ALIGN_CACHE`` if set (``~`` expanded), else ``~/.cache/align``. The folder is not
        created here; writers create it on first write.
    """
    root = os.environ.get("ALIGN_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "align"


def sha256_file(path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, read in chunks.

    Parameters
    ----------
    path : str or pathlib.Path
        File to hash.
    chunk : int, default 1 MiB
        Bytes read at a time.

    Returns
    -------
    str
        Hex digest.
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def atomic_write(path, write_fn, suffix: str = "") -> None:
    """Call ``write_fn(tmp_path)`` then rename the temp file onto ``path``.

    The temp file lives in the destination folder so the rename is atomic: a process killed
    mid-write leaves at most a stray ``.tmp-*`` file, never a truncated ``path``.

    Parameters
    ----------
    path : str or pathlib.Path
        Destination; its parent folders are created.
    write_fn : callable
        ``write_fn(tmp_path)`` writes the whole content to ``tmp_path``.
    suffix : str, default ""
        Suffix of the temp file (some writers choose the format from it).

    Raises
    ------
    BaseException
        Whatever ``write_fn`` raises; the temp file is removed and ``path`` is left unchanged.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{path.name}-", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        write_fn(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _umask_mode())  # mkstemp makes 0600; a finished file gets the usual mode
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask_mode() -> int:
    """0666 minus the process umask: the mode ``open(path, "w")`` would give a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write_json(path, obj) -> None:
    """Write ``obj`` as indented UTF-8 JSON to ``path`` atomically (see :func:`atomic_write`).

    Parameters
    ----------
    path : str or pathlib.Path
        Destination file.
    obj : object
        JSON-serialisable data; NumPy scalars/arrays and paths are converted.

    Raises
    ------
    TypeError
        If ``obj`` holds a value that cannot be serialised.
    """
    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=1, ensure_ascii=False, default=_json_default)
    atomic_write(path, write)


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
