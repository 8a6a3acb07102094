"""Command line: ``align models | embed | compare | recipe`` (``align <cmd> --help`` for each)."""
from __future__ import annotations

import argparse
import os
import sys

from . import corpora
from .cache import embed
from .cli_compare import add_compare_parser
from .cli_translate import add_commands as add_translate_commands
from .encoders import list_encoders
from .exceptions import AlignError, ValidationError
from .recipes import get_recipe
from .recipes.common import apply_overrides
from .report import text_table


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


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
        try:
            with open(args.file, encoding="utf-8-sig") as f:  # -sig: a leading UTF-8 BOM is dropped
                lines = [(i, line.strip()) for i, line in enumerate(f)]
        except OSError as e:
            raise ValidationError(f"cannot read {args.file}: {e.strerror}") from None
        except UnicodeDecodeError as e:
            raise ValidationError(f"{args.file} is not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset "
                                  f"{e.start}); convert it first, e.g. iconv -f latin1 -t utf-8") from None
        kept = [(i, t) for i, t in lines if t]
        # ids are the 0-based line numbers, so blank lines do not shift them
        return [str(i) for i, _ in kept], [t for _, t in kept], None
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
    module.run(config)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``align`` argument parser with every sub-command.

    Returns
    -------
    argparse.ArgumentParser
        Parse errors print one line and exit with code 2.
    """
    p = _Parser(prog="align", description="Align the representation spaces of different models.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    m = sub.add_parser("models", help="list the registered encoders and whether they are installed")
    m.add_argument("--long", action="store_true", help="also print a description of each")
    m.set_defaults(func=cmd_models)

    e = sub.add_parser("embed", help="embed a corpus or a text file into an EmbeddingSet file")
    e.add_argument("--model", required=True, help="encoder name (see `align models`)")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--corpus", choices=["kjv", "wordnet", "bible-en", "bible-ny"], help="packaged corpus")
    src.add_argument("--file", help="text file, one text per line")
    e.add_argument("--limit", type=int, help="embed only the first N texts")
    e.add_argument("--layer", type=int, help="hidden-state layer (default: the model's output)")
    e.add_argument("--pooling", choices=["mean", "last"], help="pooling for per-layer states")
    e.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    e.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    e.add_argument("--out", required=True, help="output file: .safetensors or .npz (+ .json sidecar)")
    e.set_defaults(func=cmd_embed)

    add_compare_parser(sub)
    add_translate_commands(sub)  # fit, translate, evaluate

    r = sub.add_parser("recipe", help="run a recipe; writes runs/<recipe>/<timestamp>/")
    r.add_argument("name", help="recipe name, e.g. paired_vs_unpaired")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field (also written --KEY VALUE, e.g. --layers all)")
    r.set_defaults(func=cmd_recipe)
    return p


def recipe_flags_to_sets(argv: list) -> list:
    """``recipe NAME --layers all --n-train=500`` → ``recipe NAME --set layers=all --set n_train=500``.

    Any ``--key value`` after a recipe name is a config override, like ``--set key=value``.
    """
    if len(argv) < 2 or argv[0] != "recipe":
        return argv
    out, i = argv[:2], 2
    while i < len(argv):
        tok = argv[i]
        if tok.startswith("--") and tok.split("=", 1)[0] not in ("--set", "--help") and len(tok) > 2:
            key, eq, value = tok[2:].partition("=")
            if not eq:
                if i + 1 >= len(argv) or argv[i + 1].startswith("--"):
                    out.append(tok)  # a bare flag: let argparse report it
                    i += 1
                    continue
                value, i = argv[i + 1], i + 1
            out += ["--set", f"{key.replace('-', '_')}={value}"]
        else:
            out.append(tok)
        i += 1
    return out


def main(argv=None) -> int:
    """Entry point of the ``align`` command.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit code: 0 on success, 2 for an :class:`~align.AlignError` (one line on stderr) or a
        usage error, 130 when interrupted.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    argv = recipe_flags_to_sets(list(sys.argv[1:] if argv is None else argv))
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except AlignError as e:
        print(f"align: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("align: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
