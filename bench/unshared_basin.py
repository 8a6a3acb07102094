"""Diagnostics of the unshared-strings study (issue 8): why unsupervised alignment fails on a real pair.

1. The label-free criteria of the TRUE map (Procrustes on the 1,000 training pairs) against a random
   rotation: if a wrong map found by an aligner scores as well as the truth, no search can fix it.
2. The basin of self-learning refinement: Procrustes on n true pairs as the start, then CSLS
   refinement on the disjoint, unpaired pools — how many pairs must an unsupervised init be "worth"?
3. Criterion validity on real runs of mixed quality: the label-free criteria of every refined map
   (from the pools only), their Spearman correlation with the true top-1, and each one's pick.

    ALIGN_CACHE=/work/.align-cache python bench/unshared_basin.py --pool 5000 --pairs 10,25,50,100,200
"""
import argparse
import time

import numpy as np

from align.metrics import translation_scores
from align.recipes.common import load_corpus
from align.recipes.unshared_data import embed_split, unshared_split
from align.supervised.procrustes import procrustes
from align.synthetic import random_orthogonal
from align.unsupervised.refine import refine_map
from align.unsupervised.selection import CRITERIA, label_free_criteria, spearman


def _ucu(A, mean=None):
    A = A / np.linalg.norm(A, axis=1, keepdims=True)
    mean = A.mean(0) if mean is None else mean
    A = A - mean
    return (A / np.linalg.norm(A, axis=1, keepdims=True)).astype(np.float32), mean


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--corpus", default="kjv")
    p.add_argument("--pool", default="5000")
    p.add_argument("--a", default="minilm-l6")
    p.add_argument("--b", default="e5-small")
    p.add_argument("--pairs", default="10,25,50,100,200")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--refine-iter", type=int, default=10)
    args = p.parse_args()
    corpus = load_corpus(args.corpus)
    n = unshared_split(corpus.texts, 1).max_pool if args.pool == "max" else int(args.pool)
    split = unshared_split(corpus.texts, n)
    split.check_disjoint(corpus.texts)
    d = embed_split(corpus.texts, split, args.a, args.b)
    X, mx = _ucu(d["A_pool"])
    Y, my = _ucu(d["B_pool"])
    Xt, Yt = _ucu(d["A_train"], mx)[0], _ucu(d["B_train"], my)[0]
    Xe, Ye = _ucu(d["A_eval"], mx)[0], _ucu(d["B_eval"], my)[0]

    def top1(W):
        return translation_scores(Xe @ W, Ye)["top1"]

    rng = np.random.default_rng(0)
    W_true = procrustes(Xt, Yt)
    R = random_orthogonal(X.shape[1], Y.shape[1], rng=rng)
    print(f"pools {X.shape} / {Y.shape}; held-out top-1 of the true map {top1(W_true):.3f}")
    for name, W in (("true map", W_true), ("random rotation", R)):
        crit = label_free_criteria(X @ W, Y)
        print(f"{name:16s} " + "  ".join(f"{k} {v:.3f}" for k, v in crit.items()))
    print("\nn_pairs  init_top1  refined_top1  seconds")
    runs = []
    for m in (int(v) for v in args.pairs.split(",")):
        for _ in range(args.repeats):
            idx = rng.choice(len(Xt), m, replace=False)
            W0 = procrustes(Xt[idx], Yt[idx])
            t0 = time.perf_counter()
            W1 = refine_map(X, Y, W0, n_iter=args.refine_iter, csls_k=10)[0]
            runs.append((m, top1(W1), label_free_criteria(X @ W1, Y)))
            print(f"{m:7d}  {top1(W0):9.3f}  {runs[-1][1]:12.3f}  {time.perf_counter() - t0:7.1f}", flush=True)
    if len(runs) >= 3:
        t = [r[1] for r in runs]
        print(f"\ncriterion validity over {len(runs)} refined runs (true top-1 {min(t):.3f}–{max(t):.3f}):")
        print("criterion          spearman  pick_top1  gap_to_best")
        for c in CRITERIA:
            vals = [r[2][c] for r in runs]
            pick = int(np.argmax(vals))
            print(f"{c:18s} {spearman(vals, t):8.3f}  {t[pick]:9.3f}  {max(t) - t[pick]:11.3f}")


if __name__ == "__main__":
    main()
