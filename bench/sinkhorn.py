"""Entropic OT: align.compute.sinkhorn against POT (sinkhorn_log, kernel-domain sinkhorn) and geomloss.

    PYTHONPATH=. python bench/sinkhorn.py                 # CPU, n = 2,000 and 5,000, d = 384 (minutes)
    PYTHONPATH=. python bench/sinkhorn.py --full          # CPU, more iterations, POT numpy at n = 5,000 too
    PYTHONPATH=. python bench/sinkhorn.py --device cuda   # GPU, n = 10,000 / 20,000 / 100,000

Problem: unit-norm random points (d = 384), squared Euclidean cost, reg = 0.05 × max cost (POT gets
the cost divided by its max and reg = 0.05: the same plan). Per-iteration time is the slope between
runs of ``iters`` and ``3 × iters`` iterations (10× more for the kernel-domain loops) with early
stopping off, so set-up (building the cost
or kernel, the final cost pass) is excluded and reported separately as ``setup_s`` (extrapolated
to zero iterations); ``short_run_s`` is the whole short run. POT's cost matrix is built outside its
timing. geomloss (tensorized, debias=False) runs its own ε-scaling schedule: its time per solve
divided by the schedule length. ``max_dP`` is the largest plan
difference to POT sinkhorn_log after the same iterations, relative to the plan's largest entry.
Needs torch and numpy; POT and geomloss rows are skipped when those are missing.
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

from align.compute import sinkhorn  # noqa: E402
from _harness import add_common_args, apply_common_args, measure  # noqa: E402
from align.report import text_table  # noqa: E402

try:
    import ot  # lazy: optional peer (POT)
except ImportError:
    ot = None
try:
    import geomloss  # lazy: optional peer
    from geomloss._legacy.sinkhorn_divergence import epsilon_schedule  # lazy: optional peer
except ImportError:
    geomloss = None


def methods_for(n, X, Y, reg, mx, device, full):
    a = torch.full((n,), 1.0 / n, device=device)
    M = None
    m = {}
    for meth in ("kernel", "log", "online"):
        if meth != "online" and n > 20_000:
            continue
        m[f"ours {meth}"] = (lambda it, meth=meth: sinkhorn(a, a, X, Y, reg, method=meth, max_iter=it, tol=0,
                                                            memory_mb=1 << 16)), "iter"
    if n <= 20_000:
        M = torch.cdist(X, Y) ** 2
        Mn = M / mx
        if ot is not None:
            m["POT sinkhorn_log torch f32"] = (lambda it: ot.bregman.sinkhorn_log(
                a, a, Mn, 0.05, numItermax=it, stopThr=0, warn=False)), "iter"
            m["POT sinkhorn (kernel) torch f32"] = (lambda it: ot.sinkhorn(
                a, a, Mn, 0.05, numItermax=it, stopThr=0, warn=False)), "iter"
            if device == "cpu" and (n <= 2_000 or full):
                an, Mnp = a.double().numpy(), Mn.double().numpy()
                m["POT sinkhorn_log numpy f64"] = (lambda it: ot.bregman.sinkhorn_log(
                    an, an, Mnp, 0.05, numItermax=it, stopThr=0, warn=False)), "iter"
        if geomloss is not None:
            # geomloss p=2 uses cost |x − y|²/2 and ε = blur²: ε = reg/2 gives our problem
            blur = (reg / 2) ** 0.5
            loss = geomloss.SamplesLoss("sinkhorn", p=2, blur=blur, scaling=0.9, debias=False,
                                        backend="tensorized")
            steps = len(epsilon_schedule(2, 2.0, blur, 0.9))
            m["geomloss tensorized (per ε-step)"] = (lambda it: loss(a, X, a, Y)), ("solve", steps)
    return m, M


def _fmt_s(x):
    return "" if x != x else round(x, 3)


def run(n, d, iters, device, repeats, full, seed=0):
    g = torch.Generator(device=device).manual_seed(seed)
    X = torch.nn.functional.normalize(torch.randn(n, d, generator=g, device=device), dim=1)
    Y = torch.nn.functional.normalize(torch.randn(n, d, generator=g, device=device) + 0.1, dim=1)
    mx = float(torch.cdist(X[:2000], Y).max()) ** 2  # the cost scale (unit vectors: just under 4)
    reg = 0.05 * mx
    methods, M = methods_for(n, X, Y, reg, mx, device, full)
    rows, samples = [], {name: ([], [], []) for name in methods}
    outputs, peaks = {}, {}
    # kernel-domain loops are ~50x cheaper per iteration: give them more iterations for the slope
    its = {name: iters * (10 if "kernel" in name else 1) for name in methods}
    for name, (fn, kind) in methods.items():  # warm-up (autotune, first touch)
        _, peaks[name], outputs[name] = measure(lambda: fn(iters), device)
    for _ in range(repeats):
        for name, (fn, kind) in methods.items():
            it = its[name]
            t1, p1, _ = measure(lambda: fn(it), device)
            if kind == "iter":
                t3, p3, _ = measure(lambda: fn(3 * it), device)
                samples[name][0].append((t3 - t1) / (2 * it))
                samples[name][1].append(t1 - it * (t3 - t1) / (2 * it))
            else:
                samples[name][0].append(t1 / kind[1])
                samples[name][1].append(float("nan"))
            samples[name][2].append(t1)
            peaks[name] = max(peaks[name], p1)
    ref_plan = None
    if M is not None and ot is not None:
        ref_plan = outputs["POT sinkhorn_log torch f32"].double().cpu()
    pot = statistics.median(samples["POT sinkhorn_log torch f32"][0]) if "POT sinkhorn_log torch f32" in samples else None
    for name in methods:
        per = statistics.median(samples[name][0])
        dP = ""
        if ref_plan is not None and name.startswith("ours"):
            dP = float((outputs[name].plan(max_entries=10**9).double().cpu() - ref_plan).abs().max() / ref_plan.max())
        rows.append({"method": name, "ms_per_iter": round(per * 1000, 2),
                     "vs_POT_log": round(per / pot, 3) if pot else "", "setup_s": _fmt_s(statistics.median(samples[name][1])),
                     "short_run_s": round(statistics.median(samples[name][2]), 3),
                     "peak_MB": round(peaks[name]), "max_dP": f"{dP:.1e}" if dP != "" else ""})
    print(f"\nn = m = {n:,}, d = {d}, {device}, reg = 0.05 x max cost, {iters}/{3 * iters} iterations "
          f"(kernel domain: {10 * iters}/{30 * iters}); max_dP after {iters} iterations")
    print(text_table(rows, ["method", "ms_per_iter", "vs_POT_log", "setup_s", "short_run_s", "peak_MB", "max_dP"]))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--n", type=int, nargs="*", help="problem sizes (default: by device)")
    ap.add_argument("--iters", type=int, default=None, help="iterations of the short run (long run: 3x)")
    add_common_args(ap)
    args = ap.parse_args(argv)
    settings = apply_common_args(args)
    versions = f"torch {torch.__version__}, POT {getattr(ot, '__version__', 'missing')}, " \
               f"geomloss {getattr(geomloss, '__version__', 'missing')}"
    print(f"{versions}, {settings}")
    if args.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit("no CUDA device")
        print(torch.cuda.get_device_name())
    sizes = args.n or ([10_000, 20_000, 100_000] if args.device == "cuda" else [2_000, 5_000])
    for n in sizes:
        iters = args.iters or (50 if args.full else (10 if n <= 2_000 else 5))
        run(n, 384, iters, args.device, args.repeats, args.full)


if __name__ == "__main__":
    main()
