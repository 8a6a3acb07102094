"""Tables, selection statistics, figures and the Markdown report of :mod:`align.recipes.align_unshared`."""
from __future__ import annotations

import numpy as np

from ..metrics import translation_ci
from ..report import markdown_table, pyplot
from ..unsupervised.selection import CRITERIA, select, spearman

COLUMNS = ["method", "top1", "top1_ci", "seed_min", "seed_max", "mean_rank", "mean_cosine", "csls_top1",
           "fit_s", "ratio"]
HEADERS = ["method", "top-1", "95% CI", "seed min", "seed max", "mean rank", "mean cos", "CSLS top-1",
           "fit s (mean)", "÷ ceiling"]


def method_table(runs: list, config) -> list:
    """One row per method: means over seeds, the seed range, and a bootstrap CI over the items of all
    seeds pooled."""
    rows = []
    for spec in config.methods:
        rs = [r for r in runs if r["method"] == spec]
        good = [r for r in rs if "items" in r]
        row = {"method": spec, "n_seeds": len(rs), "n_failed": len(rs) - len(good),
               "fit_s": float(np.mean([r["fit_s"] for r in rs]))}
        if good:
            top1 = [r["top1"] for r in good]
            pooled = {k: np.concatenate([r["items"][k] for r in good]) for k in good[0]["items"]}
            ci = translation_ci(pooled, n_boot=config.n_boot)
            row.update(top1=float(np.mean(top1)), top1_low=ci["top1"]["low"], top1_high=ci["top1"]["high"],
                       seed_min=float(min(top1)), seed_max=float(max(top1)), seed_std=float(np.std(top1)),
                       mean_rank=float(np.mean([r["mean_rank"] for r in good])),
                       mean_rank_low=ci["mean_rank"]["low"], mean_rank_high=ci["mean_rank"]["high"],
                       mean_cosine=float(np.mean([r["mean_cosine"] for r in good])),
                       mean_cosine_low=ci["mean_cosine"]["low"], mean_cosine_high=ci["mean_cosine"]["high"],
                       csls_top1=float(np.mean([r.get("csls_top1", np.nan) for r in good])))
        else:
            row["top1"] = None
            row["error"] = rs[0].get("error", "") if rs else ""
        rows.append(row)
    return rows


def ratio(table: list, ceiling: dict):
    """Best method's top-1 as a fraction of the supervised ceiling's.

    Parameters
    ----------
    table : list of dict
        Method rows (``top1`` None for failed methods).
    ceiling : dict
        The ceiling's scores.

    Returns
    -------
    float or None
        None when no method succeeded or the ceiling's top-1 is 0.
    """
    ok = [r["top1"] for r in table if r.get("top1") is not None]
    return float(max(ok) / ceiling["top1"]) if ok and ceiling["top1"] > 0 else None


def selection_summary(runs: list, criterion: str) -> dict:
    """The criterion's pick among all runs, the best run by true top-1, and each criterion's Spearman
    correlation with true top-1 over the runs."""
    good = [r for r in runs if "criteria" in r]
    if not good:
        return {"n_runs": 0}
    best = max(good, key=lambda r: r["top1"])
    pick = good[select([r["criteria"] for r in good], criterion)]
    top1 = [r["top1"] for r in good]
    corr = {}
    for c in CRITERIA:
        vals = [r["criteria"].get(c, np.nan) for r in good]
        corr[c] = spearman(vals, top1) if len(good) >= 3 and np.all(np.isfinite(vals)) else None
    return {"criterion": criterion, "n_runs": len(good),
            "pick": {"method": pick["method"], "seed": pick["seed"], "top1": pick["top1"],
                     "value": pick["criteria"][criterion]},
            "best": {"method": best["method"], "seed": best["seed"], "top1": best["top1"]},
            "gap": float(best["top1"] - pick["top1"]), "spearman": corr,
            "top1_range": [float(min(top1)), float(max(top1))]}


