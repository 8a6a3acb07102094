"""Encoder throughput on CPU: load time and texts/s on King James verses (no cache).

    python bench/encoders.py [--n 500] [--models minilm-l6,e5-small,...]
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from align.corpora import kjv  # noqa: E402
from align.encoders import list_encoders, load_encoder  # noqa: E402
from align.report import text_table  # noqa: E402


def main(argv=None):
    """Command line: encode the same KJV verses with each installed encoder and print throughput."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--models", default=None, help="comma-separated names (default: all installed)")
    args = p.parse_args(argv)
    names = args.models.split(",") if args.models else [e.name for e in list_encoders() if e.installed]
    texts = kjv().texts[1000:1000 + args.n]
    words = np.mean([len(t.split()) for t in texts])
    rows = []
    for name in names:
        enc = load_encoder(name, device="cpu")
        t0 = time.perf_counter()
        enc.load()
        load_s = time.perf_counter() - t0
        enc.encode(texts[:8], show_progress=False)  # warm-up
        t0 = time.perf_counter()
        enc.encode(texts, show_progress=False)
        dt = time.perf_counter() - t0
        rows.append({"model": name, "family": enc.info.family, "dim": enc.info.dim,
                     "load_s": round(load_s, 1), "texts_per_s": round(len(texts) / dt, 1)})
        print(rows[-1], flush=True)
    print(f"\n{len(texts)} KJV verses (mean {words:.1f} words), torch threads={torch.get_num_threads()}")
    print(text_table(rows, ["model", "family", "dim", "load_s", "texts_per_s"]))


if __name__ == "__main__":
    main()
