"""CSLS retrieval: align.compute.csls_knn against the dense MUSE-style computation.

    PYTHONPATH=. python bench/csls.py                 # CPU, 10,000 x 10,000, d = 300 (a word-translation size)
    PYTHONPATH=. python bench/csls.py --full          # CPU, also 50,000 x 50,000
    PYTHONPATH=. python bench/csls.py --device cuda   # GPU, 100,000 x 100,000, d = 768 (bf16 and fp32)

CSLS(q, b) = 2 cos(q, b) − r_B(q) − r_Q(b) (Conneau et al., 2018, arXiv 1710.04087) with r the mean
cosine to the ``csls_k`` nearest of the other set. Peers, measured interleaved in one process:
the dense computation as in MUSE (full similarity matrix, topk for r, then the CSLS matrix and its
topk; chunked over queries only where the full matrix would not fit), and csls_knn with faiss for
the neighbourhood means. Columns: median seconds, ratio to the dense peer, peak working memory,
share of top-1 indices equal to the dense peer's. Needs torch and numpy; faiss optional.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

if "--no-thp" not in sys.argv:
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from _harness import add_common_args, apply_common_args, run_interleaved  # noqa: E402
from align.report import text_table  # noqa: E402
from align.compute import csls_knn, faiss_available  # noqa: E402


def dense_csls(Q, B, k, csls_k, chunk):
    """MUSE-style: similarities, neighbourhood means by topk, then CSLS scores and their topk."""
    Qn = torch.nn.functional.normalize(Q, dim=1)
    Bn = torch.nn.functional.normalize(B, dim=1)
    r_q = torch.cat([(Qn[i:i + chunk] @ Bn.T).topk(csls_k, dim=1).values.float().mean(1)
                     for i in range(0, Qn.shape[0], chunk)])
    r_b = torch.cat([(Bn[i:i + chunk] @ Qn.T).topk(csls_k, dim=1).values.float().mean(1)
                     for i in range(0, Bn.shape[0], chunk)])
    out = []
    for i in range(0, Qn.shape[0], chunk):
        S = 2 * (Qn[i:i + chunk] @ Bn.T).float() - r_q[i:i + chunk, None] - r_b[None, :]
        out.append(S.topk(k, dim=1).indices)
    return torch.cat(out)


def run(n, d, k, csls_k, device, repeats, dtype=torch.float32, seed=0):
    g = torch.Generator(device=device).manual_seed(seed)
    Q = torch.randn(n, d, generator=g, device=device).to(dtype)
    B = (torch.randn(n, d, generator=g, device=device) + 0.2).to(dtype)
    full_bytes = n * n * torch.finfo(dtype).bits // 8
    limit = (8 << 30) if device == "cuda" else (1 << 30)
    chunk = n if full_bytes <= limit else max(1, limit // (n * torch.finfo(dtype).bits // 8))
    name_dense = "dense torch (MUSE-style)" + ("" if chunk == n else f", {chunk}-row chunks")
    ours = "ours csls_knn " + ("triton" if device == "cuda" else "torch")
    methods = {name_dense: lambda: dense_csls(Q, B, k, csls_k, chunk),
               ours: lambda: csls_knn(Q, B, k, csls_k=csls_k, backend="triton" if device == "cuda" else "torch")[1]}
    if device == "cpu" and faiss_available() and dtype == torch.float32:
        Qn, Bn = Q.numpy(), B.numpy()
        methods["ours csls_knn faiss"] = lambda: csls_knn(Qn, Bn, k, csls_k=csls_k, backend="faiss")[1]
    times, peaks, results = run_interleaved(methods, device, repeats)
    base = statistics.median(times[name_dense])
    ref = np.asarray(torch.as_tensor(results[name_dense]).cpu())[:, 0]
    rows = [{"method": name, "seconds": round(statistics.median(times[name]), 3),
             "ratio": round(statistics.median(times[name]) / base, 3), "peak_MB": round(peaks[name]),
             "same_top1": round(float((np.asarray(torch.as_tensor(results[name]).cpu())[:, 0] == ref).mean()), 4)}
            for name in methods]
    print(f"\n{n:,} queries x {n:,} database, d = {d}, k = {k}, csls_k = {csls_k}, {device} {str(dtype)[6:]}")
    print(text_table(rows, ["method", "seconds", "ratio", "peak_MB", "same_top1"]))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--n", type=int, nargs="*")
    add_common_args(ap)
    args = ap.parse_args(argv)
    settings = apply_common_args(args)
    print(f"torch {torch.__version__}, {settings}")
    if args.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit("no CUDA device")
        print(torch.cuda.get_device_name())
        for n in args.n or [100_000]:
            for dt in (torch.bfloat16, torch.float32):
                run(n, 768, 10, 10, "cuda", args.repeats, dt)
        return
    for n in args.n or ([10_000, 50_000] if args.full else [10_000]):
        run(n, 300, 10, 10, "cpu", args.repeats)


if __name__ == "__main__":
    main()
