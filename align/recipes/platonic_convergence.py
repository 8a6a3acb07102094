"""Platonic convergence: do different models represent the same texts alike, beyond chance?

Embeds the same texts of the default corpus with packaged models of several families (sentence
encoders, a decoder LLM's hidden layers, static word-vector averages) and a randomly initialised
copy of the decoder (the control), then measures every pair with mutual kNN (k = 10) and linear
CKA after the reference preprocessing of Huh et al. (2024, arXiv 2405.07987): z-score decoder
features (a few outlier dimensions dominate them), clip at the 0.95 quantile of |x|, L2-normalise.

Statistics: a permutation null per pair (the pairing of rows shuffled; one permutation per round
shared by all pairs), percentile bootstrap CIs over texts (one resample per round shared by all
pairs and by the competence proxy, so differences and correlations get joint intervals), and for
the decoder a layer grid whose best layer is tested against the permutation null of the maximum.

Competence proxy: leave-one-out genre accuracy of a 10-nearest-neighbour vote on the same texts
(the corpus labels each verse with the genre of its book: law, history, wisdom, prophets, gospels,
epistles...). It asks how much of the texts' topical structure a model's geometry captures, needs no
second language (only e5 is multilingual, so parallel-corpus retrieval would only rank e5), and
uses the same neighbourhoods that mutual kNN compares.

    align recipe platonic_convergence --set n_texts=1000 --set n_permutations=500

``--set layers=all`` adds the layer-by-layer mode (:mod:`align.recipes.platonic_layers`): for each
``layer_pairs`` item "A:B", a heatmap of every layer of A against every layer of B and a best-layer
table whose p-value is against the permutation null of the grid maximum.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import spearmanr

from ..cache import embed, embed_layers
from ..corpora import disjoint_split
from ..encoders import get_info, load_encoder
from ..exceptions import ValidationError
from ..metrics import prepare_features, self_neighbours
from ..metrics.stats import ci_from_boot, layer_grid_test, similarity_matrix
from ..report import environment, new_run_dir, write_json, write_text
from .common import load_corpus, timer
from .platonic_layers import parse_pairs, plot_layer_sweeps, render_layer_sweeps, run_layer_sweeps
from .platonic_report import plot_all, render_report

NAME = "platonic_convergence"
CONTROL_FAMILY = "control (random init)"


@dataclass
class Config:
    """Configuration of the platonic_convergence recipe; every field is a ``--set key=value`` override.

    The comment after each field says what it sets; :func:`run` checks the values.
    """

    corpus: str = "kjv"
    n_texts: int = 1000
    models: tuple[str, ...] = ("minilm-l6", "minilm-l3-onnx", "e5-small", "glove-en-50d", "smollm2-135m",
                     "smollm2-135m-random")
    decoder_layers: tuple[int, ...] = (8, 16, 24)  # embedded in one pass; the layer grid uses all of them
    decoder_layer: int = 16  # the decoder layer used in the model x model matrices
    reference: str = "minilm-l6"  # the decoder's layers are swept against this model
    k: int = 10
    metrics: tuple[str, ...] = ("mutual_knn", "cka")
    n_permutations: int = 500
    n_boot: int = 200
    level: float = 0.95
    seed: int = 0
    cache: bool = True
    out: str = "runs"
    # --set layers=all: every layer of A against every layer of B for each "A:B" pair (align.layers.sweep_grid)
    layers: str = ""
    layer_pairs: tuple[str, ...] = ("smollm2-135m:minilm-l6", "smollm2-135m-random:minilm-l6")
    layer_metric: str = "mutual_knn"
    layer_permutations: int = 200


def zscore(X: np.ndarray) -> np.ndarray:
    """Standardise each column (mean 0, std 1; constant columns become 0)."""
    X = np.asarray(X, np.float64)
    sd = X.std(0)
    return ((X - X.mean(0)) / np.where(sd > 0, sd, 1.0)).astype(np.float32)


def embed_models(texts, config: Config, timings: dict) -> dict:
    """``{model: {layer_or_None: prepared (n, d) float32}}`` (decoders: z-scored first)."""
    feats = {}
    for name in config.models:
        info = get_info(name)
        with timer(timings, f"embed_{name}_s"):
            enc = load_encoder(name)
            if info.kind == "decoder":
                layers = sorted(set(config.decoder_layers) | {config.decoder_layer})
                sets = embed_layers(texts, enc, layers=layers, cache=config.cache)
                feats[name] = {s.layer: prepare_features(zscore(s.vectors)) for s in sets}
            else:
                feats[name] = {None: prepare_features(embed(texts, enc, cache=config.cache).vectors)}
    return feats


def genre_knn_correct(F: np.ndarray, labels: np.ndarray, k: int = 10) -> np.ndarray:
    """Per-text 0/1: does the majority genre among its k nearest neighbours (itself excluded) match?
    Ties go to the genre of the nearer neighbour."""
    I = self_neighbours(F, k)
    votes = labels[I]
    n_labels = int(labels.max()) + 1
    counts = np.zeros((F.shape[0], n_labels))
    np.add.at(counts, (np.arange(F.shape[0])[:, None], votes), 1.0 + 1e-3 * (k - np.arange(k))[None, :] / k)
    return (counts.argmax(1) == labels).astype(np.float64)


def spearman(a, b) -> float:
    """Spearman correlation of ``a`` and ``b``; NaN when either is constant.

    Parameters
    ----------
    a, b : array-like, shape (n,)

    Returns
    -------
    float
    """
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


def _mean_alignment(values: np.ndarray, boot, members, level):
    """Per model: mean metric to the other members, with its joint-bootstrap CI."""
    out = {}
    for i in range(values.shape[0]):
        others = [j for j in members if j != i]
        row = {"value": float(np.mean(values[i, others]))}
        if boot is not None:
            b = boot[:, i, others].mean(1)
            row.update({k: v for k, v in ci_from_boot(b, level).items() if k in ("low", "high")})
            row["boot"] = b
        out[i] = row
    return out


def run(config: Config, *, verbose: bool = True):
    """Run the platonic_convergence recipe and write its run folder.

    Parameters
    ----------
    config : Config
        The recipe's configuration.
    verbose : bool, default True
        Print progress and the result table.

    Returns
    -------
    pathlib.Path
        ``<config.out>/platonic_convergence/<timestamp>/`` with config.json, metrics.json, report.md and figures.

    Raises
    ------
    ValidationError
        For an invalid configuration.
    DataNotAvailableError
        If the corpus or an encoder's package is missing.
    """
    t_start, cpu_start = time.perf_counter(), time.process_time()
    if config.decoder_layer not in config.decoder_layers:
        raise ValidationError(f"decoder_layer {config.decoder_layer} must be one of decoder_layers {config.decoder_layers}")
    if config.layers not in ("", "all"):
        raise ValidationError(f"layers must be '' (off) or 'all'; got {config.layers!r}")
    if config.layers:
        parse_pairs(config.layer_pairs)
    corpus = load_corpus(config.corpus)
    idx = disjoint_split(corpus.texts, config.n_texts, seed=config.seed).pool_a
    texts = [corpus.texts[i] for i in idx]
    genres = sorted(set(corpus.labels[i] for i in idx))
    labels = np.array([genres.index(corpus.labels[i]) for i in idx])
    timings = {}
    feats = embed_models(texts, config, timings)
    infos = {m: get_info(m) for m in config.models}
    names, sets = [], []
    for m in config.models:
        layer = config.decoder_layer if infos[m].kind == "decoder" else None
        names.append(m if layer is None else f"{m}@L{layer}")
        sets.append(feats[m][layer])
    control = [i for i, m in enumerate(config.models) if infos[m].family == CONTROL_FAMILY]
    members = [i for i in range(len(names)) if i not in control]

    rng = np.random.default_rng(config.seed)
    boot_idx = rng.integers(0, config.n_texts, size=(config.n_boot, config.n_texts)) if config.n_boot else None
    results = {}
    for metric in config.metrics:
        with timer(timings, f"stats_{metric}_s"):
            kw = {"k": config.k} if "knn" in metric or metric == "cknna" else {}
            res = similarity_matrix(metric, sets, n_permutations=config.n_permutations, level=config.level,
                                    seed=config.seed, metric_kwargs=kw, boot_indices=boot_idx)
            res["mean_alignment"] = _mean_alignment(np.array(res["values"], float), res["boot"], members, config.level)
            results[metric] = res

    with timer(timings, "competence_s"):
        correct = [genre_knn_correct(F, labels, config.k) for F in sets]
        majority = float(np.bincount(labels).max() / labels.size)
        competence = []
        for c in correct:
            row = {"value": float(c.mean())}
            if boot_idx is not None:
                b = c[boot_idx].mean(1)
                row.update({k: v for k, v in ci_from_boot(b, config.level).items() if k in ("low", "high")})
                row["boot"] = b
            competence.append(row)

    trends = {}
    sizes = np.array([infos[config.models[i]].size_params or np.nan for i in members], float)
    for metric, res in results.items():
        ma = res["mean_alignment"]
        align_v = np.array([ma[i]["value"] for i in members])
        comp_v = np.array([competence[i]["value"] for i in members])
        row = {"vs_size": spearman(align_v, sizes), "vs_competence": spearman(align_v, comp_v)}
        if boot_idx is not None:
            bs = [(spearman(np.array([ma[i]["boot"][b] for i in members]), sizes),
                   spearman(np.array([ma[i]["boot"][b] for i in members]),
                            np.array([competence[i]["boot"][b] for i in members]))) for b in range(config.n_boot)]
            bs = np.array(bs)
            for col, key in ((0, "vs_size"), (1, "vs_competence")):
                ci = ci_from_boot(bs[:, col], config.level)
                row[key + "_ci"] = [ci["low"], ci["high"]]
        trends[metric] = row

    grids = {}
    with timer(timings, "layer_grid_s"):
        if config.reference in config.models:
            ref = feats[config.reference][None] if infos[config.reference].kind != "decoder" else None
            for m in config.models:
                if infos[m].kind == "decoder" and ref is not None:
                    layers = sorted(feats[m])
                    g = layer_grid_test("mutual_knn", [feats[m][la] for la in layers], [ref],
                                        n_permutations=config.n_permutations, seed=config.seed,
                                        metric_kwargs={"k": config.k})
                    g["layers"] = layers
                    grids[m] = g
    sweeps = {}
    if config.layers:
        sweeps = run_layer_sweeps(texts, config, timings)
    timings["total_s"] = round(time.perf_counter() - t_start, 3)
    timings["cpu_s"] = round(time.process_time() - cpu_start, 3)  # all threads; wall time on a shared host varies

    run_dir = new_run_dir(config.out, NAME)
    summary = {
        "names": names, "n_texts": config.n_texts, "k": config.k, "genres": genres,
        "sizes_millions": {m: infos[m].size_params for m in config.models},
        "families": {m: infos[m].family for m in config.models}, "control": [names[i] for i in control],
        "matrices": {m: {k: v for k, v in r.items() if k not in ("boot", "mean_alignment")} for m, r in results.items()},
        "mean_alignment": {m: {names[i]: {k: v for k, v in row.items() if k != "boot"} for i, row in
                               r["mean_alignment"].items()} for m, r in results.items()},
        "competence": {"name": "genre kNN leave-one-out accuracy", "majority_baseline": majority,
                       "per_model": {names[i]: {k: v for k, v in c.items() if k != "boot"}
                                     for i, c in enumerate(competence)}},
        "trends": trends, "layer_grids": grids, "timings": timings,
    }
    if sweeps:
        summary["layer_sweeps"] = sweeps
    write_json(run_dir / "config.json", {**asdict(config), "environment": environment()})
    write_json(run_dir / "metrics.json", summary)
    pngs = plot_all(run_dir, summary, members, control)
    extra, layer_pngs = "", []
    if sweeps:
        layer_pngs = plot_layer_sweeps(run_dir, sweeps)
        extra = "\n" + render_layer_sweeps(sweeps, config, layer_pngs)
    write_text(run_dir / "report.md", render_report(summary, config, pngs) + extra)
    pngs = pngs + layer_pngs
    if verbose:
        print(render_report(summary, config, pngs, terminal=True) + extra)
        print(f"\nwrote {run_dir}/{{config.json, metrics.json, report.md, {', '.join(pngs)}}}  "
              f"({timings['total_s']:.1f} s)")
    return run_dir
