"""``align compare A B``: representation similarity of two EmbeddingSet files, rows paired by id.

    align compare A.safetensors B.safetensors --metric mutual_knn --k 10 --permutations 999
"""
from __future__ import annotations

import json

import numpy as np

from .embeddings import EmbeddingSet, pair_rows
from .layers import zscore_columns
from .exceptions import ValidationError
from .metrics import SIMILARITY, prepare_features
from .metrics.stats import bootstrap_metric, permutation_test

KNN_METRICS = ("mutual_knn", "cycle_knn", "cknna")


def pair_by_id(a, b):
    """Rows of EmbeddingSets ``a`` and ``b`` in a common order (a's); raises if the id sets differ."""
    return pair_rows(a, b)[:2]


def cmd_compare(args) -> int:
    """``align compare A B``: one similarity value, optionally with a permutation null and a bootstrap CI.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed ``compare`` arguments.

    Returns
    -------
    int
        Exit code 0 (the result is printed, as text or JSON).

    Raises
    ------
    ValidationError
        For negative ``--permutations``/``--bootstrap`` or ids that do not pair.
    """
    if args.permutations < 0 or args.bootstrap < 0:
        raise ValidationError("--permutations and --bootstrap must be >= 0")
    a, b = EmbeddingSet.load(args.a), EmbeddingSet.load(args.b)
    X, Y = pair_by_id(a, b)
    if args.zscore:
        X, Y = zscore_columns(X), zscore_columns(Y)
    if args.prepare:
        X, Y = prepare_features(X), prepare_features(Y)
    kw = {"k": args.k} if args.metric in KNN_METRICS else ({"dim": args.dim} if args.metric == "svcca" else {})
    out = {"metric": args.metric, "params": kw, "n": int(X.shape[0]), "a": {"file": args.a, "model": a.model,
           "layer": a.layer, "dim": a.dim}, "b": {"file": args.b, "model": b.model, "layer": b.layer, "dim": b.dim},
           "prepared": bool(args.prepare), "zscored": bool(args.zscore)}
    if args.permutations:
        res = permutation_test(args.metric, X, Y, n_permutations=args.permutations, seed=args.seed, metric_kwargs=kw,
                               show_progress=True)
        out.update(value=res["value"], p_value=res["p_value"], n_permutations=args.permutations, null=res["null"])
    else:
        out["value"] = float(SIMILARITY[args.metric](X, Y, **kw))
    if args.bootstrap:
        ci = bootstrap_metric(args.metric, X, Y, n_boot=args.bootstrap, seed=args.seed, metric_kwargs=kw,
                              show_progress=True)
        out["ci"] = {k: ci[k] for k in ("low", "high", "level", "n_boot", "scheme")}
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    params = ", ".join(f"{k}={v}" for k, v in kw.items())
    line = f"{args.metric}({params}) = {out['value']:.4f}  (n = {out['n']}, {a.model or 'A'} vs {b.model or 'B'})"
    if "p_value" in out:
        line += (f"\npermutation p = {out['p_value']:.4g} over {args.permutations} shuffles; null mean "
                 f"{out['null']['mean']:.4f}, 95th percentile {out['null']['q95']:.4f}")
    if "ci" in out:
        line += f"\n{int(out['ci']['level'] * 100)}% bootstrap CI [{out['ci']['low']:.4f}, {out['ci']['high']:.4f}]"
    print(line)
    return 0
