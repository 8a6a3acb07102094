"""Layer sweeps: where inside two models (or one model on two languages) do representations agree?

A *layer sweep* embeds the same items with every hidden state of model A and of model B (one forward
pass per model through :func:`align.embed_layers`) and measures a similarity metric (mutual kNN,
CKA, ... from :data:`align.metrics.SIMILARITY`) for every (layer_a, layer_b) pair.

Picking the best pair of a 31 x 7 grid is not a free win: the largest of 217 null values is far
above a single pair's null. :func:`sweep_grid` therefore reports the best pair's p-value against the
permutation null of the **maximum over the grid** (:func:`align.metrics.stats.layer_grid_test`:
each round applies one row permutation to every B layer and keeps the round's maximum), next to
per-cell uncorrected p-values and percentile bootstrap CIs (one resample of the items per round,
shared by every cell). :func:`layer_curve` does the same for matched layers only (layer i of A with
layer i of B, e.g. one model reading a text and its translation), with the max-null over the curve.

Preprocessing (:func:`prepare_layer`): z-score every dimension (decoder LLMs have a few outlier
dimensions whose scale dominates cosine similarity in the middle layers), then the
reference clipping + L2 normalisation of Huh et al. (2024, arXiv 2405.07987),
:func:`align.metrics.prepare_features`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validate import check_matrix, check_positive_int, check_texts
from .cache import embed_layers
from .encoders import Encoder, load_encoder
from .exceptions import ShapeError, ValidationError
from .metrics import prepare_features
from .metrics.stats import ci_from_boot, layer_grid_test, paired_similarity
from .report import pyplot

KNN_METRICS = ("mutual_knn", "cycle_knn", "cknna")


@dataclass
class LayerFeatures:
    """Preprocessed per-layer features of one model on one list of texts.

    ``layers``: hidden-state indices (``None`` for an encoder with a single output); ``vectors``: one
    (n, d) float32 matrix per layer, rows in the order of the texts.
    """

    model: str
    layers: list
    vectors: list
    preprocessing: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.layers)


def zscore_columns(X) -> np.ndarray:
    """Standardise each column of X (n, d) to mean 0 and std 1 (constant columns become 0); float32."""
    X = check_matrix(X, "X", min_rows=2, allow_torch=False, dtype=np.float64)
    sd = X.std(0)
    return ((X - X.mean(0)) / np.where(sd > 0, sd, 1.0)).astype(np.float32)


def prepare_layer(X, *, zscore: bool = True, clip: float = 0.95) -> np.ndarray:
    """z-score the columns (optional), then clip at the ``clip`` quantile of |x| and L2-normalise rows."""
    X = zscore_columns(X) if zscore else check_matrix(X, "X", allow_torch=False)
    return prepare_features(X, q=clip)


def _layer_list(enc, layers):
    if enc.info.n_layers is None:
        if not (layers is None or (isinstance(layers, str) and layers == "all") or list(layers) == [None]):
            raise ValidationError(f"encoder {enc.name!r} has a single output; use layers='all' or [None]")
        return [None]
    if isinstance(layers, str):
        if layers != "all":
            raise ValidationError(f"layers must be 'all' or a list of ints; got {layers!r}")
        return list(range(enc.info.n_layers + 1))
    out = [enc.check_layer(layer) for layer in layers]
    if not out:
        raise ValidationError("layers is empty")
    return out


def layer_features(texts, model, *, layers="all", pooling=None, zscore: bool = True, clip: float = 0.95,
                   cache: bool = True, show_progress=None, device: str = "auto") -> LayerFeatures:
    """Embed ``texts`` with every requested hidden state of ``model`` (one forward pass) and prepare them.

    ``model``: a registered encoder name or an Encoder object (reuses loaded weights). ``layers``:
    ``"all"`` (hidden states 0..L; ``[None]`` for single-output encoders) or a list of ints.
    """
    enc = model if isinstance(model, Encoder) else load_encoder(model, device=device)
    layer_ids = _layer_list(enc, layers)
    sets = embed_layers(texts, enc, layers=layer_ids, pooling=pooling, cache=cache, show_progress=show_progress)
    vectors = [prepare_layer(s.vectors, zscore=zscore, clip=clip) for s in sets]
    return LayerFeatures(enc.name, layer_ids, vectors,
                         {"zscore": zscore, "clip": clip, "pooling": sets[0].pooling, "n": len(sets[0])})


def metric_kwargs_for(metric, k: int) -> dict:
    """``{"k": k}`` for neighbourhood metrics, ``{}`` otherwise."""
    return {"k": k} if isinstance(metric, str) and metric in KNN_METRICS else {}


def _as_sets(feats, name):
    if isinstance(feats, LayerFeatures):
        return feats.vectors, list(feats.layers)
    if isinstance(feats, np.ndarray) or not isinstance(feats, (list, tuple)) or not feats:
        raise ValidationError(f"{name} must be LayerFeatures or a non-empty list of (n, d) matrices")
    return list(feats), list(range(len(feats)))


def _check_rows(sets_a, sets_b):
    rows = {np.shape(X)[0] for X in list(sets_a) + list(sets_b)}
    if len(rows) != 1:
        raise ShapeError(f"every layer of A and B must have the same paired rows; got row counts {sorted(rows)}")
    return rows.pop()


def _level(level):
    if not 0 < level < 1:
        raise ValidationError(f"level must be in (0, 1); got {level}")
    return level


def sweep_grid(feats_a, feats_b, *, metric="mutual_knn", k: int = 10, n_permutations: int = 200,
               n_boot: int = 200, level: float = 0.95, seed: int = 0) -> dict:
    """``metric`` for every (layer of A, layer of B) pair, with the max-over-grid null and bootstrap CIs.

    Args:
        feats_a, feats_b: :class:`LayerFeatures` or lists of (n, d_i) matrices, rows paired across all.
        metric: a name in :data:`align.metrics.SIMILARITY` or a callable ``(X, Y) -> float``;
            ``k`` is passed to neighbourhood metrics.
    Returns:
        dict with ``layers_a``, ``layers_b``, ``grid`` / ``low`` / ``high`` / ``p_values`` (len_a x len_b
        lists; ``p_values`` uncorrected), ``best`` = {layer_a, layer_b, value, low, high, p_corrected
        (against the null of the grid maximum), p_uncorrected, argmax_share (fraction of bootstrap
        resamples whose best cell is the same), max_low / max_high (CI of the grid maximum itself)},
        ``null_max`` and ``null_cell`` (summaries: mean, q95, ...), ``n``, ``n_permutations``, ``n_boot``.
    """
    sets_a, ids_a = _as_sets(feats_a, "feats_a")
    sets_b, ids_b = _as_sets(feats_b, "feats_b")
    n = _check_rows(sets_a, sets_b)
    n_permutations = check_positive_int(n_permutations, "n_permutations")
    n_boot = check_positive_int(n_boot, "n_boot", minimum=0)
    _level(level)
    kw = metric_kwargs_for(metric, k)
    g = layer_grid_test(metric, sets_a, sets_b, n_permutations=n_permutations, seed=seed, metric_kwargs=kw)
    la, lb = len(sets_a), len(sets_b)
    i, j = g["argmax"]
    out = {"metric": g["metric"], "params": kw, "layers_a": ids_a, "layers_b": ids_b, "n": n,
           "grid": g["grid"], "p_values": g["p_values"], "null_max": g["null_max"], "null_cell": g["null_cell"],
           "n_permutations": n_permutations, "n_boot": n_boot, "level": level}
    best = {"layer_a": ids_a[i], "layer_b": ids_b[j], "value": g["max"], "p_corrected": g["p_value"],
            "p_uncorrected": g["p_values"][i][j]}
    if n_boot:
        res = paired_similarity(metric, sets_a, sets_b, n_boot=n_boot, seed=seed + 1, metric_kwargs=kw)
        boot = res["boot"].reshape(n_boot, la, lb)
        cis = [[ci_from_boot(boot[:, a, b], level) for b in range(lb)] for a in range(la)]
        out["low"] = [[c["low"] for c in row] for row in cis]
        out["high"] = [[c["high"] for c in row] for row in cis]
        best.update(low=cis[i][j]["low"], high=cis[i][j]["high"])
        flat = np.where(np.isfinite(boot), boot, -np.inf).reshape(n_boot, -1)
        best["argmax_share"] = float((flat.argmax(1) == i * lb + j).mean())
        ci_max = ci_from_boot(flat.max(1), level)
        best.update(max_low=ci_max["low"], max_high=ci_max["high"])
    out["best"] = best
    return out


def layer_sweep(texts, model_a, model_b, *, texts_b=None, metric="mutual_knn", k: int = 10, layers_a="all",
                layers_b="all", pooling_a=None, pooling_b=None, zscore: bool = True, clip: float = 0.95,
                n_permutations: int = 200, n_boot: int = 200, level: float = 0.95, seed: int = 0,
                cache: bool = True, show_progress=None, device: str = "auto") -> dict:
    """Similarity of every layer of ``model_a`` with every layer of ``model_b`` on the same items.

    ``texts`` go through model A; ``texts_b`` (default ``texts``) through model B, row-paired with
    ``texts`` — e.g. one model on a text and its translation. Features are z-scored per dimension,
    clipped and L2-normalised (:func:`prepare_layer`). See :func:`sweep_grid` for the statistics and
    the returned dict (plus ``model_a``, ``model_b``, ``preprocessing``).

    >>> res = layer_sweep(texts, "smollm2-135m", "minilm-l6")          # doctest: +SKIP
    >>> res["best"]   # {'layer_a': 9, 'layer_b': 6, 'value': 0.31, 'p_corrected': 0.005, ...}  # doctest: +SKIP
    """
    texts = check_texts(texts)
    texts_b = texts if texts_b is None else check_texts(texts_b, "texts_b")
    if len(texts_b) != len(texts):
        raise ShapeError(f"texts_b must pair with texts; got {len(texts_b)} and {len(texts)} texts")
    common = dict(zscore=zscore, clip=clip, cache=cache, show_progress=show_progress, device=device)
    fa = layer_features(texts, model_a, layers=layers_a, pooling=pooling_a, **common)
    fb = layer_features(texts_b, model_b, layers=layers_b, pooling=pooling_b, **common)
    out = sweep_grid(fa, fb, metric=metric, k=k, n_permutations=n_permutations, n_boot=n_boot, level=level,
                     seed=seed)
    out.update(model_a=fa.model, model_b=fb.model, preprocessing=fa.preprocessing)
    return out


def layer_curve(feats_a, feats_b, *, metric="mutual_knn", k: int = 10, n_permutations: int = 200,
                n_boot: int = 200, boot_indices=None, level: float = 0.95, seed: int = 0) -> dict:
    """``metric`` between layer i of A and layer i of B for every i (matched layers), with a
    shuffled-pairs null per layer, the max-over-layers null and bootstrap CIs.

    The null shuffles which row of B pairs with which row of A (one permutation per round, shared by
    all layers). ``boot_indices`` (B, n) lets several curves share resamples, so differences between
    layers or curves get joint intervals. Returns ``{"layers", "values", "low", "high", "p_values",
    "null_mean", "null_q95", "best_layer", "p_max" (best layer against the max-null), "boot" (B, L)
    array or None, "null_max"}``.
    """
    sets_a, ids = _as_sets(feats_a, "feats_a")
    sets_b, _ = _as_sets(feats_b, "feats_b")
    if len(sets_a) != len(sets_b):
        raise ShapeError(f"matched layers need as many layers in A as in B; got {len(sets_a)} and {len(sets_b)}")
    _check_rows(sets_a, sets_b)
    n_permutations = check_positive_int(n_permutations, "n_permutations")
    _level(level)
    kw = metric_kwargs_for(metric, k)
    L = len(sets_a)
    res = paired_similarity(metric, sets_a, sets_b, pairs=[(i, i) for i in range(L)], n_permutations=n_permutations,
                            n_boot=0 if boot_indices is not None else n_boot, boot_indices=boot_indices,
                            seed=seed, metric_kwargs=kw)
    values, null = res["values"], res["null"]
    exceed = (null >= values[None, :] - 1e-12 * np.maximum(1, np.abs(values))) | ~np.isfinite(null)
    best = int(np.nanargmax(values))
    null_max = np.nanmax(null, axis=1)
    out = {"metric": res["metric"], "params": kw, "layers": ids, "values": values.tolist(),
           "p_values": ((1 + exceed.sum(0)) / (1 + n_permutations)).tolist(),
           "null_mean": np.nanmean(null, 0).tolist(), "null_q95": np.nanquantile(null, 0.95, axis=0).tolist(),
           "best_layer": ids[best], "best_value": float(values[best]),
           "p_max": float((1 + (null_max >= values[best] - 1e-12).sum()) / (1 + n_permutations)),
           "null_max": _null_summary(null_max), "n_permutations": n_permutations, "boot": res["boot"], "level": level}
    if res["boot"] is not None:
        cis = [ci_from_boot(res["boot"][:, i], level) for i in range(L)]
        out["low"] = [c["low"] for c in cis]
        out["high"] = [c["high"] for c in cis]
    return out


def retrieval_curve(feats_a, feats_b, *, n_permutations: int = 200, boot_indices=None, n_boot: int = 200,
                    level: float = 0.95, seed: int = 0) -> dict:
    """Top-1 retrieval of the paired row across matched layers, both directions, with CIs and nulls.

    At layer i, row r of A retrieves the row of B with the largest inner product (features from
    :func:`layer_features` are unit rows, so this is cosine); a hit means it is row r (ties go to the
    lower index). The shuffled-pairs null re-pairs the rows with one permutation per round (expected
    top-1 = 1/n); ``p_max`` tests the best layer against the null of the maximum over layers.
    Returns ``{"a_to_b": curve, "b_to_a": curve}``, each ``{"values", "low", "high", "p_values",
    "null_q95", "best_layer", "p_max", "boot" (B, L), "hits" (L, n)}``.
    """
    sets_a, ids = _as_sets(feats_a, "feats_a")
    sets_b, _ = _as_sets(feats_b, "feats_b")
    if len(sets_a) != len(sets_b):
        raise ShapeError(f"matched layers need as many layers in A as in B; got {len(sets_a)} and {len(sets_b)}")
    n = _check_rows(sets_a, sets_b)
    n_permutations = check_positive_int(n_permutations, "n_permutations")
    _level(level)
    rng = np.random.default_rng(seed)
    if boot_indices is None:
        n_boot = check_positive_int(n_boot, "n_boot")
        boot_indices = rng.integers(0, n, size=(n_boot, n))
    boot_indices = np.asarray(boot_indices)
    if boot_indices.ndim != 2 or boot_indices.shape[1] != n or not np.issubdtype(boot_indices.dtype, np.integer):
        raise ShapeError(f"boot_indices must be an integer array (B, {n}); got shape {boot_indices.shape}")
    perms = np.stack([rng.permutation(n) for _ in range(n_permutations)])
    nn = {"a_to_b": [], "b_to_a": []}
    for A, B in zip(sets_a, sets_b):
        A = check_matrix(A, "feats_a layer", allow_torch=False)
        B = check_matrix(B, "feats_b layer", allow_torch=False)
        if A.shape[1] != B.shape[1]:
            raise ShapeError(f"retrieval needs one space: A has {A.shape[1]} columns, B has {B.shape[1]}")
        S = A.astype(np.float64) @ B.T.astype(np.float64)
        nn["a_to_b"].append(S.argmax(1))
        nn["b_to_a"].append(S.argmax(0))
    out = {}
    for direction, idx in nn.items():
        idx = np.stack(idx)                                             # (L, n) retrieved rows
        hits = (idx == np.arange(n)[None, :]).astype(np.float64)
        values = hits.mean(1)
        null = np.stack([(idx == p[None, :]).mean(1) for p in perms])   # (R, L)
        boot = hits[:, boot_indices].mean(2).T                           # (B, L)
        cis = [ci_from_boot(boot[:, i], level) for i in range(len(ids))]
        best = int(values.argmax())
        out[direction] = {
            "layers": ids, "values": values.tolist(), "low": [c["low"] for c in cis],
            "high": [c["high"] for c in cis],
            "p_values": ((1 + (null >= values[None, :] - 1e-12).sum(0)) / (1 + n_permutations)).tolist(),
            "null_mean": null.mean(0).tolist(), "null_q95": np.quantile(null, 0.95, axis=0).tolist(),
            "best_layer": ids[best], "best_value": float(values[best]),
            "p_max": float((1 + (null.max(1) >= values[best] - 1e-12).sum()) / (1 + n_permutations)),
            "chance": 1.0 / n, "boot": boot, "hits": hits, "level": level}
    return out


def _null_summary(v: np.ndarray) -> dict:
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": float("nan"), "q95": float("nan")}
    return {"mean": float(v.mean()), "q50": float(np.quantile(v, 0.5)), "q95": float(np.quantile(v, 0.95)),
            "q99": float(np.quantile(v, 0.99)), "max": float(v.max())}


def plot_layer_grid(result: dict, path, *, title: str | None = None, xlabel: str | None = None,
                    ylabel: str | None = None):
    """Heatmap of a :func:`sweep_grid` result (rows: layers of A, columns: layers of B); the best
    cell is outlined and annotated with its corrected p-value. Writes a PNG to ``path``."""
    plt = pyplot()
    G = np.array(result["grid"], float)
    la, lb = G.shape
    fig, ax = plt.subplots(figsize=(min(3 + 0.45 * lb, 14), min(2.5 + 0.25 * la, 12)))
    im = ax.imshow(G, aspect="auto", origin="lower", cmap="viridis")
    best = result["best"]
    i, j = result["layers_a"].index(best["layer_a"]), result["layers_b"].index(best["layer_b"])
    ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
    ax.set_xticks(range(lb), [str(x) for x in result["layers_b"]], fontsize=7)
    step = max(1, la // 16)
    ax.set_yticks(range(0, la, step), [str(result["layers_a"][t]) for t in range(0, la, step)], fontsize=7)
    ax.set_xlabel(xlabel or f"layer of {result.get('model_b', 'B')}")
    ax.set_ylabel(ylabel or f"layer of {result.get('model_a', 'A')}")
    q95 = result["null_max"].get("q95", float("nan"))
    ax.set_title(title or f"{result['metric']}: best {best['value']:.3f} at ({best['layer_a']}, {best['layer_b']}), "
                 f"p(max-null) = {best['p_corrected']:.3g}; null max q95 = {q95:.3f}", fontsize=9)
    fig.colorbar(im, ax=ax, label=result["metric"])
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
