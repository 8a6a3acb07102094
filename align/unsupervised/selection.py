"""Label-free model selection for unsupervised aligners.

Without pairs, a map ``X → Y`` can only be judged by how well the mapped cloud ``XW`` sits on ``Y``.
Every criterion here is "higher is better" and works on already-mapped, preprocessed sets
``XW`` (n_x, d) and ``Y`` (n_y, d), subsampled to ``sample`` rows each:

- ``mean_csls_mutual``: mean CSLS score of mutual nearest neighbours (Conneau et al., 2018,
  arXiv 1710.04087; the MUSE criterion). On real pairs it can prefer a wrong map (collapsed maps have
  few, very confident mutual pairs) — check it against labels before trusting it.
- ``mutual_nn``: fraction of mapped rows whose CSLS-best match in Y picks them back.
- ``mean_nn_cos``: mean cosine of each mapped row to its nearest row of Y.
- ``cycle_nn``: X → Y → X through nearest neighbours and ``Wᵀ``: fraction that returns home.
- ``knn_agreement``: for each x, the neighbours of x (in X) mapped to their nearest rows of Y
  overlap the neighbours (in Y) of x's own match — structure agreement of the two kNN graphs.
- ``structure``: Pearson correlation of intra-set cosines ``cos(x_i, x_k)`` and
  ``cos(y_j(i), y_j(k))`` over random (i, k), j(·) the CSLS match (a Gromov-Wasserstein-like
  distortion, Mémoli 2011; negative distortion).
- ``neg_transport``: minus the optimal-assignment cost (1 − cosine) between equal-size samples
  of ``XW`` and ``Y`` (Grave et al., 2019, arXiv 1805.11222).

``select(runs, criterion)`` picks a run; ``cycle_consistency(fwd, bwd, X, Y)`` scores a forward
and an independently fitted reverse aligner.

Evidence for ``DEFAULT_CRITERION = "knn_agreement"`` (bench/unsupervised_selection.py, 2026-11-25,
shared 2-core CPU): 17 runs per problem, no pairs given (StructureMatchingAligner with five inits ×
0/1/10 refinement rounds, two WassersteinProcrustes runs from the identity), true held-out top-1
from 0 to 1. Spearman correlation of each criterion with true top-1, on (rotation d=32 noise 0.05 /
rotation d=32 noise 0.3 / 50 % partial overlap d=32, best top-1 0.265), and the mean:

    mean_csls_mutual 0.868 / 0.256 / 0.279   mean 0.47
    mutual_nn        0.882 / 0.366 / 0.361   mean 0.54
    mean_nn_cos      0.824 / 0.606 / 0.521   mean 0.65
    cycle_nn         0.882 / 0.332 / 0.262   mean 0.49
    knn_agreement    0.763 / 0.610 / 0.617   mean 0.66
    structure        0.731 / 0.642 / 0.383   mean 0.59
    neg_transport    0.820 / 0.583 / 0.502   mean 0.64

Every criterion but ``structure`` (0.013 vs 0.265 on partial overlap) picked the best run on all
three problems; ``knn_agreement`` has the highest mean rank correlation and stays ≥ 0.6 where the
MUSE criterion (``mean_csls_mutual``) drops to ≈ 0.26, as the issue warned for real pairs.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import spearmanr

from .._validate import check_matrix, check_positive_int
from ..compute.csls import csls_both
from ..exceptions import ShapeError, ValidationError
from ..compute import knn

CRITERIA = ("mean_csls_mutual", "mutual_nn", "mean_nn_cos", "cycle_nn", "knn_agreement", "structure",
            "neg_transport")
DEFAULT_CRITERION = "knn_agreement"


def unit_rows(A: np.ndarray) -> np.ndarray:
    """Rows of A divided by their Euclidean norm (floored at 1e-12), in A's dtype.

    Parameters
    ----------
    A : ndarray (n, d)

    Returns
    -------
    ndarray (n, d)
    """
    return A / np.maximum(np.linalg.norm(A, axis=1, keepdims=True), 1e-12)


def _unit(A):
    return unit_rows(A).astype(np.float32)


def label_free_criteria(XW, Y, *, sample: int = 2000, k: int = 10, csls_k: int = 10, seed: int = 0,
                        which=CRITERIA, W=None) -> dict:
    """Every criterion in ``which`` for the mapped set against Y (module docstring; higher = better).

    Parameters
    ----------
    XW : array (n_x, d)
        Source rows mapped into Y's space.
    Y : array (n_y, d)
    sample : int >= 2, default 2000
        Rows of each side used.
    k : int, default 10
        Neighbours of ``knn_agreement``.
    csls_k : int, default 10
    seed : int, default 0
        Seed of the row samples.
    which : sequence of str, default CRITERIA
    W : ndarray (d_x, d) or None
        Kept for compatibility: ``cycle_nn`` goes back through nearest neighbours.

    Returns
    -------
    dict
        ``{criterion: float}``.

    Raises
    ------
    ShapeError, ValidationError
        For mismatched widths, NaN/inf, bad sizes or unknown criteria.
    """
    XW = check_matrix(XW, "XW", allow_torch=False)
    Y = check_matrix(Y, "Y", allow_torch=False)
    if XW.shape[1] != Y.shape[1]:
        raise ShapeError(f"XW has {XW.shape[1]} columns but Y has {Y.shape[1]}")
    sample = check_positive_int(sample, "sample", minimum=2)
    k = check_positive_int(k, "k")
    unknown = set(which) - set(CRITERIA)
    if unknown:
        raise ValidationError(f"unknown criteria {sorted(unknown)}; available: {', '.join(CRITERIA)}")
    rng = np.random.default_rng(seed)
    A = _unit(XW[np.sort(rng.choice(len(XW), min(sample, len(XW)), replace=False))])
    B = _unit(Y[np.sort(rng.choice(len(Y), min(sample, len(Y)), replace=False))])
    kk = min(k, len(A) - 1, len(B) - 1)
    (Df, If), (Db, Ib) = csls_both(A, B, 1, csls_k=min(csls_k, len(A), len(B)))
    fwd, bwd = If[:, 0], Ib[:, 0]
    mutual = bwd[fwd] == np.arange(len(A))
    out = {}
    if "mean_csls_mutual" in which:
        out["mean_csls_mutual"] = float(Df[mutual, 0].mean()) if mutual.any() else -1.0
    if "mutual_nn" in which:
        out["mutual_nn"] = float(mutual.mean())
    if "mean_nn_cos" in which or "cycle_nn" in which:
        Dc, Ic = knn(A, B, 1, metric="ip")
        out["mean_nn_cos"] = float(Dc[:, 0].mean())
        if "cycle_nn" in which:
            back = knn(B[Ic[:, 0]], A, 1, metric="ip")[1][:, 0]
            out["cycle_nn"] = float((back == np.arange(len(A))).mean())
    if "knn_agreement" in which and kk >= 1:
        Nx = knn(A, A, kk, metric="ip", exclude_self=True)[1]
        Ny = knn(B, B, kk, metric="ip", exclude_self=True)[1]
        translated = fwd[Nx]  # (n, k): matches of x's neighbours
        own = Ny[fwd]  # (n, k): neighbours of x's match
        hits = (translated[:, :, None] == own[:, None, :]).any(2).mean(1)
        out["knn_agreement"] = float(hits.mean())
    if "structure" in which:
        i = rng.integers(0, len(A), 20000)
        j = rng.integers(0, len(A), 20000)
        sx = (A[i] * A[j]).sum(1)
        sy = (B[fwd[i]] * B[fwd[j]]).sum(1)
        out["structure"] = float(np.corrcoef(sx, sy)[0, 1]) if sx.std() > 0 and sy.std() > 0 else 0.0
    if "neg_transport" in which:
        m = min(len(A), len(B), 1000)
        C = 1.0 - A[:m] @ B[:m].T
        r, c = linear_sum_assignment(C)
        out["neg_transport"] = float(-C[r, c].mean())
    return {key: out[key] for key in which if key in out}


def _criterion_of(run, criterion):
    if isinstance(run, dict):
        crit = run.get("criterion_", run.get("criterion", run))
    else:
        crit = getattr(run, "criterion_", None)
    if not isinstance(crit, dict) or criterion not in crit:
        raise ValidationError(f"run has no criterion {criterion!r} (fit it first; available: "
                              f"{sorted(crit) if isinstance(crit, dict) else 'none'})")
    value = float(crit[criterion])
    return value if np.isfinite(value) else -np.inf


def select(runs, criterion: str = DEFAULT_CRITERION) -> int:
    """Index of the run with the highest ``criterion`` (ties → the first).

    Parameters
    ----------
    runs : sequence
        Fitted aligners (``criterion_`` dict) or dicts holding ``criterion_``/``criterion`` or the
        criteria themselves.
    criterion : str, default DEFAULT_CRITERION

    Returns
    -------
    int
    """
    runs = list(runs)
    if not runs:
        raise ValidationError("select needs at least one run")
    if criterion not in CRITERIA:
        raise ValidationError(f"unknown criterion {criterion!r}; available: {', '.join(CRITERIA)}")
    values = [_criterion_of(r, criterion) for r in runs]
    return int(np.argmax(values))


def spearman(a, b) -> float:
    """Spearman rank correlation of two equal-length sequences (average ranks for ties).

    Parameters
    ----------
    a, b : sequence of float
        Equal length ≥ 2, finite.

    Returns
    -------
    float
        0 when either sequence is constant.
    """
    try:
        a, b = np.asarray(a, float), np.asarray(b, float)
    except (TypeError, ValueError) as e:
        raise ValidationError(f"spearman needs numeric sequences: {e}") from None
    if a.shape != b.shape or a.ndim != 1 or a.size < 2:
        raise ShapeError(f"spearman needs two 1-D sequences of equal length ≥ 2; got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValidationError("spearman got NaN or inf values")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)


def cycle_consistency(forward, backward, X, Y, *, sample: int = 2000, seed: int = 0) -> float:
    """X → Y → X with two separately fitted aligners (forward: X→Y, backward: Y→X).

    Parameters
    ----------
    forward, backward : aligner
        Fitted X → Y and Y → X aligners.
    X : array (n_x, d_x)
    Y : array (n_y, d_y)
        Only checked (kept for symmetry).
    sample : int, default 2000
    seed : int, default 0

    Returns
    -------
    float
        Fraction of sampled rows x whose round trip ``backward(forward(x))`` has x itself as its
        nearest neighbour in X (cosine).
    """
    X = check_matrix(X, "X", allow_torch=False)
    check_matrix(Y, "Y", allow_torch=False)
    sample = check_positive_int(sample, "sample")
    for name, model in (("forward", forward), ("backward", backward)):
        if not hasattr(model, "transform"):
            raise ValidationError(f"{name} must be a fitted aligner with transform(); got {type(model).__name__}")
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(X), min(sample, len(X)), replace=False))
    back = backward.transform(forward.transform(X[idx]))
    nn = knn(back, X[idx], 1, metric="cosine")[1][:, 0]
    return float((nn == np.arange(len(idx))).mean())