def curve_summary(curve: list, ceiling: dict) -> list:
    """The pool-size curve: mean top-1, mean rank and fit time over seeds at each pool size.

    Parameters
    ----------
    curve : list of dict
        Runs of the best method at each pool size.
    ceiling : dict
        The ceiling's scores.

    Returns
    -------
    list of dict
    """
    rows = []
    for n in sorted({r["n_pool"] for r in curve}):
        rs = [r for r in curve if r["n_pool"] == n and "top1" in r]
        if rs:
            t = float(np.mean([r["top1"] for r in rs]))
            rows.append({"method": rs[0]["method"], "n_pool": n, "top1": t, "n_seeds": len(rs),
                         "mean_rank": float(np.mean([r["mean_rank"] for r in rs])),
                         "fit_s": float(np.mean([r["fit_s"] for r in rs])),
                         "ratio": t / ceiling["top1"] if ceiling["top1"] > 0 else None})
        else:
            rows.append({"method": curve[0]["method"], "n_pool": n, "top1": None, "error": "failed"})
    return rows


def table_rows(metrics: dict) -> list:
    """Terminal table rows: the ceiling first, then each method (failed ones with their error).

    Parameters
    ----------
    metrics : dict
        The run's metrics.

    Returns
    -------
    list of dict
    """
    c = metrics["ceiling"]
    rows = [{"method": c["method"] + " [ceiling]", "top1": c["top1"],
             "top1_ci": f"{c['ci']['top1']['low']:.3f}–{c['ci']['top1']['high']:.3f}",
             "mean_rank": c["mean_rank"], "mean_cosine": c["mean_cosine"], "csls_top1": c.get("csls_top1"),
             "fit_s": c["fit_s"], "ratio": 1.0}]
    for r in metrics["methods"]:
        if r.get("top1") is None:
            rows.append({"method": r["method"], "top1": "failed: " + r.get("error", "")[:60], "fit_s": r["fit_s"]})
            continue
        rows.append({**r, "top1_ci": f"{r['top1_low']:.3f}–{r['top1_high']:.3f}",
                     "ratio": r["top1"] / c["top1"] if c["top1"] > 0 else None})
    return rows


