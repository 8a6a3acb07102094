"""Align unshared sets: can two encoders be aligned when they never embedded the same string?

Sentence level: model A (``source``) embeds one pool of corpus strings, model B (``target``) a
*disjoint* pool (verified: no string in common, recorded in metrics.json), and both embed a held-out
evaluation set of ``n_eval`` strings and a ``n_train`` training set that only the supervised ceiling
uses (orthogonal Procrustes on those pairs). Every unsupervised aligner of ``methods`` is fitted on
the two pools over ``seeds``; each run is scored on the evaluation set (top-1, mean rank, mean
cosine, CSLS top-1; bootstrap CIs over items) and by every label-free criterion of
:mod:`align.unsupervised.selection`, computed on the pools only. The report gives the seed spread,
the run the ``criterion`` picks, each criterion's Spearman correlation with true top-1, the best
method's top-1 as a fraction of the ceiling and against pool size (``pool_sizes``; 0 = the largest
the corpus allows).

Word level (``words=true``): English GloVe ↔ French fastText vectors of the ``n_words`` most
frequent words each side, gold from the FreeDict eng-fra dictionary (optional: if it is missing the
report says so), P@1 / P@5 by CSLS for each unsupervised aligner against supervised Procrustes on
the dictionary's training split.

Writes runs/align_unshared/<time>/{config.json, metrics.json, report.md, methods.png,
pool_curve.png[, words.png]}.

    align recipe align_unshared --set n_pool=10000 --set 'methods=["StructureMatchingAligner(init=relative)"]'
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from ..exceptions import DataNotAvailableError, ValidationError
from ..methods import build, parse_spec
from ..metrics import summarize_items, translation_ci, translation_items
from ..report import environment, new_run_dir, text_table, write_json, write_text
from ..supervised import LinearTranslator, ProcrustesTranslator
from ..unsupervised.selection import CRITERIA, label_free_criteria
from . import unshared_report as rep
from .common import limit_threads, load_corpus, timer
from .unshared_data import embed_split, precision_at_k, unshared_split, word_data

NAME = "align_unshared"

DEFAULT_METHODS = (  # the fast ones; WassersteinProcrustes, GromovWassersteinAligner and AdversarialAligner
    # take 2-10 min per run at 5k on a shared 2-core CPU: add them with --set methods=...
    "StructureMatchingAligner(init=sorted_sim;n_sample=2000)",
    "StructureMatchingAligner(init=relative)",
    "StructureMatchingAligner(init=principal_axes;normalize=whiten)",
    "RestartsAligner(start=relative;n_restarts=8)",
)


@dataclass
class Config:
    """Configuration of the align_unshared recipe; every field is a ``--set key=value`` override.

    The comment after each field says what it sets; :func:`run` checks the values.
    """

    source: str = "minilm-l6"  # model A: embeds pool A (and the eval/train strings)
    target: str = "e5-small"  # model B: embeds pool B (and the eval/train strings)
    corpus: str = "kjv"
    n_pool: int = 5000  # strings per side for the method comparison (0 = the largest possible)
    pool_sizes: tuple[int, ...] = (5000, 10000, 0)  # the best method's pool-size curve; () = skip
    n_eval: int = 1000
    n_train: int = 1000  # pairs of the supervised ceiling
    methods: tuple[str, ...] = DEFAULT_METHODS  # "Name" or "Name(key=value;key=value)"
    seeds: tuple[int, ...] = (0, 1, 2)
    curve_seeds: int = 1  # seeds per pool size on the curve (the first ones of ``seeds``)
    criterion: str = "knn_agreement"  # label-free selection criterion (align.unsupervised.selection)
    criterion_sample: int = 2000
    csls_k: int = 10
    n_boot: int = 1000
    threads: int = 2  # torch/BLAS threads while fitting; 0 = unchanged
    words: bool = True  # run the word-level variant
    word_source: str = "glove-en-50d"
    word_target: str = "fasttext-fr-300d"
    word_pair: str = "eng-fra"
    n_words: int = 5000
    word_target_dim: int = 50  # PCA of the target vectors to this many dims (0 = keep all)
    n_word_test: int = 1500
    word_methods: tuple[str, ...] = ()  # () = the same as ``methods``
    word_seeds: tuple[int, ...] = (0,)
    data_seed: int = 0
    cache: bool = True
    plots: bool = True
    out: str = "runs"


def _check(config):
    try:
        config.seeds = tuple(int(s) for s in config.seeds)
        config.word_seeds = tuple(int(s) for s in config.word_seeds)
        config.pool_sizes = tuple(int(s) for s in config.pool_sizes)
    except (TypeError, ValueError):
        raise ValidationError("seeds, word_seeds and pool_sizes must be lists of integers") from None
    if not config.methods:
        raise ValidationError("methods is empty: list at least one unsupervised aligner spec")
    if not config.seeds:
        raise ValidationError("seeds must list at least one seed")
    if any(s < 0 for s in config.seeds + config.word_seeds):
        raise ValidationError(f"seeds must be >= 0; got {list(config.seeds + config.word_seeds)}")
    if config.word_target_dim < 0:
        raise ValidationError(f"word_target_dim must be >= 0; got {config.word_target_dim}")
    for name in ("n_eval", "n_train", "n_boot", "curve_seeds", "criterion_sample", "n_words", "n_word_test"):
        if getattr(config, name) < 1:
            raise ValidationError(f"{name} must be >= 1; got {getattr(config, name)}")
    if config.n_pool < 0 or any(s < 0 for s in config.pool_sizes):
        raise ValidationError("n_pool and pool_sizes must be >= 0 (0 = the largest pool)")
    if config.criterion not in CRITERIA:
        raise ValidationError(f"unknown criterion {config.criterion!r}; available: {', '.join(CRITERIA)}")
    if len(set(config.methods)) != len(config.methods):
        raise ValidationError("methods lists the same spec twice")
    for spec in tuple(config.methods) + tuple(config.word_methods):
        parse_spec(spec)


def run(config: Config, *, verbose: bool = True):
    """Run the align_unshared recipe and write its run folder.

    Parameters
    ----------
    config : Config
        The recipe's configuration.
    verbose : bool, default True
        Print progress and the result table.

    Returns
    -------
    pathlib.Path
        ``<config.out>/align_unshared/<timestamp>/`` with config.json, metrics.json, report.md and figures.

    Raises
    ------
    ValidationError
        For an invalid configuration.
    DataNotAvailableError
        If the corpus or an encoder's package is missing.
    """
    t_start = time.perf_counter()
    _check(config)
    say = print if verbose else (lambda *a, **k: None)
    timings = {}
    corpus = load_corpus(config.corpus)
    max_pool = unshared_split(corpus.texts, 1, n_eval=config.n_eval, n_train=config.n_train,
                              seed=config.data_seed).max_pool
    n_main = config.n_pool or max_pool
    sizes = sorted({s or max_pool for s in config.pool_sizes})
    if max(sizes + [n_main]) > max_pool:
        raise ValidationError(f"pool sizes {sizes + [n_main]} exceed the largest disjoint pool of "
                              f"{config.corpus} ({max_pool})")
    split = unshared_split(corpus.texts, max(sizes + [n_main]), n_eval=config.n_eval, n_train=config.n_train,
                           seed=config.data_seed)
    split.check_disjoint(corpus.texts)  # raises if any string is shared
    disjoint = {"verified": True, "shared_strings": 0, "eval": len(split.eval), "train": len(split.train),
                "pool_a": len(split.pool_a), "pool_b": len(split.pool_b), "max_pool": int(max_pool)}
    data = embed_split(corpus.texts, split, config.source, config.target, cache=config.cache, timings=timings)
    say(f"{config.source} ({data['A_eval'].shape[1]}-d) → {config.target} ({data['B_eval'].shape[1]}-d) on "
        f"{config.corpus}: disjoint pools of {n_main} (curve {sizes}), {config.n_eval} held out; "
        f"embedding {sum(timings.values()):.0f} s")

    def evaluate(model):
        items = translation_items(model.transform(data["A_eval"]), data["B_eval"], csls_k=config.csls_k or None)
        return items, summarize_items(items)

    runs = []
    with timer(timings, "fit_eval_s"), limit_threads(config.threads):
        t0 = time.perf_counter()
        ceiling_model = ProcrustesTranslator().fit(data["A_train"], data["B_train"])
        ceil_items, ceil_scores = evaluate(ceiling_model)
        ceiling = {"method": f"Procrustes ({config.n_train} pairs)", "fit_s": round(time.perf_counter() - t0, 3),
                   **ceil_scores, "ci": translation_ci(ceil_items, n_boot=config.n_boot)}
        for spec in config.methods:
            for seed in config.seeds:
                runs.append(_one_run(spec, seed, data, n_main, evaluate, config))
                r = runs[-1]
                say(f"  {spec} seed {seed}: top-1 {r['top1']:.3f}, mean rank {r['mean_rank']:.1f}, "
                    f"fit {r['fit_s']:.1f} s" + (f"  [{r['error']}]" if r.get("error") else ""))
        table = rep.method_table(runs, config)
        ok = [row for row in table if row.get("top1") is not None]
        best = max(ok, key=lambda row: row["top1"])["method"] if ok else None
        curve = []
        if best is not None and config.pool_sizes:
            for n in sizes:
                for seed in config.seeds[:config.curve_seeds]:
                    if n == n_main:
                        same = [r for r in runs if r["method"] == best and r["seed"] == seed]
                        curve.append({k: v for k, v in same[0].items() if k != "items"})
                        continue
                    r = _one_run(best, seed, data, n, evaluate, config)
                    curve.append({k: v for k, v in r.items() if k != "items"})
                    say(f"  curve {best} pool {n} seed {seed}: top-1 {r.get('top1', float('nan')):.3f}")
    selection = rep.selection_summary(runs, config.criterion)
    words = None
    if config.words:
        with timer(timings, "words_s"), limit_threads(config.threads):
            words = _word_level(config, say)
    run_dir = new_run_dir(config.out, NAME)
    timings["total_s"] = round(time.perf_counter() - t_start, 3)
    metrics = {"disjoint": disjoint, "n_pool": n_main, "dims": [int(data["A_eval"].shape[1]), int(data["B_eval"].shape[1])],
               "ceiling": ceiling, "methods": table, "best_method": best,
               "best_ratio_to_ceiling": rep.ratio(table, ceiling), "selection": selection,
               "pool_curve": rep.curve_summary(curve, ceiling), "words": words, "timings": timings,
               "runs": [{k: v for k, v in r.items() if k != "items"} for r in runs]}
    figures = []
    if config.plots:
        with timer(timings, "plots_s"):
            figures = rep.plots(metrics, run_dir, config)
    write_json(run_dir / "config.json", {**asdict(config), "environment": environment()})
    write_json(run_dir / "metrics.json", metrics)
    write_text(run_dir / "report.md", rep.render(config, metrics, figures))
    if verbose:
        print()
        print(text_table(rep.table_rows(metrics), rep.COLUMNS))
        print(f"\nwrote {run_dir}/{{config.json, metrics.json, report.md" + "".join(f", {f}" for f in figures)
              + f"}}  ({timings['total_s']:.1f} s)")
    return run_dir


def _one_run(spec, seed, data, n, evaluate, config):
    Xp, Yp = data["A_pool"][:n], data["B_pool"][:n]  # nested pools: prefixes of the largest
    out = {"method": spec, "seed": int(seed), "n_pool": int(n)}
    t0 = time.perf_counter()
    try:
        model = build(spec, seed).fit(Xp, Yp)
    except (np.linalg.LinAlgError, ValueError, RuntimeError) as exc:  # a method that breaks is reported, not fatal
        out.update(fit_s=round(time.perf_counter() - t0, 3), error=f"{type(exc).__name__}: {str(exc)[:160]}")
        return out
    out["fit_s"] = round(time.perf_counter() - t0, 3)
    items, scores = evaluate(model)
    out.update(scores)
    out["items"] = items
    # same label-free criteria for every method, in B's raw space, from the pools only
    out["criteria"] = label_free_criteria(model.transform(Xp), Yp, sample=config.criterion_sample,
                                          csls_k=config.csls_k or 10, seed=int(seed))
    return out


def _word_level(config, say):
    """The word-level variant → dict (``available: False`` with the reason when data is missing)."""
    try:
        wd = word_data(config.word_source, config.word_target, config.word_pair, config.n_words,
                       config.n_word_test, config.data_seed, target_dim=config.word_target_dim)
    except DataNotAvailableError as exc:
        say(f"word level skipped: {exc}")
        return {"available": False, "reason": str(exc)}
    X, Y, test = wd["X"], wd["Y"], wd["test"]
    Xq = X[[i for i, _ in test]]
    csls_k = config.csls_k or 10
    rows = []
    t0 = time.perf_counter()
    ceil = ProcrustesTranslator().fit(X[wd["train"][:, 0]], Y[wd["train"][:, 1]])
    p = precision_at_k(ceil.transform(Xq), Y, test, csls_k=csls_k)
    rows.append({"method": f"Procrustes ({len(wd['train'])} gold pairs)", "seed": None, "supervised": True,
                 "p@1": p["p@1"], "p@5": p["p@5"], "fit_s": round(time.perf_counter() - t0, 3)})
    say(f"  words: ceiling P@1 {p['p@1']:.3f} P@5 {p['p@5']:.3f}")
    t0 = time.perf_counter()
    lin = LinearTranslator().fit(X[wd["train"][:, 0]], Y[wd["train"][:, 1]])
    p = precision_at_k(lin.transform(Xq), Y, test, csls_k=csls_k)
    rows.append({"method": f"ridge ({len(wd['train'])} gold pairs)", "seed": None, "supervised": True,
                 "p@1": p["p@1"], "p@5": p["p@5"], "fit_s": round(time.perf_counter() - t0, 3)})
    for spec in config.word_methods or config.methods:
        for seed in config.word_seeds:
            t0 = time.perf_counter()
            try:
                model = build(spec, seed).fit(X, Y)
            except (np.linalg.LinAlgError, ValueError, RuntimeError) as exc:
                rows.append({"method": spec, "seed": seed, "supervised": False, "error": str(exc)[:160]})
                continue
            fit_s = round(time.perf_counter() - t0, 3)
            p = precision_at_k(model.transform(Xq), Y, test, csls_k=csls_k)
            rows.append({"method": spec, "seed": seed, "supervised": False, "p@1": p["p@1"], "p@5": p["p@5"],
                         "fit_s": fit_s})
            say(f"  words: {spec} seed {seed}: P@1 {p['p@1']:.3f} P@5 {p['p@5']:.3f} ({fit_s:.1f} s)")
    return {"available": True, "n_words": [len(X), len(Y)], "dims": [int(X.shape[1]), int(Y.shape[1])],
            "n_test": len(test), "n_train_pairs": int(len(wd["train"])), "n_gold_sources": wd["n_gold_sources"],
            "rows": rows}
