"""Which loss terms of CycleAligner matter? Train it with each term removed, on a planted problem and
on a real encoder pair, over several seeds; report held-out top-1 and mean cosine per configuration
next to the warm start alone, supervised Procrustes and the adversarial (MUSE) aligner.

    ALIGN_CACHE=/work/.align-cache HF_HUB_OFFLINE=1 python bench/cycle_ablation.py --part planted
    ALIGN_CACHE=/work/.align-cache HF_HUB_OFFLINE=1 python bench/cycle_ablation.py --part real --pool 5000

Planted: ``align.synthetic.nonlinear`` (Y = XW + strength·tanh(XA)B), d = 32, 5,000 training rows
per side (the same points, shuffled: rows unpaired), 1,000 held-out pairs. Real: minilm-l6 ↔
e5-small on disjoint pools of KJV verses (no string shared; the same nested split and 1,000-text
cache chunks as the unshared-strings study of issue 8, so cached embeddings are reused), a
held-out gallery of 1,000 verses embedded by both.

"init" is a linear warm start: SelfLearningRefiner from m true pairs (the few-pair regime); the
cycle aligner itself never sees those pairs (no seed term), only the unpaired pools.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from align.cache import embed
from align.corpora import kjv, unique_text_indices
from align.encoders import load_encoder
from align.metrics import translation_scores
from align.report import environment, markdown_table
from align.supervised import ProcrustesTranslator
from align.synthetic import nonlinear
from align.unsupervised import AdversarialAligner, CycleAligner, SelfLearningRefiner

ABLATIONS = {
    "full": {},
    "- adversarial (outputs)": {"adv_weight": 0.0},
    "- adversarial (latents)": {"latent_weight": 0.0},
    "- reconstruction": {"rec_weight": 0.0},
    "- cycle": {"cycle_weight": 0.0},
    "- VSP": {"vsp_weight": 0.0},
    "+ VIB (beta=1e-3)": {"vib_weight": 1e-3},
    "- init (identity start)": {"init": None},
}


def planted_data(n_pairs: int, seed: int):
    p = nonlinear(n=6000, d=32, strength=2.0, noise=0.05, shuffle=False, seed=0)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(5000)  # Y's rows are shuffled: position carries no information
    X, Y = p.X[:5000], p.Y[:5000][perm]
    inv = np.argsort(perm)
    seed_pairs = np.stack([np.arange(n_pairs), inv[:n_pairs]], 1)
    return dict(X=X, Y=Y, seed_pairs=seed_pairs, X_eval=p.X[5000:], Y_eval=p.Y[5000:],
                X_all_pairs=p.X[:5000], Y_all_pairs=p.Y[:5000])


def _unshared_split(texts, n_pool: int, seed: int = 0):
    """[eval 1000 | train 1000 | rest] of the distinct strings; pool A from the front of rest, pool
    B from the back (the layout of issue 8's unshared-strings study, so cache entries match)."""
    perm = np.random.default_rng(seed).permutation(unique_text_indices(texts))
    rest = perm[2000:]
    if 2 * n_pool > len(rest):
        raise SystemExit(f"pool {n_pool} too large for {len(rest)} remaining strings")
    return perm[:1000], perm[1000:2000], rest[:n_pool], rest[::-1][:n_pool]


def _embed_chunked(texts, model, chunk: int = 1000):
    return np.concatenate([embed(texts[i:i + chunk], model).vectors for i in range(0, len(texts), chunk)])


def real_data(n_pairs: int, n_pool: int, models=("minilm-l6", "e5-small")):
    texts = kjv().texts
    ev, tr, pa, pb = _unshared_split(texts, n_pool)
    for u, v in ((ev, tr), (ev, pa), (ev, pb), (tr, pa), (tr, pb), (pa, pb)):
        assert not {texts[i].strip() for i in u} & {texts[i].strip() for i in v}, "parts share a string"
    t0 = time.perf_counter()
    out = {}
    for side, name, pool in (("A", models[0], pa), ("B", models[1], pb)):
        enc = load_encoder(name)
        head = _embed_chunked([texts[i] for i in np.concatenate([ev, tr])], enc)
        out[side] = (head[:1000], head[1000:], _embed_chunked([texts[i] for i in pool], enc))
    embed_s = time.perf_counter() - t0
    (Ae, At, Ap), (Be, Bt, Bp) = out["A"], out["B"]
    # the m paired training strings join both pools so the warm start can use them as seed pairs
    X, Y = np.concatenate([At[:n_pairs], Ap]), np.concatenate([Bt[:n_pairs], Bp])
    return dict(X=X, Y=Y, seed_pairs=np.stack([np.arange(n_pairs)] * 2, 1), X_eval=Ae, Y_eval=Be,
                X_all_pairs=At, Y_all_pairs=Bt, embed_s=embed_s)


def score(model, data):
    s = translation_scores(model.transform(data["X_eval"]), data["Y_eval"])
    return {"top1": s["top1"], "top10": s["top10"], "mean_cosine": s["mean_cosine"]}


def run_part(data, seeds, cycle_kw, adv_kw, label, skip_adv=False):
    rows = []
    n_eval = len(data["X_eval"])
    rows.append({"config": "chance", "top1": 1 / n_eval, "top10": 10 / n_eval})
    t0 = time.perf_counter()
    proc = ProcrustesTranslator().fit(data["X_all_pairs"], data["Y_all_pairs"])
    rows.append({"config": f"Procrustes, {len(data['X_all_pairs'])} true pairs (ceiling)", **score(proc, data),
                 "fit_s": time.perf_counter() - t0})
    m = len(data["seed_pairs"])
    inits = {}
    for seed in seeds:
        t0 = time.perf_counter()
        inits[seed] = SelfLearningRefiner().fit(data["X"], data["Y"], seed_pairs=data["seed_pairs"])
        fit_s = time.perf_counter() - t0
        # the warm start's own criterion, computed exactly as the cycle aligner computes it
        start = CycleAligner(**{**cycle_kw, "n_epochs": 0}, init=inits[seed]).fit(data["X"], data["Y"])
        rows.append({"config": f"init alone: refiner from {m} pairs", "seed": seed, **score(inits[seed], data),
                     "criterion": start.criterion_["mean_cosine"], "fit_s": fit_s})
        break  # deterministic: one run stands for every seed
    advs = {}
    for seed in seeds if not skip_adv else []:
        t0 = time.perf_counter()
        advs[seed] = AdversarialAligner(random_state=seed, **adv_kw).fit(data["X"], data["Y"])
        rows.append({"config": "AdversarialAligner (no pairs)", "seed": seed, **score(advs[seed], data),
                     "criterion": advs[seed].criterion_["mean_cosine"], "fit_s": time.perf_counter() - t0})
        print(label, rows[-1], flush=True)
    configs = {f"cycle: {name}": change for name, change in ABLATIONS.items()}
    configs[f"cycle: seed_pairs={m} (refined start + supervised term)"] = {"init": None, "_pairs": True}
    if advs:
        configs["cycle: init = AdversarialAligner (no pairs at all)"] = {"_adv": True}
    for name, change in configs.items():
        for seed in seeds:
            kw = {**cycle_kw, "init": inits[seeds[0]], "seed": seed, **change}
            pairs = data["seed_pairs"] if kw.pop("_pairs", False) else None
            if kw.pop("_adv", False):
                kw["init"] = advs[seed]  # fitted: its map is used as the warm start
            t0 = time.perf_counter()
            cyc = CycleAligner(**kw).fit(data["X"], data["Y"], seed_pairs=pairs)
            rows.append({"config": name, "seed": seed, **score(cyc, data),
                         "criterion": cyc.criterion_["mean_cosine"], "best_epoch": cyc.best_epoch_,
                         "fit_s": time.perf_counter() - t0})
            print(label, rows[-1], flush=True)
    return rows


def summarise(rows):
    """Mean (and spread over seeds) per configuration, in first-seen order."""
    out, order = {}, []
    for r in rows:
        if r["config"] not in out:
            out[r["config"]] = []
            order.append(r["config"])
        out[r["config"]].append(r)
    table = []
    for c in order:
        rs = out[c]
        row = {"config": c, "runs": len(rs)}
        for k in ("top1", "top10", "mean_cosine", "criterion", "fit_s"):
            vals = [r[k] for r in rs if k in r]
            if vals:
                row[k] = f"{np.mean(vals):.3f}" + (f" ± {np.std(vals):.3f}" if len(vals) > 1 else "")
        table.append(row)
    return table


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=["planted", "real", "all"], default="all")
    ap.add_argument("--skip-adversarial", action="store_true")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--pool", type=int, default=5000)
    ap.add_argument("--pairs-planted", type=int, default=50)
    ap.add_argument("--pairs-real", type=int, default=100)
    ap.add_argument("--select", choices=["best", "last"], default="best",
                    help="keep the epoch with the best label-free criterion (default) or the last one")
    ap.add_argument("--epochs-real", type=int, default=3)
    ap.add_argument("--steps-real", type=int, default=10)
    ap.add_argument("--json", default=None, help="write every run's numbers here")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    cols = ["config", "runs", "top1", "top10", "mean_cosine", "criterion", "fit_s"]
    results = {"environment": environment(), "args": vars(args)}
    if args.part in ("planted", "all"):
        data = planted_data(args.pairs_planted, 0)
        cyc = dict(n_epochs=20, restore_best=args.select == "best")
        rows = run_part(data, seeds, cyc, dict(n_epochs=5, steps_per_epoch=400), "planted", args.skip_adversarial)
        results["planted"] = rows
        print("\n## planted: nonlinear(d=32, strength=2, noise=0.05), 5000 unpaired rows per side, 1000 held out\n")
        print(markdown_table(summarise(rows), cols))
    if args.part in ("real", "all"):
        data = real_data(args.pairs_real, args.pool)
        results["embed_s"] = data["embed_s"]
        # a shared 2-core CPU gives each process a fraction of a core: small budgets, stated in the output
        cyc = dict(n_epochs=args.epochs_real, steps_per_epoch=args.steps_real, patience=2, hidden=128,
                   dis_hidden=128, criterion_rows=1000, restore_best=args.select == "best")
        adv = dict(n_epochs=2, steps_per_epoch=150, dis_steps=3, dis_hidden=256)
        print("real settings: cycle", cyc, "adversarial", adv, flush=True)
        rows = run_part(data, seeds, cyc, adv, "real", args.skip_adversarial)
        results["real"] = rows
        print(f"\n## real: minilm-l6 -> e5-small, disjoint KJV pools of {args.pool} (+{args.pairs_real} paired), "
              f"1000 held out; embeddings {data['embed_s']:.0f} s (cache)\n")
        print(markdown_table(summarise(rows), cols))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=float)


if __name__ == "__main__":
    main()
