"""Alignability forecast: can two unpaired embedding sets be aligned without pairs? Say so before a
user spends compute.

:func:`forecast_alignability` computes rotation-invariant statistics of each set and of the two
together, then a verdict:

- distribution level (necessary, not sufficient): the normalised eigen-spectra (total-variation
  distance ``spectrum_tv``), intrinsic dimension (participation ratio), and the distributions of
  intra-set cosines and of 10th-nearest-neighbour cosines (1-D Wasserstein distances ``cosine_w1``,
  ``knn_cos_w1``). Two independent Gaussian clouds with the same spectrum agree on all of these, so
  they cannot prove that a correspondence exists.
- point level (the deciding one): a quick structure-only alignment on the samples (VecMap sorted
  similarity signatures, Artetxe et al., 2018, arXiv 1805.06297, then 5 rounds of CSLS
  self-learning) and how well it makes the two kNN graphs agree (a Gromov-Hausdorff-like isometry
  proxy): ``knn_agreement`` (mean share of a row's 10 neighbours whose matches neighbour its own
  match; chance ≈ 10 / sample) and ``agreeing_rows`` (share of rows where ≥ 30 % do — robust to
  rows without a counterpart, which dilute the mean). Point-level structure needs the two
  samples to share points: with more rows than ``sample`` the random samples overlap less and the
  forecast turns pessimistic — raise ``sample`` to the set size when you can.
- with a handful of true ``pairs``: linear CKA (Kornblith et al., 2019, arXiv 1905.00414) and the
  mutual-kNN overlap of the paired rows (Huh et al., 2024, arXiv 2405.07987), each against a null of
  shuffled pairings (``*_z``: standard scores). Strong paired structure means few-pair self-learning
  can work even when the unpaired forecast is pessimistic.

**Measured on real sets that share no strings** (bench/RESULTS.md, issue 8): the verdict was
"unlikely" (``agreeing_rows`` 0.02–0.05) both for minilm-l6 ↔ e5-small on KJV verses, which no
aligner could align, and for minilm-l6 ↔ minilm-l3-onnx on 20,000 WordNet glosses, which the
relative-representation aligner did align (top-1 0.79). Disjoint strings have no common points, so
the point-level test loses its power there: read "unlikely" on such data as "not shown", and use
the 50-pair statistics (``pairs=``) or a small pilot run instead.

Thresholds (calibrated on planted problems with 1,500 rows, see tests/test_unsupervised_forecast.py):
``likely`` when ``agreeing_rows`` ≥ 0.5, ``unlikely`` when it is < 0.08, ``uncertain`` in between;
pairs with ``cka_z`` ≥ 5 and ``mutual_knn_z`` ≥ 5 lift an ``unlikely`` to ``uncertain``. Measured
``agreeing_rows``: rotation d=64 noise 0.05 1.00, 64 → 48 0.99, HMM symbols 1.00, 50 % partial
overlap 0.13 (uncertain; the aligners do recover it), independent Gaussian clouds with the same or a
different spectrum 0.015 / 0.027, nonlinear map with noise 2.0 0.005.
"""
from __future__ import annotations

import time

import numpy as np

from .._validate import check_matrix, check_positive_int
from ..exceptions import ValidationError
from ..compute import knn
from ._base import apply_preprocess, fit_preprocess
from .dictionary import check_pairs
from .selection import unit_rows as _unit
from .structure import StructureMatchingAligner

LIKELY, UNLIKELY = 0.5, 0.08


def _spectrum(A):
    lam = np.clip(np.linalg.eigvalsh(np.cov(A, rowvar=False).reshape(A.shape[1], A.shape[1]))[::-1], 0, None)
    return lam / max(lam.sum(), 1e-300)


def _w1(a, b):
    """1-D Wasserstein distance between two samples through 99 quantiles."""
    grid = np.linspace(0.005, 0.995, 99)
    return float(np.abs(np.quantile(a, grid) - np.quantile(b, grid)).mean())


