"""Supervised translators on real encoder pairs: learning curves and fit times on 10,000 pairs.

    ALIGN_CACHE=/work/.align-cache python bench/learning_curves.py [--pairs minilm-e5,minilm-glove,...]
                                                                   [--skip-curves] [--skip-fit-times]

Learning curves run the paired_vs_unpaired recipe (held-out top-1, mean rank, mean cosine vs number
of training pairs, 3 seeds, bootstrap CIs) and write its run folders under runs/. Fit times compare
our translators with the nearest peers measured in the same process on the same 10,000 pairs:
scikit-learn RidgeCV (efficient LOO over the same penalty grid), scipy's orthogonal_procrustes and
scikit-learn MLPRegressor (same width, same number of epochs), each pair run back to back.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.linalg import orthogonal_procrustes
from sklearn.linear_model import RidgeCV
from sklearn.neural_network import MLPRegressor
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from align.corpora import kjv  # noqa: E402
from align.recipes import paired_vs_unpaired as pvu  # noqa: E402
from align.recipes.common import apply_overrides  # noqa: E402
from align.recipes.paired_data import load_paired  # noqa: E402
from align.report import text_table  # noqa: E402
from align.supervised import LinearTranslator, MLPTranslator, ProcrustesTranslator  # noqa: E402
from align.supervised.linear import ALPHA_GRID  # noqa: E402
from align.supervised.mlp import torch_threads  # noqa: E402

PAIRS = {  # different families; glove and smollm2 also differ in dimension
    "minilm-e5": ["source=minilm-l6", "target=e5-small", "n_train=10000", "n_points=7"],
    "minilm-glove": ["source=minilm-l6", "target=glove-en-50d", "n_train=10000", "n_points=7"],
    "minilm-smollm2": ["source=minilm-l6", "target=smollm2-135m@15", "n_train=2000", "n_points=6", "zscore=true"],
}
COMMON = ["n_eval=1000", "seeds=[0,1,2]", "methods=linear,procrustes,mlp,mlp_ridge,mlp_procrustes", "out=runs"]


def curves(names):
    """Run the paired_vs_unpaired recipe on each named encoder pair; returns ``{name: {run, crossovers, timings}}``."""
    out = {}
    for name in names:
        config = apply_overrides(pvu.Config(), COMMON + PAIRS[name])
        print(f"\n=== {name}: {config.source} → {config.target}")
        run_dir = pvu.run(config)
        metrics = json.loads((run_dir / "metrics.json").read_text())
        out[name] = {"run": str(run_dir), "crossovers": metrics["crossovers"], "timings": metrics["timings"]}
    return out


def fit_times(threads_list=(1,), repeat: int = 2, epochs: int = 10):
    """Fit each translator on 10,000 minilm-l6 → e5-small pairs, interleaved with its peer.

    Each (ours, peer) pair runs back to back ``repeat`` times and the minimum is kept, so load
    changes on a shared machine hit both sides alike. The MLP comparison runs a fixed number of
    epochs on both sides (ours: the recipe's MLP, width 256, loss mse+0.1*infonce, a linear skip;
    peer: MLPRegressor, width 256, MSE); the full early-stopped fit is timed on its own.
    """


    data = load_paired(kjv(), "minilm-l6", "e5-small", n_eval=1000, n_train=10000)
    X, Y = data.X_train, data.Y_train
    Xc = X - X.mean(0)
    scale = float((np.linalg.svd(Xc, compute_uv=False) ** 2).mean())
    mlp = dict(hidden=256, loss="mse+0.1*infonce", random_state=0)
    cases = [
        ("LinearTranslator (LOO over 17 alphas)", lambda t: LinearTranslator().fit(X, Y),
         "sklearn RidgeCV (same grid)", lambda t: RidgeCV(alphas=np.array(ALPHA_GRID) * scale).fit(X, Y)),
        ("ProcrustesTranslator", lambda t: ProcrustesTranslator().fit(X, Y),
         "scipy orthogonal_procrustes", lambda t: orthogonal_procrustes(Xc, Y - Y.mean(0))),
        (f"MLPTranslator, {epochs} epochs", lambda t: MLPTranslator(epochs=epochs, patience=10 ** 6, threads=t, **mlp).fit(X, Y),
         f"sklearn MLPRegressor, {epochs} epochs", lambda t: MLPRegressor(hidden_layer_sizes=(256,), max_iter=epochs,
                                                                          batch_size=256, random_state=0).fit(X, Y)),
    ]
    rows = []
    for threads in threads_list:
        with threadpool_limits(limits=threads), torch_threads(threads), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MLPRegressor's "did not converge"
            MLPTranslator(epochs=1, threads=threads, **mlp).fit(X[:500], Y[:500])  # first-call overheads
            for name, ours, peer_name, peer in cases:
                t_ours, t_peer = float("inf"), float("inf")
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    ours(threads)
                    t_ours = min(t_ours, time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    peer(threads)
                    t_peer = min(t_peer, time.perf_counter() - t0)
                rows.append({"threads": threads, "translator": name, "fit_s": t_ours, "peer": peer_name,
                             "peer_s": t_peer, "ratio": t_peer / t_ours})
            t0 = time.perf_counter()
            full = MLPTranslator(epochs=40, patience=6, threads=threads, **mlp).fit(X, Y)
            rows.append({"threads": threads, "translator": f"MLPTranslator, early stop ({len(full.history_)} epochs)",
                         "fit_s": time.perf_counter() - t0, "peer": "", "peer_s": "", "ratio": ""})
    print("\n=== fit times on 10,000 pairs, 384 → 384 (ratio = peer time / ours; > 1: we are faster)")
    print(text_table(rows, ["threads", "translator", "fit_s", "peer", "peer_s", "ratio"]))
    return rows


def main():
    """Command line: learning curves and fit times against scikit-learn/SciPy peers."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", default=",".join(PAIRS), help=f"comma-separated subset of {list(PAIRS)}")
    p.add_argument("--skip-curves", action="store_true")
    p.add_argument("--skip-fit-times", action="store_true")
    p.add_argument("--threads", default="1", help="comma-separated CPU thread counts for the fit times (e.g. 1,2)")
    args = p.parse_args()
    names = [n for n in args.pairs.split(",") if n]
    unknown = [n for n in names if n not in PAIRS]
    if unknown:
        p.error(f"unknown pairs {unknown}; choose from {list(PAIRS)}")
    result = {}
    if not args.skip_fit_times:
        result["fit_times"] = fit_times(tuple(int(t) for t in args.threads.split(",") if t))
    if not args.skip_curves:
        result["curves"] = curves(names)
    Path("runs").mkdir(exist_ok=True)
    Path("runs/learning_curves_bench.json").write_text(json.dumps(result, indent=1, default=str))
    print("\nwrote runs/learning_curves_bench.json")


if __name__ == "__main__":
    main()
