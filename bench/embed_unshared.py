"""Pre-compute (cache) the embeddings of the unshared-strings study, smallest pools first.

    ALIGN_CACHE=/work/.align-cache python bench/embed_unshared.py --corpus kjv --pools 5000,10000,max
"""
import argparse
import time

from align.recipes.common import load_corpus
from align.recipes.unshared_data import embed_split, unshared_split


def main():
    """Command line: embed the disjoint pools of each size with both models (fills the cache), timing each."""
    p = argparse.ArgumentParser()
    p.add_argument("--corpus", default="kjv")
    p.add_argument("--pools", default="5000,10000,max")
    p.add_argument("--a", default="minilm-l6")
    p.add_argument("--b", default="e5-small")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    corpus = load_corpus(args.corpus)
    for size in args.pools.split(","):
        n = unshared_split(corpus.texts, 1, seed=args.seed).max_pool if size == "max" else int(size)
        split = unshared_split(corpus.texts, n, seed=args.seed)
        split.check_disjoint(corpus.texts)
        t = {}
        t0 = time.perf_counter()
        embed_split(corpus.texts, split, args.a, args.b, timings=t)
        print(f"{args.corpus} pool {n}: {t} total {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
