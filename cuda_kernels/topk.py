"""Fused similarity + top-k in Triton: the m × n score matrix is never written.

Each program owns ``BLOCK_M`` query rows and one slice of the database. It tiles the GEMM over the
slice and keeps a running top-``K_PAD`` of packed (score, index) keys (see :mod:`.keys`) in
registers. After a tile, only entries strictly above the current k-th best score can enter (new
indices are always higher than those already kept, so a tie never displaces a kept entry — the
lowest-index rule is exact). For k ≤ 32 the running list is unsorted and candidates are inserted
one row-max at a time over its minimum slot (at most k per tile, usually none or one once the list
has settled), which keeps int64 keys out of the tile and registers free for the GEMM; for larger k
the list is kept sorted and a tile with more than ``INSERT_LIMIT`` candidates in some row is merged
by a bitonic top-k of its keys. Slices of the database run as
separate programs (more parallelism for few queries) and are merged by one ``torch.topk`` over keys.

score[i, j] = alpha · (q_i · b_j) · row_scale[i] · col_scale[j] + bias[j]

Shapes/dtypes: Q (m, d), B (n, d), both fp32, fp16 or bf16 (same dtype), row-major with unit
column stride; accumulation in fp32 (fp32 inputs use exact IEEE fp32 products unless
``precision="tf32"``); row_scale (m,), col_scale (n,), bias (n,) fp32. Limits: k ≤ 256 (the caller
falls back to torch beyond), n < 2**31.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from align.compute.dispatch import interpreting

from .keys import SENTINEL, key_score, pack_key, unpack_keys_torch
from .tiles import tile_dot

MAX_K = 256


@triton.jit
def _kth_score(run, kcol, k_sel):
    kth = tl.max(tl.where(kcol[None, :] == k_sel - 1, run, -9223372036854775808), axis=1)
    return key_score(kth)


@triton.jit
def _merge_tile(s, cand, cols, run, kcol, k_sel, K_PAD: tl.constexpr):
    keys = tl.where(cand, pack_key(s, cols[None, :]), -9223372036854775808)
    top = tl.topk(keys, K_PAD, dim=1)
    # max(descending, ascending) is bitonic and holds the top K_PAD of the union
    run = tl.bitonic_merge(tl.maximum(run, tl.flip(top, 1)), dim=1, descending=True)
    return run, _kth_score(run, kcol, k_sel)


@triton.jit
def _insert_sorted(s, cand, n0, lane, run, thr, kcol, k_sel, most, K_PAD: tl.constexpr):
    # at most k_sel entries of one tile can enter: after its k_sel best, the rest are below
    sm = tl.where(cand, s, float("-inf"))
    for _ in range(tl.minimum(most, k_sel)):
        best, arg = tl.max(sm, axis=1, return_indices=True, return_indices_tie_break_left=True)
        key = tl.where(best > thr, pack_key(best, n0 + arg), -9223372036854775808)
        # replacing the last (smallest) slot keeps the list bitonic
        run = tl.where(kcol[None, :] == K_PAD - 1, tl.maximum(run, key[:, None]), run)
        run = tl.bitonic_merge(run, dim=1, descending=True)
        thr = _kth_score(run, kcol, k_sel)
        sm = tl.where(lane[None, :] == arg[:, None], float("-inf"), sm)
    return run, thr


@triton.jit
def _insert_unsorted(s, cand, n0, lane, run, thr, kcol, k_sel, most):
    # run holds k_sel live slots (the rest int64 max, never replaced); its minimum is the k-th best
    sm = tl.where(cand, s, float("-inf"))
    for _ in range(tl.minimum(most, k_sel)):
        best, arg = tl.max(sm, axis=1, return_indices=True, return_indices_tie_break_left=True)
        key = tl.where(best > thr, pack_key(best, n0 + arg), -9223372036854775808)
        low, pos = tl.min(run, axis=1, return_indices=True)
        hit = (kcol[None, :] == pos[:, None]) & (key > low)[:, None]
        run = tl.where(hit, key[:, None], run)
        thr = key_score(tl.min(run, axis=1))
        sm = tl.where(lane[None, :] == arg[:, None], float("-inf"), sm)
    return run, thr


@triton.jit
def _topk_kernel(Q, B, RS, CS, BIAS, OUT, m, n, d, n_per_split, n_split, k_sel, alpha,
                 stride_q, stride_b,
                 HAS_RS: tl.constexpr, HAS_CS: tl.constexpr, HAS_BIAS: tl.constexpr,
                 EXCLUDE_SELF: tl.constexpr, DOT_FP32: tl.constexpr, PRECISION: tl.constexpr,
                 K_PAD: tl.constexpr, INSERT_LIMIT: tl.constexpr, TOPK_MERGE: tl.constexpr,
                 BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr):
    pid_m = tl.program_id(0)
    pid_s = tl.program_id(1)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < m
    q_off = rows.to(tl.int64)[:, None] * stride_q  # 64-bit: n·d can exceed 2**31
    lane = tl.arange(0, BLOCK_N)
    kcol = tl.arange(0, K_PAD)
    run = tl.full((BLOCK_M, K_PAD), -9223372036854775808, tl.int64)
    if not TOPK_MERGE:
        run = tl.where(kcol[None, :] < k_sel, run, 9223372036854775807)
    thr = tl.full((BLOCK_M,), float("-inf"), tl.float32)
    if HAS_RS:
        rs = tl.load(RS + rows, mask=row_ok, other=0.0)
    lo = pid_s * n_per_split
    hi = tl.minimum(n, lo + n_per_split)
    for n0 in range(lo, hi, BLOCK_N):
        cols = n0 + lane
        col_ok = cols < hi
        acc = tile_dot(Q, q_off, row_ok, B, cols, col_ok, stride_b, d, BLOCK_M, BLOCK_N, BLOCK_D, DOT_FP32, PRECISION)
        s = acc * alpha
        if HAS_RS:
            s = s * rs[:, None]
        if HAS_CS:
            s = s * tl.load(CS + cols, mask=col_ok, other=0.0)[None, :]
        if HAS_BIAS:
            s = s + tl.load(BIAS + cols, mask=col_ok, other=0.0)[None, :]
        ok = col_ok[None, :] & row_ok[:, None]
        if EXCLUDE_SELF:
            ok = ok & (cols[None, :] != rows[:, None])
        s = tl.where(ok, s, float("-inf"))
        cand = s > thr[:, None]
        most = tl.max(tl.sum(cand.to(tl.int32), axis=1), axis=0)
        if TOPK_MERGE:  # static: for small k the int64 tile code is not even compiled
            if most > INSERT_LIMIT:
                run, thr = _merge_tile(s, cand, cols, run, kcol, k_sel, K_PAD)
            elif most > 0:
                run, thr = _insert_sorted(s, cand, n0, lane, run, thr, kcol, k_sel, most, K_PAD)
        else:
            if most > 0:
                run, thr = _insert_unsorted(s, cand, n0, lane, run, thr, kcol, k_sel, most)
    if not TOPK_MERGE:
        run = tl.where(kcol[None, :] < k_sel, run, -9223372036854775808)
    out = OUT + (rows.to(tl.int64)[:, None] * n_split + pid_s) * K_PAD + kcol[None, :]
    tl.store(out, run, mask=row_ok[:, None])


def _configs():
    cfg = []
    # ptxas (sm_90a): 64x128 and 128x64 tiles with 8 warps compile without spills; 4-warp
    # 64x128 spills ~450 B. The autotuner measures them all on the device at hand.
    for bm, bn, bd, w, s in [(64, 128, 64, 8, 3), (128, 64, 64, 8, 3), (64, 64, 64, 4, 4),
                             (128, 128, 64, 8, 3), (64, 128, 64, 8, 4), (64, 128, 32, 8, 3),
                             (32, 128, 64, 4, 4), (16, 256, 64, 4, 3), (32, 256, 64, 8, 3)]:
        cfg.append(triton.Config({"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_D": bd}, num_warps=w, num_stages=s))
    return cfg


def _prune(configs, named_args, **kwargs):
    k_pad = kwargs.get("K_PAD", named_args.get("K_PAD", 16))
    keep = [c for c in configs if c.kwargs["BLOCK_N"] >= k_pad
            and c.kwargs["BLOCK_M"] * k_pad <= 128 * 32]  # register budget of the running list
    return keep or [configs[-1]]


_tuned_kernel = triton.autotune(configs=_configs(), key=["d", "K_PAD", "EXCLUDE_SELF", "HAS_BIAS"],
                                prune_configs_by={"early_config_prune": _prune})(_topk_kernel)


def _pow2(x: int) -> int:
    return 1 << max(0, (x - 1).bit_length())


def topk_keys(Q, B, k, *, alpha=1.0, row_scale=None, col_scale=None, bias=None,
              exclude_self=False, precision="ieee", n_split=None, block=None):
    """Launch the fused kernel over the score ``alpha · (q · b) · row_scale · col_scale + bias``.

    Parameters
    ----------
    Q, B : torch.Tensor
        (m, d) and (n, d), the same dtype (fp32, fp16 or bf16), unit column stride.
    k : int
        1 ≤ k ≤ :data:`MAX_K`.
    alpha : float
    row_scale, col_scale, bias : torch.Tensor, optional
        (m,), (n,), (n,) fp32.
    exclude_self : bool
        Q is B: row i never returns column i.
    precision : {"ieee", "tf32"}
        fp32 products (16-bit inputs use Triton's default).
    n_split : int, optional
        Number of database slices (chosen from the device otherwise).
    block : tuple of int, optional
        (BLOCK_M, BLOCK_N, BLOCK_D) tile shape (autotuned otherwise; the interpreter uses small tiles).

    Returns
    -------
    torch.Tensor
        (m, k) int64 packed keys (:mod:`.keys`), best first.

    Raises
    ------
    ValueError
        k outside [1, MAX_K].
    """
    m, d = Q.shape
    n = B.shape[0]
    if not 1 <= k <= MAX_K:
        raise ValueError(f"fused top-k supports 1 <= k <= {MAX_K}; got {k}")
    k_pad = max(16, _pow2(k))
    interp = interpreting() or Q.device.type != "cuda"
    if n_split is None:
        sms = 4 if interp else torch.cuda.get_device_properties(Q.device).multi_processor_count
        n_split = max(1, min(triton.cdiv(2 * sms, triton.cdiv(m, 64)), triton.cdiv(n, 2048)))
    per = triton.cdiv(triton.cdiv(n, n_split), 256) * 256
    n_split = triton.cdiv(n, per)
    out = torch.empty((m, n_split, k_pad), dtype=torch.int64, device=Q.device)
    dummy = torch.empty(1, dtype=torch.float32, device=Q.device)
    args = (Q, B, row_scale if row_scale is not None else dummy,
            col_scale if col_scale is not None else dummy, bias if bias is not None else dummy,
            out, m, n, d, per, n_split, k, float(alpha), Q.stride(0), B.stride(0))
    flags = dict(HAS_RS=row_scale is not None, HAS_CS=col_scale is not None, HAS_BIAS=bias is not None,
                 EXCLUDE_SELF=bool(exclude_self), DOT_FP32=interp,
                 PRECISION=precision if Q.dtype == torch.float32 else "tf32",  # 16-bit: Triton's default
                 K_PAD=k_pad, INSERT_LIMIT=4, TOPK_MERGE=k_pad > 32)
    if interp or block is not None:
        bm, bn, bd = block or (16, max(32, k_pad), 16)
        _topk_kernel[(triton.cdiv(m, bm), n_split)](*args, **flags, BLOCK_M=bm, BLOCK_N=bn, BLOCK_D=bd)
    else:
        grid = lambda meta: (triton.cdiv(m, meta["BLOCK_M"]), n_split)  # noqa: E731
        _tuned_kernel[grid](*args, **flags)
    keys = out.view(m, n_split * k_pad)
    return torch.topk(keys, k, dim=1, sorted=True).values


def fused_topk(Q, B, k, **kw):
    """:func:`topk_keys` decoded.

    Parameters
    ----------
    Q, B, k, **kw
        As in :func:`topk_keys`.

    Returns
    -------
    scores, indices : torch.Tensor
        (m, k) fp32 and int64; empty slots hold -inf and -1.
    """
    return unpack_keys_torch(topk_keys(Q, B, k, **kw))


__all__ = ["MAX_K", "SENTINEL", "fused_topk", "topk_keys"]
