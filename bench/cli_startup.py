"""Start-up time of the ``align`` command: ``align --help`` and an argument error, wall seconds.

    python bench/cli_startup.py [--repeats 7]

Runs each command in a fresh process (the console script next to this Python, else
``python -m align.cli``), prints min / median / max and which heavy modules a parse imports.
"""
import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    script = Path(sys.executable).with_name("align")
    base = [str(script)] if script.exists() else ([shutil.which("align")] if shutil.which("align") else
                                                  [sys.executable, "-m", "align.cli"])
    print("| command | min (s) | median (s) | max (s) |\n|---|---|---|---|")
    for extra in (["--help"], ["compare", "--metric", "nope", "a", "b"]):
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            subprocess.run(base + extra, capture_output=True)
            times.append(time.perf_counter() - t0)
        print(f"| align {' '.join(extra)} | {min(times):.3f} | {statistics.median(times):.3f} | {max(times):.3f} |")
    code = "import sys, align.cli; print(sorted(m for m in ('torch', 'numpy', 'transformers') if m in sys.modules))"
    print("modules imported by `import align.cli`:", subprocess.run([sys.executable, "-c", code],
                                                                    capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
