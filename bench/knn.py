"""Exact kNN: align.compute.knn against faiss, torch GEMM + topk, torch.cdist and the bare GEMM.

    PYTHONPATH=. python bench/knn.py                 # CPU, 100,000 x 384 database, 2,000 queries (minutes)
    PYTHONPATH=. python bench/knn.py --full          # CPU, the bench/RESULTS.md shapes (10,000 queries; 20k x 20k)
    PYTHONPATH=. python bench/knn.py --device cuda   # GPU, the bench/RESULTS.md H100 shapes (bf16)

Methods run interleaved (one of each per round) in one process; the table gives median seconds,
the ratio to the reference peer (faiss IndexFlatIP on CPU, torch GEMM + topk on GPU), peak working
memory (CPU: resident-set growth above the inputs; GPU: allocator peak above the inputs) and the
share of indices equal to the reference's. Only torch, numpy (and triton on GPU) are required;
faiss is used when installed. Timings on a shared machine are noisy: compare ratios, not seconds.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

if "--no-thp" not in sys.argv:  # huge pages for torch's large CPU buffers (all methods alike)
    os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from _harness import add_common_args, apply_common_args, run_interleaved  # noqa: E402
from align.report import text_table  # noqa: E402
from align.compute import faiss_available, knn  # noqa: E402
from align.compute.topk import cpu_gemm_engine  # noqa: E402


def torch_topk(Q, B, k, chunk, dtype=None, gemm_only=False):
    """The plain peer: chunked ``q @ db.T`` (fresh buffers) then ``torch.topk``."""
    Qc, Bc = (Q, B) if dtype is None else (Q.to(dtype), B.to(dtype))
    out = []
    for q0 in range(0, Q.shape[0], chunk):
        S = Qc[q0:q0 + chunk] @ Bc.T
        out.append(S[:, :1].clone() if gemm_only else torch.topk(S, k, dim=1).indices)
    return torch.cat(out)


def cdist_topk(Q, B, k, chunk):
    return torch.cat([torch.topk(torch.cdist(Q[q0:q0 + chunk], B), k, dim=1, largest=False).indices
                      for q0 in range(0, Q.shape[0], chunk)])


def numpy_gemm(Qn, Bn, chunk):
    buf = np.empty((chunk, Bn.shape[0]), np.float32)
    for q0 in range(0, Qn.shape[0], chunk):
        q = Qn[q0:q0 + chunk]
        np.matmul(q, Bn.T, out=buf[: q.shape[0]])
    return None


def cpu_methods(Q, B, k):
    Qn, Bn = Q.numpy(), B.numpy()
    m = {"ours torch (ip)": lambda: knn(Qn, Bn, k, metric="ip", backend="torch")[1],
         "GEMM alone (numpy, chunked)": lambda: numpy_gemm(Qn, Bn, 1024),
         "torch GEMM+topk fp32 (chunked)": lambda: torch_topk(Q, B, k, 1024).numpy(),
         "torch GEMM+topk bf16 (chunked)": lambda: torch_topk(Q, B, k, 1024, torch.bfloat16).numpy(),
         "ours torch (l2)": lambda: knn(Qn, Bn, k, metric="l2", backend="torch")[1],
         "torch.cdist+topk (l2)": lambda: cdist_topk(Q, B, k, 1024).numpy()}
    ref = "torch GEMM+topk fp32 (chunked)"
    if faiss_available():
        import faiss  # lazy: optional dependency
        ip, l2 = faiss.IndexFlatIP(Bn.shape[1]), faiss.IndexFlatL2(Bn.shape[1])
        ip.add(Bn)
        l2.add(Bn)
        m = {"faiss IndexFlatIP": lambda: ip.search(Qn, k)[1], **m, "faiss IndexFlatL2": lambda: l2.search(Qn, k)[1]}
        ref = "faiss IndexFlatIP"
    return m, ref


def gpu_methods(Q, B, k):
    Qh, Bh = Q.bfloat16(), B.bfloat16()
    chunk = max(1, (16 << 30) // (2 * B.shape[0]))  # 16 GB score chunks for the torch peers
    m = {"ours triton bf16": lambda: knn(Qh, Bh, k, metric="ip", backend="triton")[1],
         "torch GEMM+topk bf16": lambda: torch_topk(Qh, Bh, k, chunk),
         "GEMM alone bf16": lambda: torch_topk(Qh, Bh, k, chunk, gemm_only=True)}
    if Q.shape[0] * B.shape[0] <= 2**34:  # fp32 peers at n = m = 100,000 as in bench/RESULTS.md
        Qf, Bf = Q, B
        m["ours triton fp32"] = lambda: knn(Qf, Bf, k, metric="ip", backend="triton")[1]
        m["torch GEMM+topk fp32"] = lambda: torch_topk(Qf, Bf, k, chunk // 2)
        m["torch.cdist+topk fp32 (l2)"] = lambda: cdist_topk(Qf, Bf, k, chunk // 4)
    try:
        import faiss  # lazy: optional dependency (faiss-gpu)
        if hasattr(faiss, "StandardGpuResources"):
            res = faiss.StandardGpuResources()
            index = faiss.GpuIndexFlatIP(res, B.shape[1])
            index.add(B.cpu().numpy())
            Qn = Q.cpu().numpy()
            m["faiss-gpu GpuIndexFlatIP"] = lambda: index.search(Qn, k)[1]
    except ImportError:
        pass
    return m, "torch GEMM+topk bf16"


def run(n_db, n_q, d, k, device, repeats, seed=0, only=()):
    g = torch.Generator(device=device).manual_seed(seed)
    B = torch.randn(n_db, d, generator=g, device=device)
    Q = torch.randn(n_q, d, generator=g, device=device)
    methods, ref = (gpu_methods if device == "cuda" else cpu_methods)(Q, B, k)
    if only:
        methods = {n: f for n, f in methods.items() if n == ref or any(o.lower() in n.lower() for o in only)}
    times, peaks, results = run_interleaved(methods, device, repeats)
    base = statistics.median(times[ref])
    rows = []
    l2_ref = next((n for n in methods if "l2" in n.lower()), None)
    for name in methods:
        med = statistics.median(times[name])
        got, want = results[name], results[l2_ref if "l2" in name.lower() else ref]
        agree = "" if got is None else float((np.asarray(torch.as_tensor(got).cpu()) == np.asarray(
            torch.as_tensor(want).cpu())).mean())
        rows.append({"method": name, "seconds": round(med, 3), "ratio": round(med / base, 3),
                     "peak_MB": round(peaks[name]), "same_idx": agree if agree == "" else round(agree, 4),
                     "all_s": " ".join(f"{t:.2f}" for t in times[name])})
    print(f"\ndatabase {n_db:,} x {d}, {n_q:,} queries, k={k}, {device}; ratio = time / {ref}")
    print(text_table(rows, ["method", "seconds", "ratio", "peak_MB", "same_idx", "all_s"]))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--full", action="store_true", help="the bench/RESULTS.md shapes")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--only", nargs="*", default=(), help="run only methods whose name contains one of these "
                    "(plus the reference peer)")
    ap.add_argument("--shape", type=int, nargs=3, metavar=("N_DB", "N_Q", "D"), help="one custom shape")
    add_common_args(ap)
    args = ap.parse_args(argv)
    settings = apply_common_args(args)
    print(f"torch {torch.__version__}, numpy {np.__version__}, {settings}")
    print(f"CPU GEMM engine of the torch backend: {cpu_gemm_engine()}")
    if args.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit("no CUDA device")
        print(torch.cuda.get_device_name())
        shapes = [(1_000_000, 65_536, 768), (1_000_000, 16_384, 4096), (100_000, 100_000, 768)]
        if not args.full:
            shapes = [(1_000_000, 65_536, 768), (100_000, 100_000, 768)]
    else:
        shapes = [(100_000, 10_000, 384), (20_000, 20_000, 384)] if args.full else [(100_000, 2_000, 384)]
    if args.shape:
        shapes = [tuple(args.shape)]
    for n_db, n_q, d in shapes:
        run(n_db, n_q, d, args.k, args.device, args.repeats, only=args.only)


if __name__ == "__main__":
    main()
