"""Layer-by-layer mode of the platonic-convergence recipe (``--set layers=all``).

For each pair ``"model_a:model_b"`` of ``config.layer_pairs`` (default: SmolLM2-135M's 31 hidden
states against MiniLM-L6's 7, and the random-init SmolLM2 against MiniLM-L6 as the control), every
layer of A is compared with every layer of B on the recipe's texts (:func:`align.layers.sweep_grid`):
a heatmap, and a best-layer table whose p-value is against the permutation null of the **maximum over
the grid** — picking the best of 217 layer pairs is not a free win — next to the uncorrected
p-value of that cell, the null quantiles of one cell and of the maximum, and the value at the two
models' last layers (the usual default).

    align recipe platonic_convergence --set layers=all --set n_texts=1000
"""
from __future__ import annotations

import time

from ..encoders import get_info, load_encoder
from ..exceptions import ValidationError
from ..layers import layer_features, plot_layer_grid, sweep_grid
from ..report import markdown_table


def parse_pairs(pairs) -> list:
    """``["a:b", ...]`` → ``[("a", "b"), ...]``; both names must be registered encoders."""
    out = []
    for item in pairs:
        if not isinstance(item, str) or item.count(":") != 1:
            raise ValidationError(f"layer_pairs items look like 'model_a:model_b'; got {item!r}")
        a, b = (s.strip() for s in item.split(":"))
        get_info(a), get_info(b)
        out.append((a, b))
    if not out:
        raise ValidationError("layer_pairs is empty")
    return out


def run_layer_sweeps(texts, config, timings: dict) -> dict:
    """``{"model_a:model_b": sweep_grid result (+ model names)}`` on ``texts``."""
    pairs = parse_pairs(getattr(config, "layer_pairs", ("smollm2-135m:minilm-l6",)))
    metric = getattr(config, "layer_metric", "mutual_knn")
    n_perm = getattr(config, "layer_permutations", config.n_permutations)
    feats = {}
    t0 = time.perf_counter()
    for name in dict.fromkeys(m for pair in pairs for m in pair):
        if get_info(name).n_layers is None:
            raise ValidationError(f"{name!r} has no per-layer outputs; layer sweeps need transformer encoders")
        feats[name] = layer_features(texts, load_encoder(name), layers="all", cache=config.cache)
    timings["layer_embed_s"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    out = {}
    for a, b in pairs:
        res = sweep_grid(feats[a], feats[b], metric=metric, k=config.k, n_permutations=n_perm,
                         n_boot=config.n_boot, level=config.level, seed=config.seed)
        res.update(model_a=a, model_b=b)
        out[f"{a}:{b}"] = res
    timings["layer_sweeps_s"] = round(time.perf_counter() - t0, 3)
    return out


def plot_layer_sweeps(run_dir, sweeps: dict) -> list:
    """One heatmap PNG per layer sweep (:func:`align.layers.plot_layer_grid`).

    Parameters
    ----------
    run_dir : pathlib.Path
        Output folder.
    sweeps : dict
        ``{"A:B": sweep_grid result}``.

    Returns
    -------
    list of str
        The file names written.
    """
    pngs = []
    for key, res in sweeps.items():
        name = "layers_" + key.replace(":", "_vs_") + ".png"
        plot_layer_grid(res, run_dir / name)
        pngs.append(name)
    return pngs


def best_layer_rows(sweeps: dict) -> list:
    """One table row per sweep: the best layer pair, its CI and p-values, the null quantiles, the last layers.

    Parameters
    ----------
    sweeps : dict
        ``{"A:B": sweep_grid result}``.

    Returns
    -------
    list of dict
    """
    rows = []
    for key, r in sweeps.items():
        b = r["best"]
        last = r["grid"][-1][-1]
        ci = f" [{b['low']:.3f}, {b['high']:.3f}]" if "low" in b else ""
        rows.append({"A : B": key, "metric": r["metric"], "best (layer A, layer B)": f"({b['layer_a']}, {b['layer_b']})",
                     "value [CI]": f"{b['value']:.3f}{ci}", "p (max-null)": f"{b['p_corrected']:.3g}",
                     "p (this cell only)": f"{b['p_uncorrected']:.3g}",
                     "null q95: one cell / max": f"{r['null_cell']['q95']:.3f} / {r['null_max']['q95']:.3f}",
                     "best-cell share": f"{b.get('argmax_share', float('nan')):.2f}",
                     f"last layers ({r['layers_a'][-1]}, {r['layers_b'][-1]})": f"{last:.3f}"})
    return rows


def render_layer_sweeps(sweeps: dict, config, pngs=()) -> str:
    """The Markdown section of the layer-by-layer mode."""
    lines = ["## Layer by layer", "",
             f"Every hidden state of A against every hidden state of B on the same {config.n_texts} texts "
             "(features z-scored per dimension, clipped, L2-normalised). `p (max-null)` compares the best cell "
             "with the permutation null of the grid maximum (one permutation of the texts per round, applied "
             f"to all layers of B; {getattr(config, 'layer_permutations', config.n_permutations)} rounds); "
             "`p (this cell only)` is what one would wrongly report after picking the cell. `best-cell share`: "
             "fraction of bootstrap resamples whose best cell is the same.", ""]
    rows = best_layer_rows(sweeps)
    lines += [markdown_table(rows, list(rows[0])), ""]
    for key, r in sweeps.items():
        best_per_a = [max(range(len(row)), key=lambda j: row[j]) for row in r["grid"]]
        lines.append(f"- {key}: for each layer of {r['model_a']}, the best layer of {r['model_b']} is "
                     + ", ".join(f"{la}→{r['layers_b'][j]}" for la, j in zip(r["layers_a"], best_per_a)) + ".")
    lines += [""] + [f"![{p}]({p})" for p in pngs]
    return "\n".join(lines) + "\n"
