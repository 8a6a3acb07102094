"""Exact self-kNN by inner product for large n on a CPU: bf16 screening, then certified re-ranking.

Mutual kNN needs every row's k nearest rows of the same matrix. Done exactly in float32 that is
n^2 d multiply-adds (n = 100,000, d = 768: 15 TFLOP, about 80 s at this machine's BLAS roof).
This module halves and then cheapens that work without giving up exactness:

1. **Symmetric tiles.** The score matrix is symmetric, so each tile ``(A, B)`` with ``A <= B`` is
   computed once and feeds both the rows of A and (transposed) the rows of B.
2. **bf16 screening.** Tiles are bf16 GEMMs (AVX512-BF16 / AMX run them 2-3x faster than fp32),
   keeping a running top-``k'`` (``k' = k + margin``) of the approximate scores per row. A
   threshold per row (seeded from a random subset of rows, then raised as the top-k' fills)
   filters each tile with one comparison, so only a handful of entries per row are ever merged.
3. **Certified exact re-ranking.** For every pair, ``|s_ij - o_ij| <= B_i`` where ``o_ij`` is the
   bf16 output; ``B_i`` bounds the rounding of the inputs (through the actual residual norms
   ``||x - bf16(x)||``), the fp32 accumulation and the bf16 rounding of the output. The ``k'``
   candidates of row i are re-scored exactly (float64); the row is *certified* when its k-th exact
   score exceeds ``t_i + B_i`` (``t_i``: the smallest approximate score kept), because every
   excluded j has ``o_ij <= t_i``. Rows that fail (near-ties) are recomputed exactly against all
   rows in float64.

The result equals the exact top-k of the float64 inner products (ties: lower index first), with the
row itself excluded by position. Memory: O(n k') plus one tile.
"""
from __future__ import annotations

import numpy as np
import torch

from ..compute import topk_lowest_index

U_BF16 = 2.0 ** -8  # unit roundoff of bf16 (8-bit significand, round to nearest)
U_FP32 = 2.0 ** -24


def self_knn(X: np.ndarray, k: int, *, screen: bool | None = None, margin: int | None = None, block: int = 4096,
             subset: int = 8192, memory_mb: int = 256, stats: dict | None = None) -> np.ndarray:
    """Top-``k`` rows by inner product for every row of X, itself excluded: (n, k) int64.

    Args:
        X: (n, d) float32 or float64 NumPy array (validated by the caller); 1 <= k <= n - 1.
        screen: use bf16 screening (default when n >= 4096); otherwise exact float64 tiles.
        margin: extra candidates per row (default max(k, 8)); block: tile edge; subset: rows used
            to seed the per-row thresholds.
        stats: optional dict that receives ``{"candidates", "certified", "fallback_rows"}``.
    """
    n = X.shape[0]
    margin = max(k, 8) if margin is None else margin
    kk = min(n - 1, k + margin)
    if screen is None:
        screen = n >= 4096
    if not screen or kk == n - 1:
        return _exact_rows(X, np.arange(n), k, memory_mb)
    with torch.inference_mode():
        V, I, bound = _screen(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)), kk, block, subset)
    out, ok = _rerank(X, I.numpy(), V[:, -1].numpy().astype(np.float64) + bound, k)
    bad = np.flatnonzero(~ok)
    if bad.size:
        out[bad] = _exact_rows(X, bad, k, memory_mb)
    if stats is not None:
        stats.update(candidates=kk, certified=int(ok.sum()), fallback_rows=int(bad.size))
    return out


