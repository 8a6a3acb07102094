"""The ``align`` argument parser, torch-free so that ``align --help`` and argument errors are instant.

Each sub-command names its implementation as ``"module:function"`` (``func``); :func:`align.cli.main`
imports that module only when the command runs. The metric and translator names are listed here
(a test checks them against :data:`align.metrics.SIMILARITY` and the CLI's translators).
"""
from __future__ import annotations

import argparse

METRIC_NAMES = ("cka", "cknna", "cycle_knn", "mutual_knn", "rsa", "svcca", "unbiased_cka")
TRANSLATORS = ("linear", "mlp", "procrustes")


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message and exit code 2."""

    def error(self, message):
        """Print ``prog: error: message`` on one line and exit with code 2."""
        self.exit(2, f"{self.prog}: error: {message}\n")


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
    m.set_defaults(func="cli_commands:cmd_models")

    e = sub.add_parser("embed", help="embed a corpus or a text file into an EmbeddingSet file")
    e.add_argument("--model", required=True, help="encoder name (see `align models`)")
    src = e.add_mutually_exclusive_group(required=True)
    src.add_argument("--corpus", choices=["kjv", "wordnet", "bible-en", "bible-ny"], help="packaged corpus")
    src.add_argument("--file", help="texts: a text file (one per line; ids = line numbers), JSONL, CSV/TSV, "
                                     "or a Parquet/Arrow table")
    e.add_argument("--text-column", help="column / JSON key of the texts (default: text, sentence, content …)")
    e.add_argument("--id-column", help="column / JSON key of the ids (default: id, doc_id …; else row numbers)")
    e.add_argument("--limit", type=int, help="embed only the first N texts")
    e.add_argument("--layer", type=int, help="hidden-state layer (default: the model's output)")
    e.add_argument("--pooling", choices=["mean", "last"], help="pooling for per-layer states")
    e.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1 ...")
    e.add_argument("--no-cache", action="store_true", help="do not read or write the embedding cache")
    e.add_argument("--out", required=True, help="output file: .safetensors or .npz (+ .json sidecar)")
    e.set_defaults(func="cli_commands:cmd_embed")

    c = sub.add_parser("compare", help="representation similarity of two embedding files (rows paired by id)")
    c.add_argument("a", help="vectors: an EmbeddingSet file, a plain .npy/.npz/.safetensors array, a Parquet/Arrow table or a datasets folder")
    c.add_argument("b", help="second EmbeddingSet file; same ids as A, any order")
    c.add_argument("--metric", default="mutual_knn", choices=METRIC_NAMES, help="similarity metric")
    c.add_argument("--k", type=int, default=10, help="neighbours for mutual_knn, cycle_knn and cknna")
    c.add_argument("--dim", type=int, default=10, help="subspace dimension for svcca")
    c.add_argument("--permutations", type=int, default=0, metavar="N",
                   help="permutation test with N shuffles of the pairing (p-value and null)")
    c.add_argument("--bootstrap", type=int, default=0, metavar="N", help="bootstrap CI over rows with N resamples")
    c.add_argument("--prepare", action="store_true",
                   help="apply the platonic-rep preprocessing first (clip at the 0.95 quantile of |x|, "
                        "L2-normalise rows); default: vectors as stored")
    c.add_argument("--zscore", action="store_true", help="z-score every dimension first (advised for decoder LLMs)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.set_defaults(func="cli_compare:cmd_compare")
    f = sub.add_parser("fit", help="fit a translator from paired EmbeddingSet files (rows paired by id)")
    f.add_argument("--method", required=True, choices=TRANSLATORS, help="translator")
    f.add_argument("--source", required=True, help="source EmbeddingSet (.safetensors/.npz)")
    f.add_argument("--target", required=True, help="target EmbeddingSet, same ids")
    f.add_argument("--pairs", type=int, help="train on N randomly chosen pairs (seeded; default all)")
    f.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="translator parameter; JSON when it parses, else a string (e.g. --param alpha=0.1 --param loss=cosine)")
    f.add_argument("--seed", type=int, default=0, help="seed for the pair sample and the translator")
    f.add_argument("--device", default="auto", help="auto, cpu, cuda (MLP only)")
    f.add_argument("--intersect", action="store_true", help="use the ids both files share instead of failing")
    f.add_argument("--out", required=True, help="model folder to write")
    f.set_defaults(func="cli_translate:cmd_fit")

    t = sub.add_parser("translate", help="map an EmbeddingSet into the target space with a fitted model")
    t.add_argument("--model", required=True, help="model folder written by `align fit`")
    t.add_argument("--input", required=True, help="source-space EmbeddingSet")
    t.add_argument("--out", required=True, help="output EmbeddingSet (.safetensors or .npz)")
    t.set_defaults(func="cli_translate:cmd_translate")

    e = sub.add_parser("evaluate", help="score a fitted model on paired files, with 95%% bootstrap CIs")
    e.add_argument("--model", required=True, help="model folder written by `align fit`")
    e.add_argument("--source", required=True, help="source EmbeddingSet")
    e.add_argument("--target", required=True, help="target EmbeddingSet, same ids")
    e.add_argument("--ks", default="1,5,10", help="top-k cut-offs (default 1,5,10)")
    e.add_argument("--csls-k", type=int, default=10, help="also rank by CSLS with this k (0: off)")
    e.add_argument("--gallery-size", type=int, help="rank among the true target + N-1 random others")
    e.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples (default 1000)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--include-train", action="store_true", help="also score the ids the model was fitted on")
    e.add_argument("--intersect", action="store_true", help="use the ids both files share instead of failing")
    e.add_argument("--json", help="also write the scores to this JSON file")
    e.set_defaults(func="cli_translate:cmd_evaluate")
    r = sub.add_parser("recipe", help="run a recipe; writes runs/<recipe>/<timestamp>/")
    r.add_argument("name", help="recipe name, e.g. paired_vs_unpaired")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field (also written --KEY VALUE, e.g. --layers all)")
    r.set_defaults(func="cli_commands:cmd_recipe")
    return p
