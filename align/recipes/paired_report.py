"""Statistics and the Markdown report of the paired-vs-unpaired study (see paired_vs_unpaired.py).

``runs`` are dicts ``{"method", "n_pairs", "seed", "fit_s", "items"}`` where ``items`` holds the
per-item results of :func:`align.metrics.translation_items` on the held-out gallery.
"""
from __future__ import annotations

import numpy as np

from ..metrics import bootstrap_ci, paired_permutation_test
from ..report import markdown_table

# --------------------------------------------------------------------------- statistics
_CURVE_METRICS = {"top1": ("rank", lambda r: (r <= 1).astype(float)), "mean_rank": ("rank", lambda r: r),
                  "csls_top1": ("csls_rank", lambda r: (r <= 1).astype(float)), "foscttm": ("foscttm", None),
                  "mean_cosine": ("cosine", None)}


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
    """Per-label scores of every method at one curve point; sorted worst first for the best method.

    The point is ``config.domain_n_pairs`` when set (the nearest point of the curve), else the
    largest. Unsupervised methods (0 pairs) are shown at their only point. Worst = lowest top-1,
    ties broken by the larger mean rank.
    """
    paired = sorted({r["n_pairs"] for r in curve if r["n_pairs"] > 0})
    want = getattr(config, "domain_n_pairs", 0)
    n_at = (min(paired, key=lambda n: abs(np.log(n / want))) if want else paired[-1]) if paired else 0
    best = max((r for r in curve if r["n_pairs"] == n_at), key=lambda r: r["top1"])["method"]
    if labels is None:
        return {"method": best, "n_pairs": n_at, "rows": []}
    labels = np.asarray(labels)
    points = {r["method"]: (0 if r["n_pairs"] == 0 else n_at) for r in runs}
    rows = []
    for label in sorted(set(labels.tolist())):
        mask = labels == label
        row = {"domain": label, "n_items": int(mask.sum())}
        for method, n in points.items():
            group = [r for r in runs if r["method"] == method and r["n_pairs"] == n]
            if not group:
                continue
            hits = _seed_mean(group, "rank", _CURVE_METRICS["top1"][1])[mask]
            row[f"{method}_top1"] = float(hits.mean())
            row[f"{method}_cosine"] = float(_seed_mean(group, "cosine", None)[mask].mean())
            if method == best:
                ci = bootstrap_ci(hits, n_boot=config.n_boot, seed=0)
                row["top1_low"], row["top1_high"] = ci["low"], ci["high"]
                row["mean_rank"] = float(_seed_mean(group, "rank", None)[mask].mean())
        rows.append(row)
    rows.sort(key=lambda r: (r[f"{best}_top1"], -r["mean_rank"]))
    return {"method": best, "n_pairs": n_at, "rows": rows}


# --------------------------------------------------------------------------- report
TABLE_COLUMNS = ["method", "n_pairs", "top1", "top1_ci95", "csls_top1", "mean_rank", "mean_cosine", "fit_s"]


def table_rows(curve):
    """Curve rows formatted for the terminal table (a ``top1_ci95`` string, rounded mean rank).

    Parameters
    ----------
    curve : list of dict
        From :func:`aggregate`.

    Returns
    -------
    list of dict
    """
    out = []
    for r in curve:
        row = dict(r)
        row["top1_ci95"] = f"[{r['top1_low']:.3f}, {r['top1_high']:.3f}]"
        row["mean_rank"] = round(r["mean_rank"], 1)
        out.append(row)
    return out


def findings(crossings, tests, domains) -> list:
    """The report's findings as Markdown bullet lines.

    Parameters
    ----------
    crossings : list of dict
        From :func:`crossovers`.
    tests : list of dict
        From :func:`comparisons`.
    domains : dict
        From :func:`domain_breakdown`.

    Returns
    -------
    list of str
    """
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
        cos = min(domains["rows"], key=lambda r: r[f"{m}_cosine"])
        lines.append(f"- lowest mean cosine for {m}: {cos['domain']} ({cos[f'{m}_cosine']:.3f}).")
    return lines


def render_report(config, metrics, figures) -> str:
    """report.md of a paired-vs-unpaired run.

    Parameters
    ----------
    config : Config
        The run's configuration.
    metrics : dict
        The run's metrics.json content.
    figures : list of str
        File names of the figures to embed.

    Returns
    -------
    str
        Markdown.
    """
    dims = metrics["dims"]
    lines = [f"# Paired vs unpaired: {config.source} ({dims[0]}-d) → {config.target} ({dims[1]}-d) "
             f"on {config.corpus}", "",
             f"Translators fitted on nested random subsets of {config.n_train} paired strings "
             f"(points {metrics['points']}), seeds {list(config.seeds)}; scored on {config.n_eval} held-out "
             "strings that no translator saw. Values are seed means; the 95% CI is a bootstrap over "
             f"held-out items ({config.n_boot} resamples) of the seed-averaged per-item results. "
             f"CSLS uses k = {config.csls_k}. Chance top-1 = {1 / (config.gallery_size or config.n_eval):.4f}.",
             "", "## Learning curves", "",
             markdown_table(table_rows(metrics["curve"]), TABLE_COLUMNS + ["mean_cosine_low", "mean_cosine_high"]),
             "", "## Findings", "", *findings(metrics["crossovers"], metrics["comparisons"], metrics["domains"])]
    d = metrics["domains"]
    if d["rows"]:
        cols = ["domain", "n_items", "mean_rank"] + [k for k in d["rows"][0] if k.endswith(("_top1", "_cosine"))]
        lines += ["", f"## Domains (worst first for {d['method']} at {d['n_pairs']} pairs; mean_rank is {d['method']}'s)", "",
                  markdown_table(d["rows"], cols)]
    lines += ["", "## Figures", ""] + [f"![{f}]({f})" for f in figures]
    lines += ["", "Timings (s): " + ", ".join(f"{k}={v}" for k, v in metrics["timings"].items())]
    return "\n".join(lines) + "\n"
