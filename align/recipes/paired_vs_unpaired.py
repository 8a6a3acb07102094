"""Paired vs unpaired: how many paired strings does it take to translate model A's space into B's?

Embeds the default corpus (KJV verses) with two packaged encoders of different families, holds out a
gallery of strings that no translator sees, and fits every translator of the registry
(:mod:`align.methods`) on nested random subsets of the paired training strings
(log-spaced, several seeds). For each point it scores retrieval of the true target among the
gallery (top-1, mean rank, mean cosine; also CSLS top-1) with bootstrap CIs over items, finds
where one translator overtakes another (paired permutation test at the largest size), breaks the
best translator's results down by the corpus's domain labels, and draws a t-SNE map of source,
translated and target vectors. Unsupervised aligners (``unsupervised_methods``) are fitted on
unpaired pools and appear as the 0-pairs point; ``init_from`` lets one of them initialise the
methods that accept an init. Writes runs/paired_vs_unpaired/<time>/{config.json, metrics.json,
report.md, learning_curves.png, domains.png, tsne.png}.

    align recipe paired_vs_unpaired --set target=glove-en-50d --set seeds=[0,1]
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
from tqdm.auto import tqdm

from ..exceptions import ValidationError
from ..methods import get_method
from ..metrics import summarize_items, translation_items
from ..report import environment, new_run_dir, text_table, write_json, write_text
from . import plots
from .common import limit_threads, load_corpus, timer
from .paired_data import load_paired
from .paired_report import (TABLE_COLUMNS, findings, table_rows, aggregate, comparisons, crossovers,
                            domain_breakdown, render_report)

NAME = "paired_vs_unpaired"


@dataclass
class Config:
    """Configuration of the paired_vs_unpaired recipe; every field is a ``--set key=value`` override.

    The comment after each field says what it sets; :func:`run` checks the values.
    """

    source: str = "minilm-l6"  # encoder name, or "name@layer" for a hidden state
    target: str = "e5-small"
    corpus: str = "kjv"
    n_train: int = 3000  # paired training strings (the largest point of the curve)
    n_eval: int = 1000  # held-out gallery
    n_pairs: tuple[int, ...] = ()  # curve points; () = n_points log-spaced from min_pairs to n_train
    min_pairs: int = 10
    n_points: int = 6
    methods: tuple[str, ...] = ("linear", "procrustes", "mlp", "anchors")
    unsupervised_methods: tuple[str, ...] = ()  # fitted on unpaired pools: the 0-pairs point
    init_from: str = ""  # an unsupervised method that initialises methods that accept an init
    n_pool: int = 0  # unpaired target-side pool; 0 = n_train (embedded only when needed)
    seeds: tuple[int, ...] = (0, 1, 2)
    csls_k: int = 10
    gallery_size: int = 0  # 0 = the whole held-out set
    n_boot: int = 1000
    mlp_hidden: int = 256
    mlp_depth: int = 1
    mlp_epochs: int = 40
    mlp_patience: int = 6
    mlp_lr: float = 1e-3
    mlp_loss: str = "mse+0.1*infonce"  # see MLPTranslator; the InfoNCE term helps retrieval
    refine_iters: int = 5
    anchor_iters: int = 30  # refinement rounds of the "anchors" method (stops earlier when stable)
    threads: int = 1  # torch threads while fitting (1 is fastest on a busy 2-core CPU); 0 = torch default
    domain_n_pairs: int = 0  # curve point of the per-domain breakdown; 0 = the largest
    tsne_points: int = 200
    zscore: bool = False  # standardise each dimension (training-pool statistics); helps decoder states
    data_seed: int = 0  # the canonical text order (keep it fixed to reuse the embedding cache)
    cache: bool = True
    plots: bool = True
    out: str = "runs"


def curve_points(config) -> list:
    """The numbers of training pairs, ascending, each ≤ n_train."""
    if config.n_pairs:
        pts = sorted({int(n) for n in config.n_pairs})
        if pts[0] < 1 or pts[-1] > config.n_train:
            raise ValidationError(f"n_pairs must lie in 1..n_train={config.n_train}; got {list(config.n_pairs)}")
        return pts
    lo, hi = max(1, config.min_pairs), config.n_train
    if lo >= hi:
        return [hi]
    raw = np.geomspace(lo, hi, max(2, config.n_points))
    return sorted({lo, hi} | {_nice(v) for v in raw[1:-1]})


def _nice(v: float) -> int:
    """The nearest (in log scale) of 1, 2, 3, 5 × 10^k: round numbers of pairs for the curve."""
    base = 10.0 ** np.floor(np.log10(v))
    options = [m * base for m in (1, 2, 3, 5, 10)]
    return int(round(min(options, key=lambda o: abs(np.log(o / v)))))


def _ints(values, name):
    try:
        return tuple(int(v) for v in values)
    except (TypeError, ValueError):
        raise ValidationError(f"{name} must be a list of integers; got {values!r}") from None


def _check(config):
    config.seeds, config.n_pairs = _ints(config.seeds, "seeds"), _ints(config.n_pairs, "n_pairs")
    if not config.methods and not config.unsupervised_methods:
        raise ValidationError("nothing to run: methods and unsupervised_methods are both empty")
    if not config.seeds:
        raise ValidationError("seeds must list at least one seed")
    for name in ("n_train", "n_eval", "n_boot"):
        if getattr(config, name) < 1:
            raise ValidationError(f"{name} must be >= 1; got {getattr(config, name)}")
    methods = [get_method(m) for m in config.methods]
    bad = [m.name for m in methods if not m.needs_pairs]
    if bad:
        raise ValidationError(f"{bad} are unsupervised: list them in unsupervised_methods")
    unsup = [get_method(m) for m in config.unsupervised_methods]
    init = get_method(config.init_from) if config.init_from else None
    if init is not None and init.needs_pairs:
        raise ValidationError(f"init_from must name an unsupervised method; {config.init_from!r} needs pairs")
    return methods, unsup, init


def run(config: Config, *, verbose: bool = True):
    """Run the paired_vs_unpaired recipe and write its run folder.

    Parameters
    ----------
    config : Config
        The recipe's configuration.
    verbose : bool, default True
        Print progress and the result table.

    Returns
    -------
    pathlib.Path
        ``<config.out>/paired_vs_unpaired/<timestamp>/`` with config.json, metrics.json, report.md and figures.

    Raises
    ------
    ValidationError
        For an invalid configuration.
    DataNotAvailableError
        If the corpus or an encoder's package is missing.
    """
    t_start = time.perf_counter()
    methods, unsup, init = _check(config)
    points = curve_points(config)
    need_pool = bool(unsup or init or any(m.uses_pools for m in methods))
    n_pool = (config.n_pool or config.n_train) if need_pool else 0
    timings = {}
    corpus = load_corpus(config.corpus)
    data = load_paired(corpus, config.source, config.target, n_eval=config.n_eval, n_train=config.n_train,
                       n_pool=n_pool, data_seed=config.data_seed, cache=config.cache, timings=timings)
    if config.zscore:
        data = data.zscored()
    say = print if verbose else (lambda *a, **k: None)
    say(f"{config.source} ({data.X_eval.shape[1]}-d) → {config.target} ({data.Y_eval.shape[1]}-d): "
        f"{config.n_train} training pairs, {config.n_eval} held out, points {points}, seeds {list(config.seeds)}")
    gallery = config.gallery_size or None
    runs, preds = [], {}

    def record(name, n, seed, model, fit_s, X_eval):
        pred = model.transform(X_eval)
        items = translation_items(pred, data.Y_eval, csls_k=config.csls_k or None, gallery_size=gallery)
        runs.append({"method": name, "n_pairs": n, "seed": seed, "fit_s": fit_s, "items": items})
        if seed == config.seeds[0]:
            preds[(name, n)] = pred

    n_fits = len(config.seeds) * (len(unsup) + len(points) * len(methods))
    bar = tqdm(total=n_fits, desc="fit + evaluate", unit="fit", disable=not verbose, leave=False)
    with timer(timings, "fit_eval_s"), limit_threads(config.threads), bar:
        for seed in config.seeds:
            init_model = None
            for m in unsup + ([init] if init is not None and init not in unsup else []):
                model, fit_s = _fit(m.factory(seed=seed, n_pairs=0, config=config), data.X_train, data.Y_pool)
                if m in unsup:
                    record(m.name, 0, seed, model, fit_s, data.X_eval)
                    bar.update()
                if init is not None and m.name == init.name:
                    init_model = model
            order = np.random.default_rng(seed).permutation(config.n_train)
            for n in points:
                idx = np.sort(order[:n])  # nested subsets along the curve
                for m in methods:
                    variants = [(m.name, None)]
                    if m.accepts_init and init_model is not None:
                        variants.append((f"{m.name}+{init.name}", init_model))
                    for name, start in variants:
                        model = m.factory(seed=seed, n_pairs=n, config=config, init=start)
                        if m.uses_pools:
                            X = data.X_train
                            Y = np.concatenate([data.Y_train[idx], data.Y_pool])
                            seeds_ = np.stack([idx, np.arange(n)], 1)
                            model, fit_s = _fit(model, X, Y, seed_pairs=seeds_)
                        else:
                            model, fit_s = _fit(model, data.X_train[idx], data.Y_train[idx])
                        record(name, n, seed, model, fit_s, data.X_eval)
                    bar.update()
            say(f"  seed {seed} done ({time.perf_counter() - t_start:.0f} s)")
    with timer(timings, "stats_s"):
        curve = aggregate(runs, config)
        crossings = crossovers(curve)
        tests = comparisons(runs, config)
        domains = domain_breakdown(runs, data.labels_eval, curve, config)
    run_dir = new_run_dir(config.out, NAME)
    figures = []
    if config.plots:
        with timer(timings, "plots_s"), limit_threads(config.threads):  # t-SNE's OpenMP suffers too
            title = f"{config.source} → {config.target} ({config.corpus}, {config.n_eval} held out)"
            figures.append(plots.learning_curves(curve, run_dir / "learning_curves.png", title))
            if domains["rows"]:
                figures.append(plots.domain_bars(domains, run_dir / "domains.png", title))
            best = domains["method"]
            key = (best, max(n for (m, n) in preds if m == best))
            figures.append(plots.tsne_map(data.X_eval, preds[key], data.Y_eval, data.labels_eval,
                                          run_dir / "tsne.png", f"{best}, {key[1]} pairs: {title}",
                                          n_points=config.tsne_points, seed=config.data_seed))
    timings["total_s"] = round(time.perf_counter() - t_start, 3)
    metrics = {"curve": curve, "crossovers": crossings, "comparisons": tests, "domains": domains,
               "points": points, "timings": timings, "dims": [int(data.X_eval.shape[1]), int(data.Y_eval.shape[1])],
               "runs": [{k: v for k, v in r.items() if k != "items"} | summarize_items(r["items"]) for r in runs]}
    write_json(run_dir / "config.json", {**asdict(config), "environment": environment()})
    write_json(run_dir / "metrics.json", metrics)
    write_text(run_dir / "report.md", render_report(config, metrics, [f.name for f in figures]))
    if verbose:
        print()
        print(text_table(table_rows(curve), TABLE_COLUMNS))
        print("\n" + "\n".join(findings(crossings, tests, domains)))
        print(f"\nwrote {run_dir}/{{config.json, metrics.json, report.md"
              + "".join(f", {f.name}" for f in figures) + f"}}  ({timings['total_s']:.1f} s)")
    return run_dir


def _fit(model, X, Y, **kwargs):
    t0 = time.perf_counter()
    model.fit(X, Y, **kwargs)
    return model, round(time.perf_counter() - t0, 4)
