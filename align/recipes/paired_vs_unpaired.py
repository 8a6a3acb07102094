"""Paired vs unpaired: how many paired strings does it take to translate model A's space into B's?

Embeds the default corpus (KJV verses) with two packaged encoders of different families, holds out a
gallery of strings that no translator sees, and fits every translator of the registry
(:mod:`align.recipes.translators`) on nested random subsets of the paired training strings
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
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np

from ..exceptions import ValidationError
from ..metrics import bootstrap_ci, paired_permutation_test, summarize_items, translation_items
from ..report import environment, markdown_table, new_run_dir, text_table, write_json, write_text
from .common import load_corpus, timer
from .paired_data import load_paired
from .translators import get_method

NAME = "paired_vs_unpaired"


@dataclass
class Config:
    source: str = "minilm-l6"  # encoder name, or "name@layer" for a hidden state
    target: str = "e5-small"
    corpus: str = "kjv"
    n_train: int = 3000  # paired training strings (the largest point of the curve)
    n_eval: int = 1000  # held-out gallery
    n_pairs: tuple[int, ...] = ()  # curve points; () = n_points log-spaced from min_pairs to n_train
    min_pairs: int = 10
    n_points: int = 6
    methods: tuple[str, ...] = ("linear", "procrustes", "mlp")
    unsupervised_methods: tuple[str, ...] = ()  # fitted on unpaired pools: the 0-pairs point
    init_from: str = ""  # an unsupervised method that initialises methods that accept an init
    n_pool: int = 0  # unpaired target-side pool; 0 = n_train (embedded only when needed)
    seeds: tuple[int, ...] = (0, 1, 2)
    csls_k: int = 10
    gallery_size: int = 0  # 0 = the whole held-out set
    n_boot: int = 1000
    mlp_hidden: int = 512
    mlp_depth: int = 1
    mlp_epochs: int = 60
    mlp_patience: int = 8
    mlp_lr: float = 1e-3
    mlp_loss: str = "mse"
    refine_iters: int = 5
    threads: int = 1  # torch threads while fitting (1 is fastest on a busy 2-core CPU); 0 = torch default
    tsne_points: int = 250
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
    t_start = time.perf_counter()
    methods, unsup, init = _check(config)
    points = curve_points(config)
    need_pool = bool(unsup or init or any(m.uses_pools for m in methods))
    n_pool = (config.n_pool or config.n_train) if need_pool else 0
    timings = {}
    corpus = load_corpus(config.corpus)
    data = load_paired(corpus, config.source, config.target, n_eval=config.n_eval, n_train=config.n_train,
                       n_pool=n_pool, data_seed=config.data_seed, cache=config.cache, timings=timings)
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

    with timer(timings, "fit_eval_s"), limit_threads(config.threads):
        for seed in config.seeds:
            init_model = None
            for m in unsup + ([init] if init is not None and init not in unsup else []):
                model, fit_s = _fit(m.factory(seed=seed, n_pairs=0, config=config), data.X_train, data.Y_pool)
                if m in unsup:
                    record(m.name, 0, seed, model, fit_s, data.X_eval)
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
            say(f"  seed {seed} done ({time.perf_counter() - t_start:.0f} s)")
    with timer(timings, "stats_s"):
        curve = aggregate(runs, config)
        crossings = crossovers(curve)
        tests = comparisons(runs, config)
        domains = domain_breakdown(runs, data.labels_eval, curve, config)
    run_dir = new_run_dir(config.out, NAME)
    figures = []
    if config.plots:
        from . import plots
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
        print(text_table(_table_rows(curve), TABLE_COLUMNS))
        print("\n" + "\n".join(_findings(crossings, tests, domains)))
        print(f"\nwrote {run_dir}/{{config.json, metrics.json, report.md"
              + "".join(f", {f.name}" for f in figures) + f"}}  ({timings['total_s']:.1f} s)")
    return run_dir


@contextmanager
def limit_threads(n: int):
    """Cap BLAS (threadpoolctl) and torch CPU threads at ``n`` inside the block (0: unchanged)."""
    if not n:
        yield
        return
    from ..supervised.mlp import torch_threads
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: then only torch is capped
        threadpool_limits = None
    with torch_threads(n):
        if threadpool_limits is None:
            yield
        else:
            with threadpool_limits(limits=n):
                yield


def _fit(model, X, Y, **kwargs):
    t0 = time.perf_counter()
    model.fit(X, Y, **kwargs)
    return model, round(time.perf_counter() - t0, 4)


# --------------------------------------------------------------------------- statistics
_CURVE_METRICS = {"top1": ("rank", lambda r: (r <= 1).astype(float)), "mean_rank": ("rank", lambda r: r),
                  "csls_top1": ("csls_rank", lambda r: (r <= 1).astype(float)), "mean_cosine": ("cosine", None)}


def _seed_mean(group, key, fn):
    vals = [np.asarray(r["items"][key], np.float64) for r in group if key in r["items"]]
    vals = [fn(v) if fn else v for v in vals]
    return np.mean(vals, axis=0) if vals else None


def aggregate(runs, config) -> list:
    """One row per (method, n_pairs): seed-mean of each metric, a bootstrap CI over items of the
    seed-averaged per-item values, and the spread across seeds."""
    groups = {}
    for r in runs:
        groups.setdefault((r["method"], r["n_pairs"]), []).append(r)
    rows = []
    for (method, n), group in groups.items():
        row = {"method": method, "n_pairs": n, "n_seeds": len(group),
               "fit_s": float(np.mean([r["fit_s"] for r in group]))}
        for name, (key, fn) in _CURVE_METRICS.items():
            per_item = _seed_mean(group, key, fn)
            if per_item is None:
                continue
            ci = bootstrap_ci(per_item, n_boot=config.n_boot, seed=0)
            per_seed = [float(np.mean(fn(np.asarray(r["items"][key], np.float64)) if fn else r["items"][key]))
                        for r in group]
            row.update({name: ci["value"], f"{name}_low": ci["low"], f"{name}_high": ci["high"],
                        f"{name}_seed_std": float(np.std(per_seed))})
        rows.append(row)
    return sorted(rows, key=lambda r: (r["method"], r["n_pairs"]))


def crossovers(curve, metric: str = "top1") -> list:
    """For each ordered pair (a, b): the smallest n from which a's ``metric`` beats b's at every
    larger point of the curve (``None`` if a never ends ahead)."""
    by = {}
    for r in curve:
        if r["n_pairs"] > 0:
            by.setdefault(r["method"], {})[r["n_pairs"]] = r[metric]
    out = []
    for a in by:
        for b in by:
            common = sorted(set(by[a]) & set(by[b]))
            if a == b or not common:
                continue
            ahead = [by[a][n] > by[b][n] for n in common]
            start = None
            for i in range(len(common) - 1, -1, -1):
                if not ahead[i]:
                    break
                start = common[i]
            if start is not None and start != common[0]:
                out.append({"method": a, "overtakes": b, "from_n_pairs": start, "metric": metric})
            elif start == common[0]:
                out.append({"method": a, "overtakes": b, "from_n_pairs": start, "metric": metric,
                            "note": "ahead at every point"})
    return out


def comparisons(runs, config) -> list:
    """Paired permutation tests on per-item top-1 (seed-averaged) at the largest common n."""
    by = {}
    for r in runs:
        by.setdefault(r["method"], {}).setdefault(r["n_pairs"], []).append(r)
    names = sorted(by)
    out = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            common = set(by[a]) & set(by[b])
            if not common:
                continue
            n = max(common)
            fa, fb = (_seed_mean(by[m][n], "rank", _CURVE_METRICS["top1"][1]) for m in (a, b))
            test = paired_permutation_test(fa, fb, n_permutations=2000, seed=0)
            out.append({"a": a, "b": b, "n_pairs": n, "top1_diff": test["diff"], "p_value": test["p_value"]})
    return out


def domain_breakdown(runs, labels, curve, config) -> dict:
    """Per-label scores of every method at its largest n; sorted worst first for the best method."""
    top = max((r for r in curve if r["n_pairs"] > 0), key=lambda r: (r["n_pairs"], r["top1"]), default=None)
    top = top or max(curve, key=lambda r: r["top1"])
    best = max((r for r in curve if r["n_pairs"] == top["n_pairs"]), key=lambda r: r["top1"])["method"]
    if labels is None:
        return {"method": best, "n_pairs": top["n_pairs"], "rows": []}
    labels = np.asarray(labels)
    largest = {}
    for r in runs:
        largest[r["method"]] = max(largest.get(r["method"], -1), r["n_pairs"])
    rows = []
    for label in sorted(set(labels.tolist())):
        mask = labels == label
        row = {"domain": label, "n_items": int(mask.sum())}
        for method, n in largest.items():
            group = [r for r in runs if r["method"] == method and r["n_pairs"] == n]
            hits = _seed_mean(group, "rank", _CURVE_METRICS["top1"][1])[mask]
            row[f"{method}_top1"] = float(hits.mean())
            row[f"{method}_cosine"] = float(_seed_mean(group, "cosine", None)[mask].mean())
            if method == best:
                ci = bootstrap_ci(hits, n_boot=config.n_boot, seed=0)
                row["top1_low"], row["top1_high"] = ci["low"], ci["high"]
        rows.append(row)
    rows.sort(key=lambda r: r[f"{best}_top1"])
    return {"method": best, "n_pairs": largest[best], "rows": rows}


# --------------------------------------------------------------------------- report
TABLE_COLUMNS = ["method", "n_pairs", "top1", "top1_ci95", "csls_top1", "mean_rank", "mean_cosine", "fit_s"]


def _table_rows(curve):
    out = []
    for r in curve:
        row = dict(r)
        row["top1_ci95"] = f"[{r['top1_low']:.3f}, {r['top1_high']:.3f}]"
        row["mean_rank"] = round(r["mean_rank"], 1)
        out.append(row)
    return out


def _findings(crossings, tests, domains) -> list:
    lines = []
    for c in crossings:
        if c.get("note"):
            lines.append(f"- {c['method']} has a higher top-1 than {c['overtakes']} at every point.")
        else:
            lines.append(f"- {c['method']} overtakes {c['overtakes']} (top-1) from {c['from_n_pairs']} pairs on.")
    for t in tests:
        lines.append(f"- at {t['n_pairs']} pairs, top-1 of {t['a']} − {t['b']} = {t['top1_diff']:+.3f} "
                     f"(paired permutation p = {t['p_value']:.4f}).")
    if domains["rows"]:
        m = domains["method"]
        worst = ", ".join(f"{r['domain']} ({r[f'{m}_top1']:.2f})" for r in domains["rows"][:3])
        lines.append(f"- worst-translated domains for {m} at {domains['n_pairs']} pairs (top-1): {worst}.")
    return lines


def render_report(config, metrics, figures) -> str:
    dims = metrics["dims"]
    lines = [f"# Paired vs unpaired: {config.source} ({dims[0]}-d) → {config.target} ({dims[1]}-d) "
             f"on {config.corpus}", "",
             f"Translators fitted on nested random subsets of {config.n_train} paired strings "
             f"(points {metrics['points']}), seeds {list(config.seeds)}; scored on {config.n_eval} held-out "
             "strings that no translator saw. Values are seed means; the 95% CI is a bootstrap over "
             f"held-out items ({config.n_boot} resamples) of the seed-averaged per-item results. "
             f"CSLS uses k = {config.csls_k}. Chance top-1 = {1 / (config.gallery_size or config.n_eval):.4f}.",
             "", "## Learning curves", "",
             markdown_table(_table_rows(metrics["curve"]), TABLE_COLUMNS + ["mean_cosine_low", "mean_cosine_high"]),
             "", "## Findings", "", *_findings(metrics["crossovers"], metrics["comparisons"], metrics["domains"])]
    d = metrics["domains"]
    if d["rows"]:
        cols = ["domain", "n_items"] + [k for k in d["rows"][0] if k.endswith(("_top1", "_cosine"))]
        lines += ["", f"## Domains (worst first for {d['method']} at {d['n_pairs']} pairs)", "",
                  markdown_table(d["rows"], cols)]
    lines += ["", "## Figures", ""] + [f"![{f}]({f})" for f in figures]
    lines += ["", "Timings (s): " + ", ".join(f"{k}={v}" for k, v in metrics["timings"].items())]
    return "\n".join(lines) + "\n"
