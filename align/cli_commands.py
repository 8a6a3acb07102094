"""The ``align models``, ``embed`` and ``recipe`` commands (imported only when one of them runs)."""
from __future__ import annotations

import dataclasses
import inspect
import re

from . import corpora
from ._validate import check_output_file, check_output_folder
from .cache import embed
from .encoders import list_encoders
from .formats import read_texts
from .exceptions import ValidationError
from .recipes import get_recipe
from .recipes.common import apply_overrides
from .report import text_table


def cmd_models(args) -> int:
    """``align models [--long]``: print the encoder registry as a table; returns the exit code 0."""
    rows = [{"name": e.name, "family": e.family, "kind": e.kind, "dim": e.dim,
             "layers": "-" if e.n_layers is None else e.n_layers,
             "installed": "yes" if e.installed else "no", "description": e.description}
            for e in list_encoders()]
    cols = ["name", "family", "kind", "dim", "layers", "installed"] + (["description"] if args.long else [])
    print(text_table(rows, cols))
    return 0


def _read_texts(args):
    if args.file:
        ids, texts = read_texts(args.file, text_column=args.text_column, id_column=args.id_column)
        return ids, texts, None
    if args.corpus == "kjv":
        c = corpora.kjv()
    elif args.corpus == "wordnet":
        c = corpora.wordnet_glosses()
    elif args.corpus in ("bible-en", "bible-ny"):
        p = corpora.bible_parallel("ny")
        return p.ids, (p.source if args.corpus == "bible-en" else p.target), p.labels
    else:
        raise ValidationError(f"unknown corpus {args.corpus!r}")
    return c.ids, c.texts, c.labels


def cmd_embed(args) -> int:
    """``align embed``: embed a packaged corpus or a text file and save an EmbeddingSet.

    Parameters
    ----------
    args : argparse.Namespace
        ``model``, ``corpus`` or ``file``, ``limit``, ``layer``, ``pooling``, ``device``,
        ``no_cache``, ``out``.

    Returns
    -------
    int
        Exit code 0.

    Raises
    ------
    ValidationError
        For a bad ``--limit``, ``--out`` suffix, unreadable file or no texts.
    """
    if args.limit is not None and args.limit < 1:
        raise ValidationError(f"--limit must be >= 1; got {args.limit}")
    if not args.out.endswith((".safetensors", ".npz")):
        raise ValidationError(f"--out must end in .safetensors or .npz; got {args.out!r}")
    check_output_file(args.out)  # before the embedding, not after it
    ids, texts, labels = _read_texts(args)
    if args.limit:
        ids, texts = ids[:args.limit], texts[:args.limit]
        labels = labels[:args.limit] if labels else None
    if not texts:
        raise ValidationError("no texts to embed")
    es = embed(texts, args.model, layer=args.layer, pooling=args.pooling, ids=ids, labels=labels,
               cache=not args.no_cache, show_progress=True, device=args.device)
    path = es.save(args.out)
    print(f"wrote {path} ({len(es)} x {es.dim}, model={es.model}, layer={es.layer}, pooling={es.pooling})")
    return 0


def cmd_recipe(args) -> int:
    """``align recipe NAME [--set key=value ...]``: run a recipe with config overrides; returns 0."""
    module = get_recipe(args.name)
    config = apply_overrides(module.Config(), args.set)
    if getattr(config, "out", None):
        check_output_folder(config.out, "out")  # the run folder is written at the end: check it now
    module.run(config)
    return 0


def config_help(config_cls) -> list[tuple[str, str, str]]:
    """``(key, default, doc)`` of each field of a recipe's ``Config`` dataclass.

    The doc is the comment after the field in the source (``key: type = default  # doc``).

    Parameters
    ----------
    config_cls : type
        A dataclass.

    Returns
    -------
    list of (str, str, str)
    """
    docs = {}
    try:
        for line in inspect.getsource(config_cls).splitlines():
            m = re.match(r"^\s+(\w+)\s*:[^=]*=.*?#\s*(.*)$", line)
            if m:
                docs[m.group(1)] = m.group(2).strip()
    except (OSError, TypeError):
        pass  # no source (frozen app): keys and defaults only
    config = config_cls()
    return [(f.name, repr(getattr(config, f.name)), docs.get(f.name, "")) for f in dataclasses.fields(config)]


def print_recipe_help(name: str) -> int:
    """``align recipe NAME --help``: the recipe's summary and every config key with default and doc.

    Parameters
    ----------
    name : str

    Returns
    -------
    int
        Exit code 0.
    """
    module = get_recipe(name)
    summary = (module.__doc__ or "").strip().split("\n\n")[0]
    print(f"usage: align recipe {name} [--KEY VALUE | --set KEY=VALUE ...]\n\n{summary}\n\nconfig keys:")
    rows = config_help(module.Config)
    width = max(len(k) for k, _, _ in rows)
    for key, default, doc in rows:
        print(f"  --{key.ljust(width)}  default {default}" + (f"  — {doc}" if doc else ""))
    return 0
