"""Few known pairs on disjoint pools: the relative-representation start vs Procrustes on the pairs.

    python bench/fewpair.py --corpus kjv --pool 0 --k 10,25 --start relative,procrustes --seeds 0,1,2

Model A embeds its pool plus the eval/train strings, model B its own disjoint pool plus the same
eval/train strings (:func:`align.recipes.unshared_data.embed_split`, cached). K anchors are drawn
from the training strings and appended to both pools as the known pairs; the refiner never sees
another pair. Scores: top-1 of the 1,000 held-out strings in a gallery of 1,000, raw and with both
sides centred on B's pool mean. Embedding is cached and timed apart (run bench/embed_unshared.py
first); fit times include nothing else.
"""
import argparse
import time

import numpy as np

from align.compute import knn
from align.recipes.common import load_corpus
from align.recipes.unshared_data import embed_split, unshared_split
from align.unsupervised import SelfLearningRefiner


def top1(P, T):
    return float((knn(P, T, 1, metric="cosine")[1][:, 0] == np.arange(len(T))).mean())


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--corpus", default="kjv")
    p.add_argument("--pool", type=int, default=0, help="strings per side; 0 = the largest disjoint pools")
    p.add_argument("--a", default="minilm-l6")
    p.add_argument("--b", default="e5-small")
    p.add_argument("--k", default="25", help="comma-separated numbers of known pairs")
    p.add_argument("--start", default="relative,procrustes")
    p.add_argument("--seeds", default="0")
    p.add_argument("--n-iter", type=int, default=30)
    args = p.parse_args()
    corpus = load_corpus(args.corpus)
    n = args.pool or unshared_split(corpus.texts, 1).max_pool
    E = embed_split(corpus.texts, unshared_split(corpus.texts, n, seed=0), args.a, args.b)
    n_pool = len(E["A_pool"])
    print(f"{args.corpus}: {args.a} → {args.b}, pools {n_pool} per side, {len(E['A_eval'])} held out")
    print("| K | start | seed | rounds | top-1 raw | top-1 centred | fit (s) |\n|---|---|---|---|---|---|---|")
    for k in (int(x) for x in args.k.split(",")):
        for start in args.start.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                anchors = np.random.default_rng(seed).choice(len(E["A_train"]), k, replace=False)
                X = np.vstack([E["A_pool"], E["A_train"][anchors]])
                Y = np.vstack([E["B_pool"], E["B_train"][anchors]])
                known = np.stack([n_pool + np.arange(k)] * 2, 1)
                t0 = time.perf_counter()
                model = SelfLearningRefiner(start=start, n_iter=args.n_iter, random_state=seed)
                model.fit(X, Y, seed_pairs=known)
                fit_s = time.perf_counter() - t0
                P, mu = model.transform(E["A_eval"]), model.mean_y_
                print(f"| {k} | {start} | {seed} | {len(model.history_)} | {top1(P, E['B_eval']):.3f} | "
                      f"{top1(P - mu, E['B_eval'] - mu):.3f} | {fit_s:.0f} |", flush=True)


if __name__ == "__main__":
    main()
