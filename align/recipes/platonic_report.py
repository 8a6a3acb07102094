"""Plots and the Markdown report of the platonic-convergence recipe."""
from __future__ import annotations

import numpy as np

from ..report import fmt, markdown_table, pyplot

METRIC_TITLES = {"mutual_knn": "mutual kNN", "cka": "linear CKA", "unbiased_cka": "unbiased CKA",
                 "cknna": "CKNNA", "cycle_knn": "cycle kNN", "svcca": "SVCCA", "rsa": "RSA"}



def heatmap(path, names, values, p_values, title):
    """Write an m x m heatmap of one metric between models; cells with p < 0.05 are starred.

    Parameters
    ----------
    path : pathlib.Path
        PNG file.
    names : list of str
        Model names (rows and columns).
    values, p_values : list of list
        m x m values and permutation p-values (None on the diagonal).
    title : str
    """
    plt = pyplot()
    V = np.array([[np.nan if v is None else v for v in row] for row in values], float)
    m = len(names)
    fig, ax = plt.subplots(figsize=(1.25 * m + 2.5, 1.05 * m + 1.8))
    im = ax.imshow(V, cmap="viridis", vmin=0, vmax=max(1e-9, np.nanmax(V)))
    for i in range(m):
        for j in range(m):
            p = p_values[i][j]
            mark = "" if p is None else ("*" if p < 0.05 else " (ns)")
            colour = "white" if V[i, j] < 0.6 * np.nanmax(V) else "black"
            ax.text(j, i, f"{V[i, j]:.2f}{mark}", ha="center", va="center", fontsize=8, color=colour)
    ax.set_xticks(range(m), names, rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(m), names, fontsize=8)
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="similarity")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def trend_plot(path, summary, members, control):
    """Write mean alignment against model size and against competence, one panel per metric.

    Parameters
    ----------
    path : pathlib.Path
        PNG file.
    summary : dict
        The run's summary.
    members : list of int
        Indices of the trained (non-control) models.
    control : list of int
        Indices of the random-init controls.
    """
    plt = pyplot()
    names = summary["names"]
    metrics = list(summary["mean_alignment"])
    comp = summary["competence"]["per_model"]
    models = list(summary["sizes_millions"])
    fig, axes = plt.subplots(len(metrics), 2, figsize=(10, 3.8 * len(metrics)), squeeze=False)
    for r, metric in enumerate(metrics):
        ma = summary["mean_alignment"][metric]
        for c, xkey in enumerate(("size", "competence")):
            ax = axes[r, c]
            for i, name in enumerate(names):
                y = ma[name]
                x = summary["sizes_millions"][models[i]] if xkey == "size" else comp[name]["value"]
                # a percentile interval need not contain the estimate: clip the bars at 0
                yerr = [[max(0.0, y["value"] - y.get("low", y["value"]))], [max(0.0, y.get("high", y["value"]) - y["value"])]]
                xerr = None
                if xkey == "competence" and "low" in comp[name]:
                    xerr = [[max(0.0, x - comp[name]["low"])], [max(0.0, comp[name]["high"] - x)]]
                style = dict(marker="s", color="grey") if i in control else dict(marker="o")
                ax.errorbar([x], [y["value"]], yerr=yerr, xerr=xerr, capsize=3, linestyle="none", **style)
                ax.annotate(name, (x, y["value"]), textcoords="offset points", xytext=(5, 4), fontsize=7)
            null = np.nanmean(np.array(summary["matrices"][metric]["null_mean"], dtype=float))
            if np.isfinite(null):
                ax.axhline(null, color="black", linestyle="--", linewidth=0.8, label="permutation null (mean)")
            if xkey == "size":
                from matplotlib.ticker import NullFormatter, ScalarFormatter  # lazy: matplotlib only when plotting
                ax.set_xscale("log")
                ax.set_xticks([10, 20, 50, 100, 200])
                ax.xaxis.set_major_formatter(ScalarFormatter())
                ax.xaxis.set_minor_formatter(NullFormatter())
                ax.set_xlabel("parameters (millions, log scale)")
                ax.legend(fontsize=7, loc="best")
            else:
                ax.axvline(summary["competence"]["majority_baseline"], color="grey", linestyle=":",
                           label="majority-genre baseline")
                ax.set_xlabel("competence: genre kNN accuracy")
                ax.legend(fontsize=7, loc="lower right")
            ax.set_ylabel(f"mean {METRIC_TITLES.get(metric, metric)} to the other models")
            ax.grid(alpha=0.3)
    fig.suptitle("Alignment vs model size and competence (bars: bootstrap CIs; grey square: random-init control)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_all(run_dir, summary, members, control) -> list:
    """Every figure of a platonic-convergence run.

    Parameters
    ----------
    run_dir : pathlib.Path
        Output folder.
    summary : dict
        The run's summary.
    members : list of int
        Indices of the trained (non-control) models.
    control : list of int
        Indices of the random-init controls.

    Returns
    -------
    list of str
        The file names written.
    """
    pngs = []
    for metric, res in summary["matrices"].items():
        name = f"heatmap_{metric}.png"
        title = (f"{METRIC_TITLES.get(metric, metric)} on {summary['n_texts']} texts"
                 + (f" (k={summary['k']})" if "knn" in metric else "") + "; * = permutation p < 0.05")
        heatmap(run_dir / name, summary["names"], res["values"], res["p_values"], title)
        pngs.append(name)
    trend_plot(run_dir / "alignment_vs_size_competence.png", summary, members, control)
    pngs.append("alignment_vs_size_competence.png")
    return pngs


def _ci(row) -> str:
    if row.get("low") is None:
        return fmt(row["value"])
    return f"{row['value']:.3f} [{row['low']:.3f}, {row['high']:.3f}]"


def _verdict(t: dict, key: str) -> str:
    ci = t.get(key + "_ci")
    if ci is None or not np.isfinite(t[key]):
        return f"Spearman {fmt(t[key])} (no interval)"
    if ci[0] > 0:
        word = "yes"
    elif ci[1] < 0:
        word = "no (the opposite)"
    else:
        word = "not resolved (the interval spans 0)"
    return f"{word}: Spearman {t[key]:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]"


def render_report(summary, config, pngs, terminal: bool = False) -> str:
    """report.md (or the terminal summary) of a platonic-convergence run.

    Parameters
    ----------
    summary : dict
        The run's summary.
    config : Config
        The run's configuration.
    pngs : list of str
        Figure file names.
    terminal : bool, default False
        Plain text for the terminal instead of Markdown with figures.

    Returns
    -------
    str
    """
    names = summary["names"]
    models = list(summary["sizes_millions"])
    comp = summary["competence"]["per_model"]
    lines = [f"# Platonic convergence on {summary['n_texts']} {config.corpus} texts", "",
             "Preprocessing: decoder features z-scored per dimension; every model clipped at the 0.95 quantile of "
             "|x| and L2-normalised (Huh et al., 2024). "
             f"p-values: {config.n_permutations} permutations of the pairing; intervals: {config.n_boot} "
             f"bootstrap resamples of the texts, {int(config.level * 100)}% percentile.", "",
             "## Models", ""]
    rows = [{"model": names[i], "family": summary["families"][m], "params (M)": summary["sizes_millions"][m],
             "genre kNN accuracy": _ci(comp[names[i]])} for i, m in enumerate(models)]
    lines += [markdown_table(rows, list(rows[0])), "",
              f"Competence proxy: {summary['competence']['name']} over {len(summary['genres'])} genres "
              f"(majority-genre baseline {summary['competence']['majority_baseline']:.3f}).", ""]
    for metric, res in summary["matrices"].items():
        title = METRIC_TITLES.get(metric, metric)
        lines += [f"## {title}", ""]
        mat = [{"": names[i], **{names[j]: ("1" if i == j else _ci({"value": res["values"][i][j], "low": res["low"][i][j],
                                                                        "high": res["high"][i][j]}))
                                 for j in range(len(names))}} for i in range(len(names))]
        lines += [markdown_table(mat, [""] + names), ""]
        pv = [{"": names[i], **{names[j]: "-" if res["p_values"][i][j] is None else f"{res['p_values'][i][j]:.3g}"
                                for j in range(len(names))}} for i in range(len(names))]
        lines += ["Permutation p-values:", "", markdown_table(pv, [""] + names), ""]
        for c in summary["control"]:
            i = names.index(c)
            ctrl = [{"vs": names[j], "value": res["values"][i][j], "null mean": res["null_mean"][i][j],
                     "null 95%": res["null_q95"][i][j], "p": res["p_values"][i][j]}
                    for j in range(len(names)) if j != i]
            lines += [f"Control {c} against the null:", "", markdown_table(ctrl, list(ctrl[0])), ""]
            trained = [res["values"][a][b] for a in range(len(names)) for b in range(a + 1, len(names))
                       if names[a] not in summary["control"] and names[b] not in summary["control"]]
            cv = [r["value"] for r in ctrl if r["vs"] not in summary["control"]]
            nm = [r["null mean"] for r in ctrl if r["vs"] not in summary["control"] and r["null mean"] is not None]
            if trained and cv and nm:
                lines += [f"The control scores {min(cv):.3f}–{max(cv):.3f} against the other models (permutation null "
                          f"mean {np.mean(nm):.3f}); pairs of trained models score {min(trained):.3f}–{max(trained):.3f}.", ""]
        ma = summary["mean_alignment"][metric]
        t = summary["trends"][metric]
        lines += [f"Mean {title} of each model to the other (non-control) models: "
                  + "; ".join(f"{n} {_ci(ma[n])}" for n in names), "",
                  f"- Do larger models align more? {_verdict(t, 'vs_size')} (models without the control).",
                  f"- Do better models align more? {_verdict(t, 'vs_competence')}.", ""]
    for model, g in summary["layer_grids"].items():
        vals = ", ".join(f"L{la}: {row[0]:.3f} (p {p[0]:.3g})" for la, row, p in zip(g["layers"], g["grid"], g["p_values"]))
        lines += [f"## Layer sweep: {model} vs {config.reference} (mutual kNN)", "", vals, "",
                  f"Best layer L{g['layers'][g['argmax'][0]]}: {g['max']:.3f}; permutation null of the maximum: "
                  f"mean {g['null_max']['mean']:.3f}, 95% {g['null_max']['q95']:.3f}; p = {g['p_value']:.3g}.", ""]
    lines += ["Timings (s): " + ", ".join(f"{k}={v}" for k, v in summary["timings"].items()), ""]
    if not terminal:
        lines += [f"![{p}]({p})" for p in pngs]
    return "\n".join(lines) + "\n"
