"""Figures of the translation study (matplotlib, Agg backend): learning curves, domains, t-SNE map."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..report import pyplot

_PANELS = [("top1", "held-out top-1 accuracy", False), ("mean_rank", "mean rank of the true target (log)", True),
           ("mean_cosine", "mean cosine to the true target", False)]



def method_colors(methods) -> dict:
    """The same colour for a method in every figure of a run."""
    plt = pyplot()
    return {m: plt.cm.tab10(i % 10) for i, m in enumerate(sorted(methods))}


def learning_curves(curve: list, path, title: str) -> Path:
    """Three panels (top-1, mean rank, mean cosine) vs #training pairs on a log x-axis, one line per
    method with its 95% bootstrap band; unsupervised methods (0 pairs) are drawn as dashed levels."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    methods = sorted({r["method"] for r in curve})
    colors = method_colors(methods)
    for ax, (key, label, logy) in zip(axes, _PANELS):
        for m in methods:
            rows = sorted((r for r in curve if r["method"] == m and key in r), key=lambda r: r["n_pairs"])
            paired = [r for r in rows if r["n_pairs"] > 0]
            if paired:
                x = [r["n_pairs"] for r in paired]
                ax.plot(x, [r[key] for r in paired], "o-", color=colors[m], label=m, lw=1.8, ms=4)
                ax.fill_between(x, [r[f"{key}_low"] for r in paired], [r[f"{key}_high"] for r in paired],
                                color=colors[m], alpha=0.18, lw=0)
            for r in rows:
                if r["n_pairs"] == 0:
                    ax.axhline(r[key], color=colors[m], ls="--", lw=1.4, label=f"{m} (0 pairs, unsupervised)")
        ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("number of training pairs (log scale)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8, loc="best")
    fig.suptitle(title + "  (bands: 95% bootstrap CI over held-out items)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def domain_bars(domains: dict, path, title: str) -> Path:
    """Horizontal bars: top-1 per domain (worst at the top) for every method at its largest n."""
    plt = pyplot()
    rows = domains["rows"][::-1]
    methods = sorted(k[:-5] for k in rows[0] if k.endswith("_top1"))
    colors = method_colors(methods)
    fig, ax = plt.subplots(figsize=(10.5, 0.45 * len(rows) * max(1, len(methods) / 2) + 1.5))
    h = 0.8 / max(1, len(methods))
    ys = np.arange(len(rows))
    for i, m in enumerate(methods):
        ax.barh(ys + i * h, [r[f"{m}_top1"] for r in rows], height=h, label=m, color=colors[m])
    best = domains["method"]
    j = methods.index(best) if best in methods else 0
    err = np.array([[r[f"{best}_top1"] - r.get("top1_low", r[f"{best}_top1"]),
                     r.get("top1_high", r[f"{best}_top1"]) - r[f"{best}_top1"]] for r in rows]).T
    ax.errorbar([r[f"{best}_top1"] for r in rows], ys + j * h, xerr=np.maximum(err, 0), fmt="none",
                ecolor="black", lw=1, capsize=2, label=f"95% CI ({best})")
    ax.set_yticks(ys + 0.4 - h / 2)
    ax.set_yticklabels([f"{r['domain']} (n={r['n_items']})" for r in rows])
    ax.set_xlabel("held-out top-1 accuracy")
    ax.set_ylabel("corpus domain")
    ax.set_title(f"Per-domain top-1 at {domains['n_pairs']} pairs — {title}", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def tsne_map(X_source, translated, Y_target, labels, path, title: str, *, n_points: int = 250,
             seed: int = 0) -> Path:
    """Left: t-SNE of the source vectors (their own space). Right: one joint t-SNE of translated and
    true target vectors (both live in the target space), a grey line joining each pair; colour =
    corpus domain. Shapes: (n, d_x), (n, d_y), (n, d_y)."""
    from sklearn.manifold import TSNE  # lazy: scikit-learn's manifold module is slow to import; only this map needs it
    plt = pyplot()
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.permutation(len(X_source))[:min(n_points, len(X_source))])
    lab = np.asarray(labels)[idx] if labels is not None else np.zeros(len(idx), dtype=int).astype(str)
    m = len(idx)

    def embed2d(A):  # unit-normalised first: retrieval is by cosine, so norms carry no signal
        A = np.asarray(A, np.float64)
        A = A / np.maximum(np.linalg.norm(A, axis=1, keepdims=True), 1e-12)
        perplexity = float(min(30.0, max(2.0, (A.shape[0] - 1) / 3)))
        return TSNE(2, perplexity=perplexity, init="pca", random_state=seed, max_iter=500).fit_transform(A)

    S = embed2d(X_source[idx])
    J = embed2d(np.concatenate([translated[idx], Y_target[idx]]))
    T, G = J[:m], J[m:]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(14, 6.2))
    cats = sorted(set(lab.tolist()))
    colors = {c: plt.cm.tab10(i % 10) for i, c in enumerate(cats)}
    for c in cats:
        k = lab == c
        a1.scatter(S[k, 0], S[k, 1], s=14, color=colors[c], label=c)
    for i in range(m):
        a2.plot([T[i, 0], G[i, 0]], [T[i, 1], G[i, 1]], color="0.75", lw=0.5, zorder=1)
    for c in cats:
        k = lab == c
        a2.scatter(G[k, 0], G[k, 1], s=16, color=colors[c], marker="o", zorder=2)
        a2.scatter(T[k, 0], T[k, 1], s=22, color=colors[c], marker="x", zorder=3)
    a2.scatter([], [], marker="o", color="0.3", label="true target")
    a2.scatter([], [], marker="x", color="0.3", label="translated source")
    a1.set_title(f"source space ({X_source.shape[1]}-d), {m} held-out items")
    a2.set_title(f"target space ({Y_target.shape[1]}-d): translated vs true target")
    for ax in (a1, a2):
        ax.set_xlabel("t-SNE 1")
        ax.set_ylabel("t-SNE 2")
    a1.legend(fontsize=7, loc="best", title="domain")
    a2.legend(fontsize=8, loc="best")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
