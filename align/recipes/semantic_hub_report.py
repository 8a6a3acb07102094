"""Plots, verdict and Markdown report of the semantic-hub recipe."""
from __future__ import annotations

import numpy as np

from ..report import markdown_table, pyplot

LANG_NAMES = {"en": "English", "ny": "Chichewa"}


def strip_arrays(curves: dict) -> dict:
    """Curves without their per-resample / per-item arrays (kept out of metrics.json)."""
    return {m: {k: v for k, v in c.items() if k not in ("boot", "hits")} for m, c in curves.items()}



def _band(ax, curve, label, style=None, color=None):
    x = np.asarray(curve["layers"])
    line, = ax.plot(x, curve["values"], style or "-", label=label, color=color, linewidth=1.6)
    if "low" in curve:
        ax.fill_between(x, curve["low"], curve["high"], alpha=0.2, color=line.get_color())
    return line


def _shade_middle(ax, regions):
    mid = regions["middle"]
    ax.axvspan(mid[0] - 0.5, mid[-1] + 0.5, color="grey", alpha=0.12, label="middle third")


def plot_curves(path, summary):
    """Write the per-layer alignment curves of the model (and the control) with their CIs.

    Parameters
    ----------
    path : pathlib.Path
        PNG file.
    summary : dict
        The run's summary.
    """
    plt = pyplot()
    model, control = summary["model"], summary["control"]
    tc = summary["models"][model]["curves"]
    cc = summary["models"][control]["curves"] if control else {}
    panels = [("mutual_knn", "mutual kNN@%d (en ↔ %s)" % (summary["k"], summary["language"])),
              ("top1", "top-1 retrieval of the translation")]
    if "top1_mixed_to_en" in tc:
        panels.append(("mixed", "code-switched verse → its English / Chichewa version"))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2))
    for ax, (key, title) in zip(np.atleast_1d(axes), panels):
        _shade_middle(ax, summary["regions"])
        if key == "mutual_knn":
            _band(ax, tc["mutual_knn"], f"{model}", color="C0")
            if cc:
                _band(ax, cc["mutual_knn"], f"{control} (control)", "--", color="C3")
            ax.plot(tc["mutual_knn"]["layers"], tc["mutual_knn"]["null_q95"], ":", color="k",
                    label="shuffled pairs, 95% quantile")
        elif key == "top1":
            _band(ax, tc["top1_en_to_ny"], "en → ny", color="C0")
            _band(ax, tc["top1_ny_to_en"], "ny → en", color="C1")
            _band(ax, tc["top1_en_to_ny_joint_zscore"], "en → ny, joint z-score", "-.", color="C2")
            if cc:
                _band(ax, cc["top1_en_to_ny"], f"control en → ny", "--", color="C3")
            ax.axhline(tc["top1_en_to_ny"]["chance"], color="k", linestyle=":", label="chance (1/n)")
        else:
            _band(ax, tc["top1_mixed_to_en"], "mixed → en", color="C0")
            _band(ax, tc["top1_mixed_to_ny"], "mixed → ny", color="C1")
            if cc:
                _band(ax, cc["top1_mixed_to_en"], "control mixed → en", "--", color="C3")
                _band(ax, cc["top1_mixed_to_ny"], "control mixed → ny", "--", color="C5")
        ax.set_xlabel("hidden state (0 = token embeddings)")
        ax.set_ylabel("mutual kNN" if key == "mutual_knn" else "top-1 accuracy")
        ax.set_title(title, fontsize=10)
        top = ax.get_ylim()[1]
        ax.set_ylim(0, top * 1.4)  # head room for the legend above the curves
        ax.legend(fontsize=7, framealpha=0.7, loc="upper center", ncol=2)
    fig.suptitle(f"{model}, {summary['n_texts']} verse pairs; bands: {int(100 * summary_level(summary))}% "
                 "bootstrap CIs", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summary_level(summary):
    """Confidence level of the run's intervals (default 0.95)."""
    return summary["models"][summary["model"]]["curves"]["mutual_knn"].get("level", 0.95)


def plot_lens(path, summary):
    """Write the logit-lens token-set shares per layer, one panel per input kind.

    Parameters
    ----------
    path : pathlib.Path
        PNG file.
    summary : dict
        The run's summary (with ``"lens"``).
    """
    plt = pyplot()
    lens, lang = summary["lens"], summary["language"]
    kinds = list(lens["per_kind"])
    fig, axes = plt.subplots(1, len(kinds), figsize=(5 * len(kinds), 4), sharey=True)
    for ax, kind in zip(np.atleast_1d(axes), kinds):
        rows = lens["per_kind"][kind]
        x = [r["layer"] for r in rows]
        for name, colour in (("en", "C0"), (lang, "C1")):
            ax.plot(x, [r[name] for r in rows], color=colour, label=f"{LANG_NAMES.get(name, name)}-only tokens")
            ax.fill_between(x, [r[f"{name}_low"] for r in rows], [r[f"{name}_high"] for r in rows],
                            color=colour, alpha=0.2)
            ax.axhline(lens["uniform_mass"][name], color=colour, linestyle=":", linewidth=1)
        _shade_middle(ax, summary["regions"])
        ax.set_title(f"input: {LANG_NAMES.get(kind, 'code-switched')} verses", fontsize=10)
        ax.set_xlabel("layer read through the final norm + LM head")
        ax.legend(fontsize=7)
    np.atleast_1d(axes)[0].set_ylabel("next-token probability mass")
    fig.suptitle(f"logit lens of {summary['model']} ({lens['n_texts']} verses per input, "
                 f"{lens['positions']} positions each); dotted: uniform mass", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_all(run_dir, summary) -> list:
    """Every figure of a semantic-hub run.

    Parameters
    ----------
    run_dir : pathlib.Path
        Output folder.
    summary : dict
        The run's summary.

    Returns
    -------
    list of str
        The file names written.
    """
    pngs = ["layer_curve.png"]
    plot_curves(run_dir / "layer_curve.png", summary)
    if summary.get("lens"):
        plot_lens(run_dir / "lens_shares.png", summary)
        pngs.append("lens_shares.png")
    return pngs


def _ci(c, i, digits=3):
    if "low" not in c:
        return f"{c['values'][i]:.{digits}f}"
    return f"{c['values'][i]:.{digits}f} [{c['low'][i]:.{digits}f}, {c['high'][i]:.{digits}f}]"


def verdict(summary) -> list:
    """Plain-language reading of the numbers (computed, not hand-written)."""
    model, control = summary["model"], summary["control"]
    m = summary["models"][model]
    lines = []
    for key, label in (("mutual_knn", "mutual kNN"), ("top1_en_to_ny", "top-1 en→ny"), ("top1_ny_to_en", "top-1 ny→en")):
        c, con = m["curves"][key], m["contrasts"][key]
        me, ml = con["middle_minus_early"], con["middle_minus_late"]
        both = me["low"] > 0 and ml["low"] > 0
        txt = (f"- **{label}** peaks at layer {c['best_layer']} ({con['best_layer_region']}; value "
               f"{c['best_value']:.3f}, p = {c['p_max']:.3g} against the shuffled-pairs max-null). "
               f"Middle − early = {me['value']:+.3f} [{me['low']:+.3f}, {me['high']:+.3f}], middle − late = "
               f"{ml['value']:+.3f} [{ml['low']:+.3f}, {ml['high']:+.3f}]; the best layer is in the middle third "
               f"in {100 * con['best_layer_in_middle_share']:.0f}% of resamples → middle layers "
               f"{'are' if both else 'are not'} the most shared by this measure.")
        if control:
            d = summary["trained_minus_control"][key]
            i = c["layers"].index(c["best_layer"])
            txt += (f" Trained − random-init at that layer: {d['values'][i]:+.3f} "
                    f"[{d['low'][i]:+.3f}, {d['high'][i]:+.3f}].")
        lines.append(txt)
    if "top1_en_to_ny_names" in m["curves"]:
        yes, no = m["curves"]["top1_en_to_ny_names"], m["curves"]["top1_en_to_ny_no_names"]
        i = yes["values"].index(max(yes["values"]))
        j = no["values"].index(max(no["values"]))
        lines.append(f"- **What carries retrieval**: verses whose English side has a proper name (n = {yes['n']}) "
                     f"reach top-1 en→ny {yes['values'][i]:.3f} [{yes['low'][i]:.3f}, {yes['high'][i]:.3f}] at "
                     f"layer {yes['layers'][i]}; verses without one (n = {no['n']}) at most {no['values'][j]:.3f} "
                     f"[{no['low'][j]:.3f}, {no['high'][j]:.3f}] (layer {no['layers'][j]}); chance "
                     f"{yes['chance']:.4f} on the full gallery.")
    if "top1_mixed_to_en" in m["curves"]:
        me, mn = m["curves"]["top1_mixed_to_en"], m["curves"]["top1_mixed_to_ny"]
        en_side = [la for la, lo, hi in zip(me["layers"], me["low"], mn["high"]) if lo > hi]
        ny_side = [la for la, lo, hi in zip(me["layers"], mn["low"], me["high"]) if lo > hi]
        txt = (f"- **Code-switched verses** (half the words in each language, order alternating): nearer their "
               f"English version (CIs separated) at layers {_ranges(en_side) or 'none'}, nearer their Chichewa "
               f"version at layers {_ranges(ny_side) or 'none'}.")
        if control:
            cme, cmn = summary["models"][control]["curves"]["top1_mixed_to_en"], \
                summary["models"][control]["curves"]["top1_mixed_to_ny"]
            txt += (f" Random-init control, mean over layers 1–L: mixed→en {np.mean(cme['values'][1:]):.3f}, "
                    f"mixed→ny {np.mean(cmn['values'][1:]):.3f}.")
        lines.append(txt)
    lens = summary.get("lens")
    if lens:
        lang = summary["language"]
        mid = summary["regions"]["middle"]
        for kind in lens["per_kind"]:
            rows = lens["per_kind"][kind]
            en_dom = [r["layer"] for r in rows if r["en_low"] > r[f"{lang}_high"]]
            ny_dom = [r["layer"] for r in rows if r[f"{lang}_low"] > r["en_high"]]
            last = rows[-1]
            u = lens["uniform_mass"]
            mid_en = np.mean([r["en"] for r in rows if r["layer"] in mid])
            mid_ny = np.mean([r[lang] for r in rows if r["layer"] in mid])
            lines.append(f"- **lens, {LANG_NAMES.get(kind, 'code-switched')} input**: English-only tokens carry "
                         f"more mass (CIs separated) at layers {_ranges(en_dom) or 'none'}; "
                         f"{LANG_NAMES.get(lang, lang)}-only tokens at layers {_ranges(ny_dom) or 'none'}. "
                         f"Middle third: English {mid_en:.3f} ({mid_en / u['en']:.1f}× its uniform mass), "
                         f"{LANG_NAMES.get(lang, lang)} {mid_ny:.3f} ({mid_ny / u[lang]:.1f}×). "
                         f"Last layer: English {last['en']:.3f}, {LANG_NAMES.get(lang, lang)} {last[lang]:.3f}.")
    return lines


def _ranges(layers):
    if not layers:
        return ""
    out, start, prev = [], layers[0], layers[0]
    for x in layers[1:] + [None]:
        if x is not None and x == prev + 1:
            prev = x
            continue
        out.append(f"{start}" if start == prev else f"{start}–{prev}")
        if x is not None:
            start = prev = x
    return ", ".join(out)


def curve_rows(summary) -> list:
    """Per-layer table rows of the alignment curves (model and control).

    Parameters
    ----------
    summary : dict
        The run's summary.

    Returns
    -------
    list of dict
    """
    model, control = summary["model"], summary["control"]
    tc = summary["models"][model]["curves"]
    cc = summary["models"][control]["curves"] if control else {}
    rows = []
    for i, layer in enumerate(tc["mutual_knn"]["layers"]):
        row = {"layer": layer, "mutual_knn": _ci(tc["mutual_knn"], i),
               "null_q95": f"{tc['mutual_knn']['null_q95'][i]:.3f}",
               "top1_en_ny": _ci(tc["top1_en_to_ny"], i), "top1_ny_en": _ci(tc["top1_ny_to_en"], i),
               "top1_joint_z": f"{tc['top1_en_to_ny_joint_zscore']['values'][i]:.3f}"}
        if "top1_en_to_ny_names" in tc:
            row["top1_names"] = f"{tc['top1_en_to_ny_names']['values'][i]:.3f}"
            row["top1_no_names"] = f"{tc['top1_en_to_ny_no_names']['values'][i]:.3f}"
        if cc:
            row["ctrl_mutual_knn"] = f"{cc['mutual_knn']['values'][i]:.3f}"
            row["ctrl_top1_en_ny"] = f"{cc['top1_en_to_ny']['values'][i]:.3f}"
        if "top1_mixed_to_en" in tc:
            row["mixed_to_en"] = f"{tc['top1_mixed_to_en']['values'][i]:.3f}"
            row["mixed_to_ny"] = f"{tc['top1_mixed_to_ny']['values'][i]:.3f}"
        rows.append(row)
    return rows


def lens_rows(summary) -> list:
    """Per-layer table rows of the logit-lens shares, one column group per input kind.

    Parameters
    ----------
    summary : dict
        The run's summary (with ``"lens"``).

    Returns
    -------
    list of dict
    """
    lens, lang = summary["lens"], summary["language"]
    rows = []
    kinds = list(lens["per_kind"])
    for i, base in enumerate(lens["per_kind"][kinds[0]]):
        row = {"layer": base["layer"]}
        for kind in kinds:
            r = lens["per_kind"][kind][i]
            row[f"{kind}:en"] = f"{r['en']:.3f} [{r['en_low']:.3f}, {r['en_high']:.3f}]"
            row[f"{kind}:{lang}"] = f"{r[lang]:.3f} [{r[f'{lang}_low']:.3f}, {r[f'{lang}_high']:.3f}]"
            row[f"{kind}:share"] = f"{r['en_share']:.2f}"
        rows.append(row)
    return rows


def render_report(summary, config, pngs, terminal: bool = False) -> str:
    """report.md (or the terminal summary) of a semantic-hub run.

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
    model, control, lang = summary["model"], summary["control"], summary["language"]
    L = [f"# Semantic hub: {model} on English ↔ {LANG_NAMES.get(lang, lang)} verses", "",
         f"{summary['n_texts']} KJV verses and their {LANG_NAMES.get(lang, lang)} translations "
         f"({config.min_words}–{config.max_words} English words); mean-pooled hidden states of every layer, "
         "z-scored per dimension within each language (outlier dimensions; this also removes each "
         "language's mean vector), clipped at the 0.95 quantile of |x| and L2-normalised. "
         f"mutual kNN with k = {summary['k']}; CIs: {int(100 * config.level)}% percentile bootstrap over verses "
         f"({config.n_boot} resamples shared by every layer and model); null: {config.n_permutations} "
         "shuffled pairings. Control: " + (f"`{control}` (same architecture, random weights)." if control
                                            else "none."), "", "## Verdict", ""]
    L += verdict(summary)
    cols = list(curve_rows(summary)[0])
    L += ["", "## Layer curve", "",
          "`top1_joint_z`: en → ny retrieval when both languages are z-scored together (language mean kept). "
          f"`top1_names` / `top1_no_names`: en → ny top-1 of the {summary.get('n_with_names', '?')} verses whose "
          "English side has a capitalised word after the first (names: Jordan / Yordani) and of the others "
          "(gallery: all verses). `mixed_to_*`: a code-switched verse (half its words in each language, the "
          "order alternating between verses) retrieving its English / "
          f"{LANG_NAMES.get(lang, lang)} version. `ctrl_*`: the random-init control. "
          f"Chance top-1 = {1 / summary['n_texts']:.4f}.", "", markdown_table(curve_rows(summary), cols)]
    L += ["", "## Middle third vs the rest", "", f"Regions of layers: {summary['regions']}.", ""]
    crow = []
    for m, data in summary["models"].items():
        for key, con in data["contrasts"].items():
            me, ml = con["middle_minus_early"], con["middle_minus_late"]
            crow.append({"model": m, "curve": key, "peak": data["curves"][key]["best_layer"],
                         "p_max": f"{data['curves'][key]['p_max']:.3g}",
                         "middle−early": f"{me['value']:+.3f} [{me['low']:+.3f}, {me['high']:+.3f}]",
                         "middle−late": f"{ml['value']:+.3f} [{ml['low']:+.3f}, {ml['high']:+.3f}]",
                         "best in middle": f"{con['best_layer_in_middle_share']:.2f}"})
    L.append(markdown_table(crow, list(crow[0])))
    lens = summary.get("lens")
    if lens:
        L += ["", "## Logit lens: which language's tokens each layer predicts", "",
              f"Token sets from {lens['token_set_texts']} held-out verse pairs: a token belongs to a language when "
              f"it occurs ≥ {lens['min_count']} times there and its relative frequency is ≥ {lens['ratio']}× "
              "that in the other language (shared names, punctuation and short pieces drop out). Sizes: "
              + ", ".join(f"{k} {v} (uniform mass {lens['uniform_mass'][k]:.4f})" for k, v in lens["set_sizes"].items())
              + ". Examples — " + "; ".join(f"{k}: {' '.join(repr(t) for t in v[:12])}"
                                            for k, v in lens["set_examples"].items()) + ".", "",
              f"Mass = mean next-token probability on the set over {lens['positions']} evenly spaced positions "
              f"of {lens['n_texts']} verses per input kind (95% CI); share = en / (en + {lang}). Layer 0 is the "
              "token embedding: with tied input/output embeddings the lens there returns the input token "
              "itself, so it reads the input language rather than a prediction.", "",
              markdown_table(lens_rows(summary), list(lens_rows(summary)[0]))]
        L += ["", "Top-3 lens tokens at the last position of one verse:", ""]
        for kind, ex in lens["examples"].items():
            tops = "; ".join(f"L{layer}: " + ", ".join(repr(t) for t, _ in toks) for layer, toks in ex["top"].items())
            L.append(f"- {kind}: “{ex['text'][:80]}” → {tops}")
    if not terminal:
        L += [""] + [f"![{p}]({p})" for p in pngs]
    L += ["", "Timings (s): " + ", ".join(f"{k}={v}" for k, v in summary["timings"].items())]
    return "\n".join(L) + "\n"