def plots(metrics: dict, run_dir, config) -> list:
    """methods.png (top-1 bars with CIs and the ceiling), pool_curve.png, words.png → file names."""
    plt = pyplot()
    names = []
    rows = [r for r in metrics["methods"] if r.get("top1") is not None]
    c = metrics["ceiling"]
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.55 * (len(rows) + 1)))
    labels = [c["method"] + " (ceiling)"] + [r["method"] for r in rows]
    vals = [c["top1"]] + [r["top1"] for r in rows]
    lo = [c["ci"]["top1"]["low"]] + [r["top1_low"] for r in rows]
    hi = [c["ci"]["top1"]["high"]] + [r["top1_high"] for r in rows]
    y = np.arange(len(labels))[::-1]
    ax.barh(y, vals, xerr=[np.subtract(vals, lo), np.subtract(hi, vals)], color=["grey"] + ["C0"] * len(rows),
            capsize=3)
    ax.axvline(1.0 / config.n_eval, color="red", ls=":", label=f"chance (1/{config.n_eval})")
    ax.set_yticks(y, [lab if len(lab) < 60 else lab[:57] + "…" for lab in labels], fontsize=7)
    ax.set_xlabel(f"held-out top-1 ({config.n_eval} gallery; 95% CI over items, seeds pooled)")
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_title(f"{config.source} → {config.target}, disjoint pools of {metrics['n_pool']}", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(run_dir / "methods.png", dpi=110)
    plt.close(fig)
    names.append("methods.png")
    curve = [r for r in metrics["pool_curve"] if r.get("top1") is not None]
    if curve:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot([r["n_pool"] for r in curve], [r["top1"] for r in curve], "o-", label=curve[0]["method"][:50])
        ax.axhline(c["top1"], color="grey", ls="--", label=c["method"] + " (ceiling)")
        ax.axhline(1.0 / config.n_eval, color="red", ls=":", label="chance")
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=0.01)
        ax.set_ylim(0, 1.05)
        ax.set_xlabel("strings per pool (each side, disjoint)")
        ax.set_ylabel("held-out top-1")
        ax.set_title("best unsupervised method vs pool size", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(run_dir / "pool_curve.png", dpi=110)
        plt.close(fig)
        names.append("pool_curve.png")
    words = metrics.get("words") or {}
    wrows = [r for r in words.get("rows", []) if r.get("p@1") is not None]
    if wrows:
        fig, ax = plt.subplots(figsize=(9, 1.2 + 0.5 * len(wrows)))
        y = np.arange(len(wrows))[::-1]
        ax.barh(y + 0.2, [r["p@1"] for r in wrows], 0.4, label="P@1 (CSLS)")
        ax.barh(y - 0.2, [r["p@5"] for r in wrows], 0.4, label="P@5 (CSLS)")
        ax.set_yticks(y, [f"{r['method'][:50]}" + ("" if r["seed"] is None else f" s{r['seed']}") for r in wrows],
                      fontsize=7)
        ax.set_xlabel("precision on held-out dictionary words")
        ax.set_title(f"{config.word_source} → {config.word_target}", fontsize=9)
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(run_dir / "words.png", dpi=110)
        plt.close(fig)
        names.append("words.png")
    return names


def render(config, metrics: dict, figures: list) -> str:
    """report.md of an align_unshared run.

    Parameters
    ----------
    config : Config
        The run's configuration.
    metrics : dict
        The run's metrics.
    figures : list of str
        Figure file names.

    Returns
    -------
    str
        Markdown.
    """
    c, sel, d = metrics["ceiling"], metrics["selection"], metrics["disjoint"]
    out = [f"# Aligning unshared sets: {config.source} → {config.target} ({config.corpus})", "",
           f"Disjoint pools of {metrics['n_pool']} strings per side (verified on the largest split used: "
           f"{d['shared_strings']} shared strings among eval {d['eval']}, train {d['train']}, pool A {d['pool_a']}, "
           f"pool B {d['pool_b']}; smaller pools are prefixes); held-out "
           f"gallery of {config.n_eval}; seeds {list(config.seeds)}. Chance top-1 = {1 / config.n_eval:.3f}.", "",
           markdown_table(table_rows(metrics), COLUMNS, HEADERS), ""]
    if metrics["best_method"] is not None:
        out.append(f"Best unsupervised method: **{metrics['best_method']}**, top-1 "
                   f"{max(r['top1'] for r in metrics['methods'] if r.get('top1') is not None):.3f} = "
                   f"{(metrics['best_ratio_to_ceiling'] or 0):.3f} × the ceiling ({c['top1']:.3f}).")
    if sel.get("n_runs"):
        out += ["", f"## Label-free selection ({sel['n_runs']} runs)", "",
                f"`{sel['criterion']}` picks {sel['pick']['method']} seed {sel['pick']['seed']} "
                f"(top-1 {sel['pick']['top1']:.3f}); the best run is {sel['best']['method']} seed "
                f"{sel['best']['seed']} (top-1 {sel['best']['top1']:.3f}); gap {sel['gap']:.3f}. "
                f"True top-1 ranges {sel['top1_range'][0]:.3f}–{sel['top1_range'][1]:.3f}.", "",
                "Spearman correlation of each criterion with true top-1 over the runs:", "",
                markdown_table([{"criterion": k, "spearman": v} for k, v in sel["spearman"].items()],
                               ["criterion", "spearman"])]
    if metrics["pool_curve"]:
        out += ["", "## Best method vs pool size", "",
                markdown_table(metrics["pool_curve"], ["method", "n_pool", "top1", "mean_rank", "ratio", "fit_s"],
                               ["method", "pool", "top-1", "mean rank", "÷ ceiling", "fit s"])]
    w = metrics.get("words")
    if w is not None:
        out += ["", "## Word level", ""]
        if not w["available"]:
            out.append(f"Not run: {w['reason']}")
        else:
            reduced = f", PCA to {w['dims'][1]}-d" if config.word_target_dim else ""
            out += [f"{config.word_source} ({w['dims'][0]}-d) → {config.word_target} ({w['dims'][1]}-d{reduced}), "
                    f"{w['n_words'][0]} / {w['n_words'][1]} most frequent words, {w['n_test']} held-out source "
                    f"words, ceiling trained on {w['n_train_pairs']} gold pairs; CSLS retrieval over all "
                    f"{w['n_words'][1]} target words.", "",
                    markdown_table([{**r, "seed": "—" if r.get("seed") is None else r["seed"]} for r in w["rows"]],
                                   ["method", "seed", "p@1", "p@5", "fit_s"],
                                   ["method", "seed", "P@1", "P@5", "fit s"])]
    t = metrics["timings"]
    out += ["", "## Timings", "", ", ".join(f"{k} {v:.1f} s" for k, v in t.items()), "",
            "Embedding time (cache hits when warm) is separate from fitting; fit times are per run."]
    out += [""] + [f"![{f}]({f})" for f in figures]
    return "\n".join(out) + "\n"
