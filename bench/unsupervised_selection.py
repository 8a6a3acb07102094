"""Validate the label-free criteria of align.unsupervised.selection against true top-1.

Fits runs of mixed quality (several aligners, inits, refinement depths, seeds) on planted problems
without pairs, then prints each criterion's Spearman correlation with held-out top-1 and the top-1
of the run each criterion picks. Usage: python bench/unsupervised_selection.py
"""
import time

import numpy as np

from align.metrics import translation_scores
from align.synthetic import partial_overlap, rotation
from align.unsupervised import StructureMatchingAligner, WassersteinProcrustesAligner
from align.unsupervised.selection import CRITERIA, select, spearman


def runs():
    """(label, unfitted aligner) pairs spanning failures, partial and full recoveries."""
    out = []
    for init in ("sorted_sim", "principal_axes", "kmeans", "relative", "ica"):
        for refine in (0, 1, 10):
            out.append((f"structure/{init}/refine={refine}",
                        StructureMatchingAligner(init=init, n_refine=refine, n_clusters=16, random_state=1)))
    for seed in (0, 1):
        out.append((f"wasserstein/identity/seed={seed}", WassersteinProcrustesAligner(
            init="identity", n_epochs=1, n_iter=3, n_refine=seed, random_state=seed)))
    return out


def problems():
    p = rotation(n=1200, d=32, noise=0.05, seed=0)
    yield "rotation d=32", p, 1000
    p = rotation(n=1200, d=32, noise=0.3, seed=1)
    yield "rotation d=32 noise 0.3", p, 1000
    p = partial_overlap(n=1200, d=32, overlap=0.5, noise=0.05, seed=2)
    yield "partial overlap 50%", p, None


def evaluate(problem, n_train, model):
    if n_train is None:  # partial overlap: fit on everything, score the shared rows
        model.fit(problem.X, problem.Y)
        ev = problem.pairs
    else:
        tr, ev = problem.pairs[:n_train], problem.pairs[n_train:]
        model.fit(problem.X[tr[:, 0]], problem.Y[np.sort(tr[:, 1])])
    return translation_scores(model.transform(problem.X[ev[:, 0]]), problem.Y[ev[:, 1]])["top1"]


def main():
    for pname, problem, n_train in problems():
        scores, crits = [], []
        t0 = time.perf_counter()
        for label, model in runs():
            scores.append(evaluate(problem, n_train, model))
            crits.append(model.criterion_)
        print(f"\n## {pname}: {len(scores)} runs, true top-1 from {min(scores):.3f} to {max(scores):.3f} "
              f"({time.perf_counter() - t0:.0f} s)")
        print("| criterion | Spearman with top-1 | top-1 of its pick | best top-1 |\n|---|---|---|---|")
        for c in CRITERIA:
            rho = spearman([r[c] for r in crits], scores)
            print(f"| {c} | {rho:.3f} | {scores[select(crits, c)]:.3f} | {max(scores):.3f} |", flush=True)


if __name__ == "__main__":
    main()
