"""Similarity metrics at scale: our feature-space / tiled implementations vs naive n x n ones.

Each measurement runs in a fresh child process (so peak memory is its own): the child builds the
inputs, resets its peak-RSS counter, runs one metric once and reports wall time, the peak RSS above
the inputs, and the value. The naive peers materialise n x n matrices and run only where they fit.

    python bench/metrics.py                       # n = 5,000, 10,000, 100,000; d = 768 vs 384
    python bench/metrics.py --sizes 2000 --write  # and append the table to bench/RESULTS.md

Inputs: two views of one latent variable (n x 64 Gaussian latent; X = tanh(Z A) B + noise, 768-d;
Y = Z C + noise, 384-d), float32, rows L2-normalised, so neighbourhoods are structured like text
embeddings and the metrics are far from both 0 and 1.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from align.metrics import cka, mutual_knn, self_neighbours  # noqa: E402
from align.metrics.similarity_knn import mutual_knn_rows  # noqa: E402

METHODS = {
    "cka": ["feature-space", "naive-nxn"],
    "mutual_knn": ["faiss", "screen", "naive-nxn"],
}


def make_inputs(n: int, dx: int = 768, dy: int = 384, seed: int = 0):
    """Two float32 views ``(X (n, dx), Y (n, dy))`` of one 64-d Gaussian latent, rows L2-normalised.

    ``X = tanh(Z A) B + noise`` and ``Y = Z C + noise``: structured neighbourhoods, metrics far from 0 and 1.
    """
    rng = np.random.default_rng(seed)
    A, B = rng.normal(size=(64, 256)) / 8, rng.normal(size=(256, dx)) / 16
    C = rng.normal(size=(64, dy)) / 8
    X = np.empty((n, dx), np.float32)
    Y = np.empty((n, dy), np.float32)
    for s in range(0, n, 8192):  # chunks keep the generator's temporaries small
        Z = rng.normal(size=(min(8192, n - s), 64))
        x = np.tanh(Z @ A) @ B + 0.35 * rng.normal(size=(Z.shape[0], dx))
        y = Z @ C + 0.9 * rng.normal(size=(Z.shape[0], dy))
        X[s:s + Z.shape[0]] = x / np.linalg.norm(x, axis=1, keepdims=True)
        Y[s:s + Z.shape[0]] = y / np.linalg.norm(y, axis=1, keepdims=True)
    return X, Y


def _status(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024  # MB
    return float("nan")


def naive_cka(X, Y):
    """Linear CKA from the two n x n Gram matrices in float64 (the naive peer)."""
    Xt, Yt = torch.from_numpy(X).double(), torch.from_numpy(Y).double()
    K, L = Xt @ Xt.T, Yt @ Yt.T

    def centre(M):
        M -= M.mean(0, keepdim=True)
        M -= M.mean(1, keepdim=True)
        return M

    K, L = centre(K), centre(L)
    return float((K * L).sum() / ((K * K).sum().sqrt() * (L * L).sum().sqrt() + 1e-6))


def naive_mutual_knn(X, Y, k):
    """Mutual kNN from two n x n similarity matrices and torch.topk (the naive peer)."""
    def lists(F):
        Ft = torch.from_numpy(F)
        S = Ft @ Ft.T
        S.fill_diagonal_(float("-inf"))
        return torch.topk(S, k, dim=1).indices

    IX, IY = lists(X), lists(Y)
    n = X.shape[0]
    M = torch.zeros((n, n), dtype=torch.bool)
    M[torch.arange(n)[:, None], IX] = True
    return float(M.gather(1, IY).sum() / (n * k))


def child(metric: str, method: str, n: int, k: int) -> dict:
    """Run one measurement in this (child) process.

    Returns
    -------
    dict
        metric, method, n, wall and CPU seconds, value, peak RSS above the inputs and the inputs' RSS (MB).
    """
    X, Y = make_inputs(n)
    inputs_mb = _status("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:  # reset the peak-RSS counter (VmHWM)
        f.write("5")
    t0, c0 = time.perf_counter(), time.process_time()
    if metric == "cka":
        value = cka(X, Y) if method == "feature-space" else naive_cka(X, Y)
    elif method == "naive-nxn":
        value = naive_mutual_knn(X, Y, k)
    elif method == "faiss":  # the public function; its default search is faiss for float32
        value = mutual_knn(X, Y, k=k)
    else:
        value = float(mutual_knn_rows(self_neighbours(X, k, backend=method),
                                      self_neighbours(Y, k, backend=method)).mean())
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"metric": metric, "method": method, "n": n, "seconds": seconds, "cpu_s": cpu, "value": value,
            "peak_extra_mb": _status("VmHWM") - inputs_mb, "inputs_mb": inputs_mb}


def run_child(metric, method, n, k, timeout):
    """Run :func:`child` in a fresh process (its own peak memory); an error dict on failure or timeout."""
    cmd = [sys.executable, __file__, "--child", metric, method, str(n), str(k)]
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"metric": metric, "method": method, "n": n, "error": f"timeout {timeout} s"}
    if out.returncode != 0:
        return {"metric": metric, "method": method, "n": n, "error": out.stderr.strip().splitlines()[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def versions() -> str:
    """One line of the Python, NumPy, torch and faiss versions."""
    import faiss  # lazy: optional dependency
    return (f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
            f"faiss {faiss.__version__}")


def table(rows) -> str:
    """The Markdown results table, with the wall-time speed-up over the naive peer."""
    lines = ["| metric | n | method | wall (s) | CPU (s) | peak above inputs (MB) | value | speed-up vs naive (wall) |",
             "|---|---|---|---|---|---|---|---|"]
    naive = {(r["metric"], r["n"]): r["seconds"] for r in rows if r["method"] == "naive-nxn" and "error" not in r}
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['metric']} | {r['n']:,} | {r['method']} | - | - | - | {r['error']} | - |")
            continue
        ref = naive.get((r["metric"], r["n"]))
        ratio = f"{ref / r['seconds']:.2f}x" if ref and r["method"] != "naive-nxn" else "-"
        lines.append(f"| {r['metric']} | {r['n']:,} | {r['method']} | {r['seconds']:.2f} | {r.get('cpu_s', float('nan')):.1f} "
                     f"| {r['peak_extra_mb']:.0f} "
                     f"| {r['value']:.4f} | {ratio} |")
    return "\n".join(lines)


def main(argv=None):
    """Command line: run the measurements, print the table, optionally append it to bench/RESULTS.md."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="5000,10000,100000")
    p.add_argument("--naive-max", type=int, default=10000, help="largest n for the n x n peers")
    p.add_argument("--methods", default="", help="comma list to restrict (e.g. faiss,feature-space)")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--timeout", type=int, default=1800, help="seconds per measurement")
    p.add_argument("--write", action="store_true", help="append the table to bench/RESULTS.md")
    p.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        metric, method, n, k = args.child
        print(json.dumps(child(metric, method, int(n), int(k))))
        return 0
    only = {m for m in args.methods.split(",") if m}
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        for metric, methods in METHODS.items():
            for method in methods:
                if (only and method not in only) or (method == "naive-nxn" and n > args.naive_max):
                    continue
                r = run_child(metric, method, n, args.k, args.timeout)
                rows.append(r)
                print(json.dumps(r), flush=True)
    text = table(rows)
    print(text)
    if args.write:
        header = (f"\n### Run of {dt.date.today().isoformat()} (`python bench/metrics.py --sizes {args.sizes}`)\n\n"
                  f"Machine: 2-core shared CPU ({platform.processor() or platform.machine()}), load average at start "
                  f"{os.getloadavg()[0]:.1f}; {versions()}. d = 768 vs 384, k = {args.k}, float32 inputs.\n\n")
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write(header + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
