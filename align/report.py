"""Run folders and reports: ``runs/<recipe>/<timestamp>/{config.json, metrics.json, report.md, *.png}``."""
from __future__ import annotations

import datetime as _dt
import json
import platform
from pathlib import Path

import numpy

from .io import atomic_write, atomic_write_json


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend (figures go to files only).

    Returns
    -------
    module
        ``matplotlib.pyplot``.
    """
    import matplotlib  # lazy: matplotlib is slow to import and only figure writers need it
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt  # lazy: see above
    return plt


def new_run_dir(root, recipe: str) -> Path:
    """A fresh, uniquely named folder ``root/recipe/YYYYmmdd-HHMMSS[-N]``."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path(root) / recipe
    for i in range(1000):
        path = base / (stamp if i == 0 else f"{stamp}-{i}")
        try:
            path.mkdir(parents=True, exist_ok=False)
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a run folder under {base}")


def environment() -> dict:
    """Versions and hardware of this run (Python, platform, torch, NumPy, CUDA, threads, time).

    Returns
    -------
    dict
    """
    import torch  # lazy: report.py stays torch-free (the CLI's `models` table uses it)
    return {"python": platform.python_version(), "platform": platform.platform(), "torch": torch.__version__,
            "numpy": numpy.__version__, "cuda": torch.cuda.is_available(), "threads": torch.get_num_threads(),
            "time": _dt.datetime.now().isoformat(timespec="seconds")}


def write_json(path, obj) -> Path:
    """Write ``obj`` as JSON atomically.

    Parameters
    ----------
    path : str or pathlib.Path
    obj : object
        JSON-serialisable (NumPy values are converted).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    atomic_write_json(path, obj)
    return Path(path)


def write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically.

    Parameters
    ----------
    path : str or pathlib.Path
    text : str

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    def write(tmp):
        Path(tmp).write_text(text, encoding="utf-8")
    atomic_write(path, write)
    return Path(path)


def fmt(value, digits: int = 3) -> str:
    """A table cell: floats with ``digits`` decimals, anything else through ``str``.

    Parameters
    ----------
    value : object
    digits : int, default 3

    Returns
    -------
    str
    """
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(rows: list[dict], columns: list[str], headers: list[str] | None = None) -> str:
    """A Markdown table of ``rows``.

    Parameters
    ----------
    rows : list of dict
        One dict per row; missing keys give empty cells.
    columns : list of str
        Keys to show, in order.
    headers : list of str, optional
        Column titles (default: the keys).

    Returns
    -------
    str
    """
    headers = headers or columns
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(fmt(row.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def text_table(rows: list[dict], columns: list[str], headers: list[str] | None = None) -> str:
    """Plain fixed-width table for terminals."""
    headers = headers or columns
    cells = [[fmt(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
    numeric = [all(_is_number(row.get(c)) for row in rows) for c in columns]
    out += ["  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(r, widths, numeric)) for r in cells]
    return "\n".join(out)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) or v in ("", None)


def load_json(path):
    """Read a JSON file (UTF-8).

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    object
    """
    return json.loads(Path(path).read_text(encoding="utf-8"))
