"""Paired vs unpaired: how well can model A's embeddings be translated into model B's space?

Embeds a sample of the default corpus with two packaged encoders of different families, splits it
into paired training strings and a held-out gallery that share no string, fits each translator on
the training pairs, and scores retrieval of the true target among the gallery.

    align recipe paired_vs_unpaired --set source=minilm-l6 --set target=e5-small --set n_train=2000
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from ..cache import embed
from ..corpora import disjoint_split
from ..encoders import load_encoder
from ..metrics import translation_scores
from ..report import environment, markdown_table, new_run_dir, text_table, write_json, write_text
from ..supervised import ProcrustesTranslator
from .common import load_corpus, timer

NAME = "paired_vs_unpaired"
METHODS = {"procrustes": lambda seed: ProcrustesTranslator()}


@dataclass
class Config:
    source: str = "minilm-l6"
    target: str = "e5-small"
    corpus: str = "kjv"
    n_train: int = 2000
    n_eval: int = 1000
    methods: tuple = ("procrustes",)
    seed: int = 0
    cache: bool = True
    out: str = "runs"


COLUMNS = ["method", "n_pairs", "top1", "top5", "top10", "mean_rank", "median_rank", "mean_cosine", "fit_s"]


def run(config: Config, *, verbose: bool = True):
    t_start = time.perf_counter()
    corpus = load_corpus(config.corpus)
    split = disjoint_split(corpus.texts, config.n_train, 0, config.n_eval, seed=config.seed)
    texts = [corpus.texts[i] for i in np.concatenate([split.pool_a, split.eval])]
    timings = {}
    sets = {}
    for role, name in (("source", config.source), ("target", config.target)):
        with timer(timings, f"embed_{role}_s"):
            sets[role] = embed(texts, load_encoder(name), cache=config.cache)
    n_tr = config.n_train
    Xs, Xt = sets["source"].vectors, sets["target"].vectors
    rows = [{"method": "chance", "n_pairs": 0, "top1": 1 / config.n_eval,
             "mean_rank": (config.n_eval + 1) / 2}]
    for method in config.methods:
        if method not in METHODS:
            from ..exceptions import ValidationError
            raise ValidationError(f"unknown method {method!r}; available: {', '.join(METHODS)}")
        t0 = time.perf_counter()
        model = METHODS[method](config.seed).fit(Xs[:n_tr], Xt[:n_tr])
        fit_s = time.perf_counter() - t0
        scores = translation_scores(model.transform(Xs[n_tr:]), Xt[n_tr:])
        rows.append({"method": method, "n_pairs": n_tr, **scores, "fit_s": fit_s})
    timings["total_s"] = round(time.perf_counter() - t_start, 3)

    run_dir = new_run_dir(config.out, NAME)
    write_json(run_dir / "config.json", {**asdict(config), "environment": environment()})
    write_json(run_dir / "metrics.json", {"results": rows, "timings": timings,
                                          "n_train": n_tr, "n_eval": config.n_eval})
    report = [f"# {config.source} → {config.target} on {config.corpus}", "",
              f"{n_tr} paired training strings, held-out gallery of {config.n_eval} strings "
              "(no string shared between the two).", "",
              markdown_table(rows, COLUMNS), "", "Timings (s): " + ", ".join(f"{k}={v}" for k, v in timings.items())]
    write_text(run_dir / "report.md", "\n".join(report) + "\n")
    if verbose:
        print(text_table(rows, COLUMNS))
        print(f"\nwrote {run_dir}/{{config.json, metrics.json, report.md}}  ({timings['total_s']:.1f} s)")
    return run_dir
