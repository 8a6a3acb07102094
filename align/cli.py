"""Command line: ``align models | embed | compare | fit | translate | evaluate | recipe``.

``align <cmd> --help`` for each. Parsing (:mod:`align.cli_parsers`) imports nothing heavy; the module
that implements a command is imported only when it runs, so ``align --help`` starts without torch.
"""
from __future__ import annotations

import importlib
import os
import sys

from .cli_parsers import build_parser
from .exceptions import AlignError

__all__ = ["build_parser", "main", "recipe_flags_to_sets"]


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
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) >= 3 and argv[0] == "recipe" and not argv[1].startswith("-") and {"-h", "--help"} & set(argv[2:]):
        argv = ["recipe-help", argv[1]]  # `align recipe NAME --help`: the recipe's config keys
    if argv[:1] == ["recipe-help"]:
        return _run("cli_commands:print_recipe_help", argv[1])
    argv = recipe_flags_to_sets(argv)
    args = build_parser().parse_args(argv)
    return _run(args.func, args)


def _run(func: str, arg) -> int:
    """Import ``align.<module>`` for ``"module:function"``, call it, and turn AlignErrors into exit 2."""
    module, _, name = func.partition(":")
    try:
        return getattr(importlib.import_module(f"align.{module}"), name)(arg)
    except AlignError as e:
        print(f"align: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("align: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed: stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
