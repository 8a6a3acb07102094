"""Shared measuring helpers of the benchmark scripts: thread limits, peak memory, one timed call.

Import it after deciding on ``THP_MEM_ALLOC_ENABLE`` (the scripts set it before importing torch).
"""
from __future__ import annotations

import os
import time

import torch

CLOCK = [time.perf_counter]  # swapped for time.process_time by --cpu-time


def use_cpu_time(flag: bool) -> None:
    """Time with process CPU time (all threads) instead of wall time."""
    CLOCK[0] = time.process_time if flag else time.perf_counter


def set_threads(n) -> None:
    """Limit torch, BLAS (through threadpoolctl) and faiss to ``n`` threads; None leaves them alone."""
    if n is None:
        return
    torch.set_num_threads(n)
    try:
        import threadpoolctl  # lazy: optional dependency
        threadpoolctl.threadpool_limits(n)
    except ImportError:
        pass
    try:
        import faiss  # lazy: optional dependency
        faiss.omp_set_num_threads(n)
    except ImportError:
        pass


def rss_kb(field: str = "VmRSS") -> int:
    """A memory field of /proc/self/status in kB (0 where unavailable)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(fn, device: str):
    """``(seconds, peak working MB, result)`` of one call of ``fn()`` on ``device`` ("cpu"/"cuda")."""
    if device == "cuda":
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    else:
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")  # reset the peak-RSS counter
        except OSError:
            pass
        base = rss_kb()
    t0 = CLOCK[0]()
    out = fn()
    if device == "cuda":
        torch.cuda.synchronize()
        peak = (torch.cuda.max_memory_allocated() - base) / 2**20
    else:
        peak = (rss_kb("VmHWM") - base) / 1024
    return CLOCK[0]() - t0, peak, out


def run_interleaved(methods: dict, device: str, repeats: int):
    """One warm-up call per method (autotuning, first touch; its result is kept), then ``repeats``
    rounds calling every method in turn, so machine noise hits all alike.

    Returns ``(times {name: [seconds]}, peaks {name: max MB}, results {name: warm-up result})``."""
    times = {name: [] for name in methods}
    peaks, results = {}, {}
    for name, fn in methods.items():
        _, peaks[name], results[name] = measure(fn, device)
    for _ in range(repeats):
        for name, fn in methods.items():
            t, p, _ = measure(fn, device)
            times[name].append(t)
            peaks[name] = max(peaks[name], p)
    return times, peaks, results


def add_common_args(ap) -> None:
    """``--threads``, ``--cpu-time`` and ``--no-thp`` (read before torch is imported by each script)."""
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for torch, faiss and NumPy's BLAS (default: torch's default)")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time with process CPU time instead of wall clock (steadier on a shared machine)")
    ap.add_argument("--no-thp", action="store_true", help="do not set THP_MEM_ALLOC_ENABLE=1")


def apply_common_args(args) -> str:
    """Apply ``--threads`` and ``--cpu-time``; returns the settings line the scripts print."""
    set_threads(args.threads)
    use_cpu_time(args.cpu_time)
    return (f"threads {torch.get_num_threads()}, THP_MEM_ALLOC_ENABLE={os.environ.get('THP_MEM_ALLOC_ENABLE', '0')}, "
            f"clock={'process CPU time' if args.cpu_time else 'wall'}, load average {os.getloadavg()[0]:.1f}")
