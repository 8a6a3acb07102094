"""Semantic hub: is the middle of a decoder LLM shared across languages?

Wu et al. (2024, arXiv 2411.04986) report that LLMs route inputs of different languages (and
modalities) through a shared, English-leaning "semantic hub" in their middle layers: there the
hidden states of a text and of its translation are closest, and the logit lens reads them as
(English) tokens. This recipe tests that on the packaged decoder and parallel text:

- inputs: KJV verses in English, their Chichewa translations (:func:`align.corpora.bible_parallel`),
  and code-switched verses (first half of the English words, second half of the Chichewa words);
- (a) per layer: cross-lingual alignment of a verse's English and Chichewa representations — mutual
  kNN (k = 10) and top-1 retrieval of the translation in both directions — with bootstrap CIs over
  verses, a shuffled-pairs null (rows re-paired; p per layer and for the best layer against the
  max over layers) and the same architecture with random weights as a control. Features are
  mean-pooled hidden states, **z-scored per dimension within each language** (decoders have a few
  outlier dimensions; this also removes each language's mean vector), then clipped and L2-normalised
  (:func:`align.layers.prepare_layer`). An ablation z-scores both languages jointly (the language
  mean offset kept) for retrieval;
- (b) the logit lens (:class:`align.lens.LogitLens`): the probability mass that each layer's
  next-token distribution puts on English-only vs Chichewa-only tokens (sets from relative token
  frequency in held-out verses, :func:`align.lens.language_token_sets`);
- the middle-layer claim: the layers 1..L are cut into thirds; "middle − early" and "middle − late"
  differences of each curve get joint bootstrap CIs, and the share of resamples whose best layer
  lies in the middle third is reported.

    align recipe semantic_hub --set n_texts=400 --set n_lens=64  # default 300 and 48
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from ..cache import embed_layers
from ..corpora import bible_parallel
from ..encoders import get_info, load_encoder
from ..exceptions import ValidationError
from ..layers import layer_curve, prepare_layer, retrieval_curve, zscore_columns
from ..lens import LogitLens, language_token_sets
from ..metrics import prepare_features
from ..metrics.stats import bootstrap_ci, ci_from_boot
from ..report import environment, new_run_dir, write_json, write_text
from .common import timer
from .semantic_hub_report import plot_all, render_report, strip_arrays


NAME = "semantic_hub"


@dataclass
class Config:
    """Configuration of the semantic_hub recipe; every field is a ``--set key=value`` override.

    The comment after each field says what it sets; :func:`run` checks the values.
    """

    language: str = "ny"
    model: str = "smollm2-135m"
    control: str = "smollm2-135m-random"  # "" skips the random-init control
    n_texts: int = 300  # verse pairs for the alignment curves
    min_words: int = 5  # English verse length filter (keeps forward passes short)
    max_words: int = 20
    mixed: bool = True  # also embed code-switched verses
    pooling: str = "mean"
    k: int = 10
    n_permutations: int = 200
    n_boot: int = 200
    level: float = 0.95
    n_lens: int = 48  # verses per input kind read with the logit lens (0 skips it)
    lens_positions: int = 8  # token positions per verse for the lens (evenly spaced)
    token_set_texts: int = 3000  # held-out verse pairs that define the language token sets
    token_min_count: int = 5
    token_ratio: float = 10.0
    batch_size: int = 32
    seed: int = 0
    cache: bool = True
    out: str = "runs"


def select_verses(corpus, config: Config):
    """Random verse pairs for evaluation (English length within bounds, no duplicated string on either
    side) and a disjoint random set of other verses for the token sets."""
    seen_en, seen_ny, ok = set(), set(), []
    for i, (e, t) in enumerate(zip(corpus.source, corpus.target)):
        if config.min_words <= len(e.split()) <= config.max_words and e not in seen_en and t not in seen_ny:
            ok.append(i)
        seen_en.add(e)
        seen_ny.add(t)
    if len(ok) < config.n_texts:
        raise ValidationError(f"only {len(ok)} verses have {config.min_words}..{config.max_words} English words; "
                              f"asked for n_texts={config.n_texts}")
    rng = np.random.default_rng(config.seed)
    eval_idx = np.sort(rng.permutation(np.array(ok))[:config.n_texts])
    rest = np.setdiff1d(np.arange(len(corpus)), eval_idx)
    token_idx = np.sort(rng.permutation(rest)[:config.token_set_texts])
    return eval_idx, token_idx


def code_switch(english: str, other: str, english_first: bool = True) -> str:
    """First half of one version's words followed by the second half of the other's.

    The recipe alternates the order verse by verse: a causal model's mean-pooled state leans towards
    the words that come first (every later token attends to them), so one fixed order would confound
    "which language" with "which half".
    """
    e, o = english.split(), other.split()
    if english_first:
        return " ".join(e[:len(e) // 2] + o[len(o) // 2:])
    return " ".join(o[:len(o) // 2] + e[len(e) // 2:])


_NOT_NAMES = {"I", "O", "LORD", "Lord", "GOD", "God"}


def has_proper_name(english: str) -> bool:
    """Heuristic: a capitalised word after the first (KJV: mostly names of people and places, which
    the Chichewa Bible keeps in a similar spelling — Jordan / Yordani), not I, O, Lord or God."""
    words = [w.strip(",.;:?!'()") for w in english.split()[1:]]
    return any(w[:1].isupper() and w not in _NOT_NAMES for w in words)


def regions(n_layers: int) -> dict:
    """Thirds of the transformer layers 1..L (hidden state 0, the token embeddings, is left out)."""
    parts = np.array_split(np.arange(1, n_layers + 1), 3)
    return {"early": parts[0].tolist(), "middle": parts[1].tolist(), "late": parts[2].tolist()}


def middle_contrast(curve: dict, reg: dict, level: float) -> dict:
    """Middle-third mean minus early/late-third means, with joint bootstrap CIs, and the share of
    resamples whose best layer is in the middle third."""
    v, boot = np.asarray(curve["values"]), curve["boot"]
    out = {}
    for other in ("early", "late"):
        d = v[reg["middle"]].mean() - v[reg[other]].mean()
        db = boot[:, reg["middle"]].mean(1) - boot[:, reg[other]].mean(1)
        ci = ci_from_boot(db, level)
        out[f"middle_minus_{other}"] = {"value": float(d), "low": ci["low"], "high": ci["high"]}
    best = np.argmax(np.where(np.isfinite(boot), boot, -np.inf), axis=1)
    out["best_layer_in_middle_share"] = float(np.isin(best, reg["middle"]).mean())
    out["best_layer_region"] = next(r for r, ls in reg.items() if curve["best_layer"] in ls) \
        if curve["best_layer"] != 0 else "embeddings"
    return out


def _embed_raw(texts, enc, config):
    sets = embed_layers(texts, enc, layers="all", pooling=config.pooling, cache=config.cache)
    return [s.vectors for s in sets]


def joint_zscore(raw_a, raw_b, clip: float = 0.95):
    """Both languages z-scored with pooled statistics (the language mean offset is kept)."""
    fa, fb = [], []
    for A, B in zip(raw_a, raw_b):
        Z = zscore_columns(np.vstack([A, B]))
        fa.append(prepare_features(Z[:len(A)], q=clip))
        fb.append(prepare_features(Z[len(A):], q=clip))
    return fa, fb


def split_curve(curve: dict, mask: np.ndarray, config) -> dict:
    """Top-1 curve restricted to the rows in ``mask`` (bootstrap within that subset)."""
    hits = curve["hits"][:, mask]
    cis = [bootstrap_ci(h, n_boot=config.n_boot, level=config.level, seed=config.seed) for h in hits]
    return {"layers": curve["layers"], "values": [c["value"] for c in cis], "low": [c["low"] for c in cis],
            "high": [c["high"] for c in cis], "n": int(mask.sum()), "chance": curve["chance"]}


def analyse_model(name, kinds, config, boot_idx, timings, names_mask=None) -> dict:
    """Embed every input kind with every layer of ``name`` and compute the curves."""
    enc = load_encoder(name, batch_size=config.batch_size)
    with timer(timings, f"embed_{name}_s", cpu=True):
        raw = {kind: _embed_raw(texts, enc, config) for kind, texts in kinds.items()}
    with timer(timings, f"stats_{name}_s", cpu=True):
        feats = {kind: [prepare_layer(X) for X in layers] for kind, layers in raw.items()}
        reg = regions(len(feats["en"]) - 1)
        common = dict(n_permutations=config.n_permutations, boot_indices=boot_idx, level=config.level, seed=config.seed)
        curves = {"mutual_knn": layer_curve(feats["en"], feats["ny"], k=config.k, **common)}
        ret = retrieval_curve(feats["en"], feats["ny"], **common)
        curves["top1_en_to_ny"], curves["top1_ny_to_en"] = ret["a_to_b"], ret["b_to_a"]
        if names_mask is not None and names_mask.any() and (~names_mask).any():
            curves["top1_en_to_ny_names"] = split_curve(ret["a_to_b"], names_mask, config)
            curves["top1_en_to_ny_no_names"] = split_curve(ret["a_to_b"], ~names_mask, config)
        ja, jb = joint_zscore(raw["en"], raw["ny"])
        curves["top1_en_to_ny_joint_zscore"] = retrieval_curve(ja, jb, **common)["a_to_b"]
        if "mixed" in feats:
            curves["top1_mixed_to_en"] = retrieval_curve(feats["mixed"], feats["en"], **common)["a_to_b"]
            curves["top1_mixed_to_ny"] = retrieval_curve(feats["mixed"], feats["ny"], **common)["a_to_b"]
        contrasts = {m: middle_contrast(c, reg, config.level) for m, c in curves.items()
                     if m in ("mutual_knn", "top1_en_to_ny", "top1_ny_to_en")}
    return {"curves": curves, "contrasts": contrasts, "regions": reg, "encoder": enc}


def control_difference(trained: dict, control: dict, level: float) -> dict:
    """Per-layer trained − control difference of each curve, with joint bootstrap CIs."""
    out = {}
    for m, c in trained["curves"].items():
        if m not in control["curves"] or c.get("boot") is None:
            continue
        d = np.asarray(c["values"]) - np.asarray(control["curves"][m]["values"])
        db = c["boot"] - control["curves"][m]["boot"]
        cis = [ci_from_boot(db[:, i], level) for i in range(db.shape[1])]
        out[m] = {"values": d.tolist(), "low": [x["low"] for x in cis], "high": [x["high"] for x in cis]}
    return out


def lens_reading(enc, kinds, token_texts, language, config, timings) -> dict:
    """Logit-lens mass on English-only vs target-language-only tokens, per layer and input kind."""
    lens = LogitLens.from_encoder(enc, batch_size=config.batch_size)
    with timer(timings, "lens_s", cpu=True):
        sets = language_token_sets(lens.tokenizer, {"en": token_texts[0], language: token_texts[1]},
                                   min_count=config.token_min_count, ratio=config.token_ratio)
        if min(len(v) for v in sets.values()) == 0:
            raise ValidationError(f"a language token set is empty ({ {k: len(v) for k, v in sets.items()} }); "
                                  "lower token_ratio or token_min_count, or raise token_set_texts")
        V = lens.head_weight.shape[0]
        per_kind = {}
        for kind, texts in kinds.items():
            mass = lens.token_set_mass(texts, sets, layers="all", position="mean",
                                       max_positions=config.lens_positions, per_text=True)
            rows = []
            for layer, d in mass.items():
                row = {"layer": layer}
                for lang, v in d.items():
                    ci = bootstrap_ci(v, n_boot=config.n_boot, level=config.level, seed=config.seed)
                    row.update({lang: ci["value"], f"{lang}_low": ci["low"], f"{lang}_high": ci["high"]})
                en, other = d["en"], d[language]
                row["other"] = float(1 - en.mean() - other.mean())
                row["en_share"] = float(np.mean(en / np.maximum(en + other, 1e-30)))
                rows.append(row)
            per_kind[kind] = rows
        L = lens.n_layers
        show = sorted({0, L // 4, L // 2, (3 * L) // 4, L})
        examples = {kind: {"text": texts[0], "top": lens.top_tokens([texts[0]], layers=show, k=3)[0]}
                    for kind, texts in kinds.items()}
    decode = lens.tokenizer.decode
    return {"per_kind": per_kind, "set_sizes": {k: len(v) for k, v in sets.items()},
            "uniform_mass": {k: len(v) / V for k, v in sets.items()},
            "set_examples": {k: [decode([t]) for t in v[:25]] for k, v in sets.items()},
            "examples": examples, "n_texts": len(kinds["en"]),
            "positions": config.lens_positions, "token_set_texts": len(token_texts[0]),
            "min_count": config.token_min_count, "ratio": config.token_ratio}


def _check(config: Config):
    if config.language != "ny":
        raise ValidationError(f"language must be 'ny' (the packaged parallel Bible); got {config.language!r}")
    if get_info(config.model).kind != "decoder":
        raise ValidationError(f"model must be a decoder LLM with per-layer states; got {config.model!r}")
    if config.control and get_info(config.control).n_layers != get_info(config.model).n_layers:
        raise ValidationError("the control must have the model's architecture (same number of layers)")
    if config.n_texts < config.k + 2:
        raise ValidationError(f"n_texts must be at least k + 2 = {config.k + 2}; got {config.n_texts}")
    if config.n_lens < 0 or config.n_boot < 1 or config.n_permutations < 1:
        raise ValidationError("n_lens must be >= 0 and n_boot, n_permutations >= 1")


def run(config: Config, *, verbose: bool = True):
    """Run the semantic_hub recipe and write its run folder.

    Parameters
    ----------
    config : Config
        The recipe's configuration.
    verbose : bool, default True
        Print progress and the result table.

    Returns
    -------
    pathlib.Path
        ``<config.out>/semantic_hub/<timestamp>/`` with config.json, metrics.json, report.md and figures.

    Raises
    ------
    ValidationError
        For an invalid configuration.
    DataNotAvailableError
        If the parallel corpus or the decoder's package is missing.
    """
    t_start, c_start = time.perf_counter(), time.process_time()
    _check(config)
    corpus = bible_parallel(config.language)
    eval_idx, token_idx = select_verses(corpus, config)
    en = [corpus.source[i] for i in eval_idx]
    ny = [corpus.target[i] for i in eval_idx]
    kinds = {"en": en, "ny": ny}
    if config.mixed:
        kinds["mixed"] = [code_switch(e, t, english_first=i % 2 == 0) for i, (e, t) in enumerate(zip(en, ny))]
    n = len(en)
    names_mask = np.array([has_proper_name(e) for e in en])
    rng = np.random.default_rng(config.seed + 1)
    boot_idx = rng.integers(0, n, size=(config.n_boot, n))
    lens_sel = np.sort(rng.permutation(n)[:config.n_lens])  # a random subset (eval_idx is in Bible order)
    timings: dict = {}
    models = [config.model] + ([config.control] if config.control else [])
    analyses, lens = {}, None
    for m in models:
        analyses[m] = analyse_model(m, kinds, config, boot_idx, timings, names_mask)
        enc = analyses[m].pop("encoder")
        if m == config.model and config.n_lens:  # the lens shares the loaded weights, then they are freed
            lens = lens_reading(enc, {k: [v[i] for i in lens_sel] for k, v in kinds.items()}, ([corpus.source[i] for i in token_idx],
                                             [corpus.target[i] for i in token_idx]), config.language, config, timings)
        del enc
    diff = control_difference(analyses[config.model], analyses[config.control], config.level) \
        if config.control else {}
    timings["total_s"] = round(time.perf_counter() - t_start, 3)
    timings["total_cpu_s"] = round(time.process_time() - c_start, 3)

    summary = {"model": config.model, "control": config.control or None, "language": config.language,
               "n_texts": n, "n_with_names": int(names_mask.sum()), "ids": [corpus.ids[i] for i in eval_idx[:20]], "k": config.k,
               "regions": analyses[config.model]["regions"],
               "models": {m: {"curves": strip_arrays(a["curves"]), "contrasts": a["contrasts"]}
                          for m, a in analyses.items()},
               "trained_minus_control": diff, "lens": lens, "timings": timings,
               "examples": {k: v[:3] for k, v in kinds.items()}}
    run_dir = new_run_dir(config.out, NAME)
    write_json(run_dir / "config.json", {**asdict(config), "environment": environment()})
    write_json(run_dir / "metrics.json", summary)
    pngs = plot_all(run_dir, summary)
    write_text(run_dir / "report.md", render_report(summary, config, pngs))
    if verbose:
        print(render_report(summary, config, pngs, terminal=True))
        print(f"\nwrote {run_dir}/{{config.json, metrics.json, report.md, {', '.join(pngs)}}}  "
              f"({timings['total_s']:.1f} s)")
    return run_dir