def _pair_cosines(U, rng, m=20000):
    i, j = rng.integers(0, len(U), m), rng.integers(0, len(U), m)
    keep = i != j
    return (U[i[keep]] * U[j[keep]]).sum(1)


def _linear_cka(A, B):
    A, B = A - A.mean(0), B - B.mean(0)
    num = np.linalg.norm(A.T @ B) ** 2
    return float(num / max(np.linalg.norm(A.T @ A) * np.linalg.norm(B.T @ B), 1e-300))


def _mutual_knn(A, B, k):
    Na = knn(A, A, k, metric="cosine", exclude_self=True)[1]
    Nb = knn(B, B, k, metric="cosine", exclude_self=True)[1]
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(Na.tolist(), Nb.tolist())]))


def _pairs_stats(X, Y, pairs, rng, n_null=20):
    A, B = X[pairs[:, 0]].astype(np.float64), Y[pairs[:, 1]].astype(np.float64)
    k = max(1, min(10, len(pairs) // 4))
    out = {"n_pairs": int(len(pairs))}
    for name, fn in (("cka", _linear_cka), ("mutual_knn", lambda a, b: _mutual_knn(a, b, k))):
        value = fn(A, B)
        null = np.array([fn(A, B[rng.permutation(len(B))]) for _ in range(n_null)])
        out[name], out[f"{name}_null"] = value, float(null.mean())
        out[f"{name}_z"] = float((value - null.mean()) / max(null.std(), 1e-3))
    return out


def forecast_alignability(X, Y, *, pairs=None, sample: int = 2000, seed: int = 0) -> dict:
    """Forecast whether unsupervised alignment of X and Y can succeed (module docstring).

    Parameters
    ----------
    X : array (n_x, d_x)
    Y : array (n_y, d_y)
        Rows not paired, at least 20 each.
    pairs : array (m, 2) int or None
        Known (row of X, row of Y) matches, m ≥ 4.
    sample : int >= 20, default 2000
        Rows of each set used (all when fewer).
    seed : int >= 0, default 0

    Returns
    -------
    dict
        ``verdict`` ("likely", "uncertain" or "unlikely"), ``reason`` (plain language) and
        ``stats`` (floats: ``spectrum_tv``, ``intrinsic_dim_x``/``_y``, ``cosine_w1``,
        ``knn_cos_w1``, ``knn_agreement``, ``agreeing_rows``, ``knn_agreement_chance``,
        ``seconds``; with pairs also ``cka``, ``cka_null``, ``cka_z``, ``mutual_knn``,
        ``mutual_knn_null``, ``mutual_knn_z``, ``n_pairs``).
    """
    t0 = time.perf_counter()
    X = check_matrix(X, "X", min_rows=20, allow_torch=False)
    Y = check_matrix(Y, "Y", min_rows=20, allow_torch=False)
    sample = check_positive_int(sample, "sample", minimum=20)
    seed = check_positive_int(seed, "seed", minimum=0)
    if pairs is not None:
        pairs = check_pairs(pairs, len(X), len(Y), name="pairs")
        if len(pairs) < 4:
            raise ValidationError(f"pairs needs at least 4 rows to compare with a shuffled null; got {len(pairs)}")
    rng = np.random.default_rng(seed)
    Xs = X[np.sort(rng.choice(len(X), min(sample, len(X)), replace=False))].astype(np.float64)
    Ys = Y[np.sort(rng.choice(len(Y), min(sample, len(Y)), replace=False))].astype(np.float64)
    sx, sy = _spectrum(Xs), _spectrum(Ys)
    r = max(len(sx), len(sy))
    sx, sy = np.pad(sx, (0, r - len(sx))), np.pad(sy, (0, r - len(sy)))
    Ux, Uy = _unit(Xs - Xs.mean(0)), _unit(Ys - Ys.mean(0))
    k = min(10, len(Ux) - 1, len(Uy) - 1)
    kx = knn(Ux.astype(np.float32), Ux.astype(np.float32), k, metric="ip", exclude_self=True)[0][:, -1]
    ky = knn(Uy.astype(np.float32), Uy.astype(np.float32), k, metric="ip", exclude_self=True)[0][:, -1]
    stats = {
        "spectrum_tv": float(0.5 * np.abs(sx - sy).sum()),
        "intrinsic_dim_x": float(1.0 / (sx ** 2).sum()), "intrinsic_dim_y": float(1.0 / (sy ** 2).sum()),
        "cosine_w1": _w1(_pair_cosines(Ux, rng), _pair_cosines(Uy, rng)),
        "knn_cos_w1": _w1(kx, ky),
        **dict(zip(("knn_agreement", "agreeing_rows"), _quick_agreement(Xs, Ys, seed))),
        "knn_agreement_chance": float(k / min(len(Xs), len(Ys))),
    }
    if pairs is not None:
        stats.update(_pairs_stats(X, Y, pairs, rng))
    verdict, reason = _verdict(stats)
    stats["seconds"] = round(time.perf_counter() - t0, 3)
    return {"verdict": verdict, "reason": reason, "stats": stats}


def _quick_agreement(Xs, Ys, seed, k=10):
    """After a quick structure-only alignment of the two samples: the mean fraction of each row's k
    neighbours whose matches are neighbours of its own match, and the share of rows where ≥ 30 % do."""
    model = StructureMatchingAligner(init="sorted_sim", n_sample=len(Xs) + len(Ys), n_refine=5, random_state=seed)
    model.fit(Xs.astype(np.float32), Ys.astype(np.float32))
    my, pre_y, _ = fit_preprocess(Ys, model.normalize)
    A = _unit(model.preprocess_x(Xs) @ model.W_).astype(np.float32)
    B = _unit(apply_preprocess(Ys, model.normalize, my, pre_y)).astype(np.float32)
    k = min(k, len(A) - 1, len(B) - 1)
    match = knn(A, B, 1, metric="ip")[1][:, 0]
    Na = knn(A, A, k, metric="ip", exclude_self=True)[1]
    Nb = knn(B, B, k, metric="ip", exclude_self=True)[1]
    hits = (match[Na][:, :, None] == Nb[match][:, None, :]).any(2).mean(1)
    return float(hits.mean()), float((hits >= 0.3).mean())


def _verdict(s):
    agree, chance, rows = s["knn_agreement"], s["knn_agreement_chance"], s["agreeing_rows"]
    dist = (f"spectra differ by {s['spectrum_tv']:.2f} (total variation), intra-set cosine distributions "
            f"by {s['cosine_w1']:.3f} (W1)")
    if rows >= LIKELY:
        verdict = "likely"
        reason = (f"a structure-only map already makes {agree:.0%} of nearest-neighbour lists agree "
                  f"(chance {chance:.1%}), and agree well for {rows:.0%} of rows; {dist}")
    elif rows < UNLIKELY:
        verdict = "unlikely"
        reason = (f"no structure-only map found: neighbour lists agree for {agree:.1%} (chance {chance:.1%}), "
                  f"so the two sets show no shared point-level geometry; {dist}. If the sets share no "
                  f"strings, this test is weak: it has said 'unlikely' for a real pair that aligned "
                  f"(bench/RESULTS.md)")
    else:
        verdict = "uncertain"
        reason = (f"a structure-only map makes {agree:.0%} of neighbour lists agree (chance {chance:.1%}): "
                  f"and agree well for {rows:.0%} of rows: partial shared geometry (e.g. only some rows have "
                  f"a counterpart); {dist}")
    if "cka_z" in s:
        strong = s["cka_z"] >= 5 and s["mutual_knn_z"] >= 5
        reason += (f"; the {s['n_pairs']} pairs share {'strong' if strong else 'weak'} structure (CKA "
                   f"{s['cka']:.2f} vs {s['cka_null']:.2f} shuffled, mutual kNN {s['mutual_knn']:.2f} vs "
                   f"{s['mutual_knn_null']:.2f})")
        if strong and verdict == "unlikely":
            verdict = "uncertain"
            reason += ": few-pair self-learning from these pairs may still work"
    return verdict, reason
