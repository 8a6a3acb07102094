"""Planted problems × unsupervised aligners: held-out top-1 and fit seconds (no pairs given).

Usage: python bench/unsupervised_planted.py [problem ...] [--only NAME ...]
Problems: rotation (d=64, n=5000, noise 0.05), dims (64 → 48), partial (50 % overlap), hmm.
"""
import sys
import time

import numpy as np

from align.metrics import translation_scores
from align.compute import knn
from align.synthetic import hmm_pairs, partial_overlap, rotation
from align.unsupervised import (AdversarialAligner, GromovWassersteinAligner, StructureMatchingAligner,
                                WassersteinProcrustesAligner)


def held_out(problem, n_train):
    """Unpaired training sets (Y keeps its shuffled order) and held-out row-paired test sets."""
    tr, te = problem.pairs[:n_train], problem.pairs[n_train:]
    return problem.X[tr[:, 0]], problem.Y[np.sort(tr[:, 1])], problem.X[te[:, 0]], problem.Y[te[:, 1]]


ALIGNERS = {
    "structure/sorted_sim": lambda: StructureMatchingAligner(init="sorted_sim"),
    "structure/principal_axes": lambda: StructureMatchingAligner(init="principal_axes"),
    "structure/kmeans": lambda: StructureMatchingAligner(init="kmeans"),
    "structure/relative": lambda: StructureMatchingAligner(init="relative"),
    "structure/ica": lambda: StructureMatchingAligner(init="ica"),
    "wasserstein/sorted_sim": lambda: WassersteinProcrustesAligner(),
    "wasserstein/principal_axes-fast": lambda: WassersteinProcrustesAligner(init="principal_axes", n_epochs=1, n_iter=5,
                                                                      n_refine=3),
    "wasserstein/convex": lambda: WassersteinProcrustesAligner(init="convex"),
    "gromov_wasserstein": lambda: GromovWassersteinAligner(),
    "adversarial": lambda: AdversarialAligner(),
}


def problems(names):
    if "rotation" in names:
        yield "rotation d=64 n=5000 noise=0.05", held_out(rotation(n=5000, d=64, noise=0.05, seed=0), 4000)
    if "dims" in names:
        yield "rotation 64→48 n=5000 noise=0.05", held_out(rotation(n=5000, d=64, d_out=48, noise=0.05, seed=0), 4000)
    if "partial" in names:  # fit on all rows, score the shared ones (never given to fit)
        for n in (2000, 5000):
            p = partial_overlap(n=n, d=64, overlap=0.5, noise=0.05, seed=0)
            yield f"partial overlap 50% n={n} noise=0.05", (p.X, p.Y, p.X[p.pairs[:, 0]], p.Y[p.pairs[:, 1]])
    if "hmm" in names:
        yield "hmm", hmm_pairs(n_states=8, symbols_per_state=12, length=200_000, dim=16, seed=0)  # chance 1/8


def main(argv):
    only = argv[argv.index("--only") + 1:] if "--only" in argv else list(ALIGNERS)
    names = [a for a in (argv[:argv.index("--only")] if "--only" in argv else argv)] or ["rotation"]
    print("| problem | aligner | top-1 | seconds |\n|---|---|---|---|")
    for pname, data in problems(names):
        for aname in only:
            t0 = time.perf_counter()
            if pname == "hmm":
                p = data
                m = ALIGNERS[aname]().fit(p.X, p.Y)
                sa, sb = p.meta["state_of_a"], p.meta["state_of_b"]
                I = knn(m.transform(p.X), p.Y, 1)[1][:, 0]
                score = float((sb[I] == sa).mean())  # state accuracy
            else:
                X, Y, Xe, Ye = data
                m = ALIGNERS[aname]().fit(X, Y)
                score = translation_scores(m.transform(Xe), Ye)["top1"]
            print(f"| {pname} | {aname} | {score:.3f} | {time.perf_counter() - t0:.1f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