def _exact_rows(X, rows, k, memory_mb):
    """Exact top-k (float64 scores, self excluded, ties to the lower index) of ``X[rows]`` against X."""
    Xt = torch.from_numpy(np.asarray(X, dtype=np.float64))
    n = Xt.shape[0]
    out = np.empty((rows.shape[0], k), dtype=np.int64)
    step = max(1, memory_mb * (1 << 20) // (8 * 3 * n))
    with torch.inference_mode():
        for s in range(0, rows.shape[0], step):
            r = torch.from_numpy(rows[s:s + step])
            S = Xt[r] @ Xt.T
            S[torch.arange(r.shape[0]), r] = float("-inf")
            out[s:s + step] = topk_lowest_index(S, k)[1].numpy()
    return out


def _screen(Xt: torch.Tensor, kk: int, block: int, subset: int):
    n, d = Xt.shape
    Xb = Xt.to(torch.bfloat16)
    Xh = Xb.float()
    nh = Xh.norm(dim=1).double()
    nr = (Xt - Xh).norm(dim=1).double()
    M, R = float(nh.max()), float(nr.max())
    gamma = d * 2 * U_FP32  # fp32 accumulation (generous: pairwise or FMA sums do better)
    bound = 1.01 * (nh * R + nr * M + nr * R + (U_BF16 * (1 + gamma) + gamma) * nh * M)
    tau = _seed_thresholds(Xb, kk, subset)
    if not bool(torch.isfinite(tau).all()):  # cannot happen for finite inputs with n > k'
        raise RuntimeError("self_knn: a row threshold is not finite")
    V = torch.full((n, kk), float("-inf"))
    I = torch.full((n, kk), -1, dtype=torch.int64)
    starts = list(range(0, n, block))
    buf = torch.empty((block, block), dtype=torch.bfloat16)  # reused: fresh pages cost ~1 us per 4 KiB
    for a0 in starts:
        a1 = min(n, a0 + block)
        for b0 in starts:
            if b0 < a0:
                continue
            b1 = min(n, b0 + block)
            full = a1 - a0 == block and b1 - b0 == block
            S = torch.mm(Xb[a0:a1], Xb[b0:b1].T, out=buf) if full else Xb[a0:a1] @ Xb[b0:b1].T
            if a0 == b0:
                S.fill_diagonal_(float("-inf"))
            _update_rows(S, V, I, tau, a0, b0)
            if b0 != a0:
                _update_cols(S, V, I, tau, a0, b0)
    return V, I, bound.numpy()


def _seed_thresholds(Xb: torch.Tensor, kk: int, subset: int) -> torch.Tensor:
    """Per-row lower bound of the final k'-th approximate score: the k'-th best over a random subset
    of rows (the row itself excluded). Every score at or above it is a candidate."""
    n = Xb.shape[0]
    m = min(n, max(subset, 4 * kk))
    sub = torch.from_numpy(np.sort(np.random.default_rng(0).choice(n, m, replace=False)))
    if m - 1 < kk:
        return torch.full((n,), float("-inf"), dtype=torch.bfloat16)
    tau = torch.empty(n, dtype=torch.bfloat16)
    is_sub = torch.full((n,), -1, dtype=torch.int64)
    is_sub[sub] = torch.arange(m)
    for s in range(0, n, 8192):
        e = min(n, s + 8192)
        S = Xb[s:e] @ Xb[sub].T
        rows = torch.arange(s, e)
        own = is_sub[rows]
        hit = own >= 0
        S[torch.nonzero(hit).flatten(), own[hit]] = float("-inf")
        tau[s:e] = torch.topk(S, kk, dim=1, sorted=True).values[:, -1]
    return tau


GROUP = 64  # tile entries are screened in groups of 64 by their maximum first


def _grouped(S: torch.Tensor) -> torch.Tensor:
    """S padded with -inf to multiples of GROUP in both dimensions (edge tiles only)."""
    a, b = S.shape
    pa, pb = -a % GROUP, -b % GROUP
    if not pa and not pb:
        return S
    P = torch.full((a + pa, b + pb), float("-inf"), dtype=S.dtype)
    P[:a, :b] = S
    return P


def _update_rows(S, V, I, tau, r0: int, c0: int):
    """Fold tile S (rows r0.., columns c0..) into the running top-k' of its rows.

    A full comparison of every entry with its row threshold costs as much as a small GEMM, so the
    tile is screened in two steps: the maximum of each group of 64 entries (one reduction pass),
    then only the groups whose maximum reaches the threshold are compared entry by entry.
    """
    a, b = S.shape
    P = _grouped(S)
    t = tau[r0:r0 + a]
    hit = P[:a].view(a, -1, GROUP).amax(2) >= t[:, None]
    heavy = _heavy(hit.sum(1), V.shape[1])
    if heavy.numel():  # early tiles: many groups pass; take these rows' top-k' from the tile directly
        _fold_top(V, I, tau, S[heavy], heavy + r0, c0)
        hit[heavy] = False
    r, q = torch.nonzero(hit, as_tuple=True)
    if not r.numel():
        return
    cols = q[:, None] * GROUP + torch.arange(GROUP)
    seg = P[r[:, None], cols]
    p, o = torch.nonzero(seg >= t[r][:, None], as_tuple=True)
    _collect(V, I, tau, r[p], cols[p, o], seg[p, o], r0, c0)


def _update_cols(S, V, I, tau, r0: int, c0: int):
    """Like :func:`_update_rows` for the transposed tile: fold S into the top-k' of its columns."""
    a, b = S.shape
    P = _grouped(S)
    t = tau[c0:c0 + b]
    hit = (P[:, :b].view(-1, GROUP, b).amax(1) >= t[None, :]).T.contiguous()
    heavy = _heavy(hit.sum(1), V.shape[1])
    if heavy.numel():
        _fold_top(V, I, tau, S[:, heavy].T, heavy + c0, r0)
        hit[heavy] = False
    c, q = torch.nonzero(hit, as_tuple=True)
    if not c.numel():
        return
    rows = q[:, None] * GROUP + torch.arange(GROUP)
    seg = P[rows, c[:, None]]
    p, o = torch.nonzero(seg >= t[c][:, None], as_tuple=True)
    _collect(V, I, tau, c[p], rows[p, o], seg[p, o], c0, r0)


def _heavy(groups_hit: torch.Tensor, kk: int) -> torch.Tensor:
    """Rows with more candidate groups than a narrow merge handles well."""
    return torch.nonzero(groups_hit > max(4, kk // 2)).flatten()


def _fold_top(V, I, tau, block, rows, idx0):
    v, j = torch.topk(block.float(), min(V.shape[1], block.shape[1]), dim=1, sorted=False)
    _fold(V, I, tau, rows, v, j + idx0)


def _collect(V, I, tau, rows, idx, vals, row0, idx0):
    """Candidates ``(rows, idx, vals)``, grouped by row in ascending order, into ``(V, I)`` through a
    narrow padded block (work proportional to the number of candidates)."""
    uniq, inverse, cnt = torch.unique_consecutive(rows, return_inverse=True, return_counts=True)
    pos = torch.arange(rows.shape[0]) - (torch.cumsum(cnt, 0) - cnt)[inverse]
    Pv = torch.full((uniq.shape[0], int(cnt.max())), float("-inf"))
    Pi = torch.full(Pv.shape, -1, dtype=torch.int64)
    Pv[inverse, pos] = vals.float()
    Pi[inverse, pos] = idx + idx0
    _fold(V, I, tau, uniq + row0, Pv, Pi)


def _fold(V, I, tau, rows, v, j):
    """Merge candidate values ``v`` / indices ``j`` (one row of each per entry of ``rows``)."""
    allv = torch.cat([V[rows], v], 1)
    alli = torch.cat([I[rows], j], 1)
    top_v, top_j = torch.topk(allv, V.shape[1], dim=1, sorted=True)
    V[rows] = top_v
    I[rows] = alli.gather(1, top_j)
    full = top_v[:, -1] > float("-inf")
    tau[rows[full]] = torch.maximum(tau[rows[full]], top_v[full, -1].to(torch.bfloat16))


def _rerank(X: np.ndarray, C: np.ndarray, limit: np.ndarray, k: int):
    """Exact top-k among each row's candidates ``C`` (n, k'); ``ok[i]`` when the k-th exact score
    beats ``limit[i]``, the largest score any non-candidate can have.

    Candidate scores are float32 dot products first; a row whose decisions (the k-th vs the
    (k+1)-th candidate, the k-th vs ``limit``, the order inside the top-k) are closer than the
    float32 error bound ``d * 2^-23 * |x_i| |x_j|`` is re-scored in float64.
    """
    n, d = X.shape
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    norms = Xt.norm(dim=1).double().numpy()
    err = 1.01 * d * 2 * U_FP32 * norms * norms.max() + 1e-300
    out = np.empty((n, k), dtype=np.int64)
    ok = np.empty(n, dtype=bool)
    with torch.inference_mode():
        for s in range(0, n, 2048):
            c = C[s:s + 2048]
            valid = (c >= 0).all(1)
            c = np.maximum(c, 0)
            cand = Xt[torch.from_numpy(c).flatten()].view(c.shape[0], c.shape[1], d)
            sc = torch.bmm(cand, Xt[s:s + c.shape[0], :, None])[:, :, 0].double().numpy()
            e = err[s:s + c.shape[0], None]
            order = np.lexsort((c, -sc), axis=1)
            srt = np.take_along_axis(sc, order, 1)
            close = (np.diff(srt[:, :k + 1], axis=1) > -2 * e).any(1) | (srt[:, k - 1] - e[:, 0] <= limit[s:s + c.shape[0]])
            redo = np.flatnonzero(close & valid)
            if redo.size:  # float64 scores for the rows where float32 rounding could matter
                q = np.asarray(X[s + redo], np.float64)
                sc[redo] = np.einsum("rkd,rd->rk", np.asarray(X[c[redo]], np.float64), q)
                order[redo] = np.lexsort((c[redo], -sc[redo]), axis=1)
            order = order[:, :k]
            out[s:s + c.shape[0]] = np.take_along_axis(c, order, 1)
            kth = np.take_along_axis(sc, order[:, -1:], 1)[:, 0]
            margin = np.where(np.isin(np.arange(c.shape[0]), redo), 0.0, e[:, 0])
            ok[s:s + c.shape[0]] = valid & (kth - margin > limit[s:s + c.shape[0]])
    return out, ok
