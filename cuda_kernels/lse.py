"""One online log-sum-exp pass over cost tiles — the half-iteration of log-domain Sinkhorn.

For every row i of X it computes, over the columns j of Y (never storing the n_x × n_y matrix):

    t[i, j] = pot[j] − C(x_i, y_j) · inv_reg
    mx[i]   = max_j t[i, j]             s[i] = Σ_j exp(t[i, j] − mx[i])
    w[i]    = Σ_j exp(t[i, j] − mx[i]) · C(x_i, y_j)         (WITH_COST)
    acc[i]  = Σ_j exp(t[i, j] − mx[i]) · V[j, :]               (WITH_V: plan @ V, flash-attention style)

so that ``LSE_j t[i, j] = mx + log s``. Costs: ``COST=0`` squared Euclidean
``C = max(|x|² + |y|² − 2 x·y, 0)`` with XA = |x|², YA = |y|²; ``COST=1`` cosine ``C = 1 − x·y·XA·YA``
with XA = 1/|x|, YA = 1/|y|. The exponentials use exp2 with the log2(e) factor folded in.

Shapes/dtypes: X (n_x, d), Y (n_y, d) same dtype (fp32, fp16 or bf16; the dot products accumulate in
fp32), XA (n_x,), YA (n_y,), pot (n_y,) fp32, V (n_y, p) fp32 with p ≤ 256. Slices of Y run as
separate programs; the caller combines the per-slice (mx, s, w, acc) — see :func:`lse_pass`.
Memory O(n_x + n_y) besides the inputs.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

from align.compute.dispatch import interpreting

from .tiles import tile_dot

_LOG2E = 1.4426950408889634
_LN2 = 0.6931471805599453


@triton.jit
def _lse_kernel(X, Y, XA, YA, POT, V, OUT_M, OUT_S, OUT_W, OUT_V,
                n_x, n_y, d, p, n_per_split, n_split, inv_reg, stride_x, stride_y, stride_v,
                COST: tl.constexpr, WITH_COST: tl.constexpr, WITH_V: tl.constexpr,
                DOT_FP32: tl.constexpr, PRECISION: tl.constexpr,
                BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_P: tl.constexpr):
    pid_m = tl.program_id(0)
    pid_s = tl.program_id(1)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < n_x
    x_off = rows.to(tl.int64)[:, None] * stride_x  # 64-bit: n·d can exceed 2**31
    lane = tl.arange(0, BLOCK_N)
    xa = tl.load(XA + rows, mask=row_ok, other=0.0)
    mx = tl.full((BLOCK_M,), float("-inf"), tl.float32)  # running max, log2 units
    s = tl.zeros((BLOCK_M,), tl.float32)
    w = tl.zeros((BLOCK_M,), tl.float32)
    rp = tl.arange(0, BLOCK_P)
    accv = tl.zeros((BLOCK_M, BLOCK_P), tl.float32)
    scale = inv_reg * 1.4426950408889634
    lo = pid_s * n_per_split
    hi = tl.minimum(n_y, lo + n_per_split)
    for n0 in range(lo, hi, BLOCK_N):
        cols = n0 + lane
        col_ok = cols < hi
        dot = tile_dot(X, x_off, row_ok, Y, cols, col_ok, stride_y, d, BLOCK_M, BLOCK_N, BLOCK_D, DOT_FP32, PRECISION)
        ya = tl.load(YA + cols, mask=col_ok, other=0.0)
        if COST == 0:
            c = tl.maximum(xa[:, None] + ya[None, :] - 2.0 * dot, 0.0)
        else:
            c = 1.0 - dot * xa[:, None] * ya[None, :]
        pot = tl.load(POT + cols, mask=col_ok, other=0.0) * 1.4426950408889634
        t = tl.where(col_ok[None, :], pot[None, :] - c * scale, float("-inf"))
        new_mx = tl.maximum(mx, tl.max(t, axis=1))
        alpha = tl.exp2(mx - new_mx)
        e = tl.exp2(t - new_mx[:, None])
        s = s * alpha + tl.sum(e, axis=1)
        if WITH_COST:
            w = w * alpha + tl.sum(e * c, axis=1)
        if WITH_V:
            v = tl.load(V + cols.to(tl.int64)[:, None] * stride_v + rp[None, :],
                        mask=col_ok[:, None] & (rp[None, :] < p), other=0.0)
            accv = accv * alpha[:, None] + tl.dot(e, v, input_precision=PRECISION)
        mx = new_mx
    base = rows.to(tl.int64) * n_split + pid_s
    tl.store(OUT_M + base, mx * 0.6931471805599453, mask=row_ok)
    tl.store(OUT_S + base, s, mask=row_ok)
    if WITH_COST:
        tl.store(OUT_W + base, w, mask=row_ok)
    if WITH_V:
        tl.store(OUT_V + base[:, None] * p + rp[None, :], accv, mask=row_ok[:, None] & (rp[None, :] < p))


def _configs():
    return [triton.Config({"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_D": bd}, num_warps=w, num_stages=st)
            for bm, bn, bd, w, st in [(64, 128, 64, 4, 3), (128, 128, 64, 8, 3), (128, 64, 64, 4, 3),
                                      (64, 64, 64, 4, 4), (128, 128, 32, 8, 4), (64, 256, 64, 8, 3)]]


_tuned_kernel = triton.autotune(configs=_configs(), key=["d", "p", "COST", "WITH_COST", "WITH_V"])(_lse_kernel)


def lse_pass(X, Y, XA, YA, pot, inv_reg, *, cost=0, V=None, with_cost=False, precision="ieee",
             n_split=None, block=None):
    """Run the kernel and combine its database slices.

    Parameters
    ----------
    X, Y : torch.Tensor
        (n_x, d) and (n_y, d), the same dtype (fp32, fp16 or bf16).
    XA, YA : torch.Tensor
        (n_x,), (n_y,) fp32 per-row helpers of the cost (see the module docstring).
    pot : torch.Tensor
        (n_y,) fp32 potential.
    inv_reg : float
        1 / reg.
    cost : int
        0 squared Euclidean, 1 cosine.
    V : torch.Tensor, optional
        (n_y, p) fp32, p ≤ 256.
    with_cost : bool
    precision : {"ieee", "tf32"}
    n_split : int, optional
        Number of Y slices (chosen from the device otherwise).
    block : tuple of int, optional
        (BLOCK_M, BLOCK_N, BLOCK_D) tile shape (autotuned otherwise).

    Returns
    -------
    dict
        ``lse`` (n_x,) = LSE_j t[i, j]; with ``with_cost`` also ``cost_rows`` (n_x,) =
        Σ_j softmax_j(t)[i, j] · C[i, j]; with ``V`` also ``v_rows`` (n_x, p) = Σ_j softmax_j(t) V_j
        (multiply by exp(u_i + lse_i) to turn a softmax-weighted row into a plan row).

    Raises
    ------
    ValueError
        V with more than 256 columns.
    """
    n_x, d = X.shape
    n_y = Y.shape[0]
    p = 0 if V is None else V.shape[1]
    if p > 256:
        raise ValueError(f"lse_pass supports V with at most 256 columns; got {p}")
    interp = interpreting() or X.device.type != "cuda"
    if n_split is None:
        sms = 4 if interp else torch.cuda.get_device_properties(X.device).multi_processor_count
        n_split = max(1, min(triton.cdiv(2 * sms, triton.cdiv(n_x, 64)), triton.cdiv(n_y, 2048)))
    per = triton.cdiv(triton.cdiv(n_y, n_split), 256) * 256
    n_split = triton.cdiv(n_y, per)
    f32 = dict(dtype=torch.float32, device=X.device)
    out_m = torch.empty((n_x, n_split), **f32)
    out_s = torch.empty((n_x, n_split), **f32)
    out_w = torch.empty((n_x, n_split) if with_cost else (1,), **f32)
    out_v = torch.empty((n_x, n_split, p) if p else (1,), **f32)
    Vt = V if V is not None else out_w
    block_p = max(16, triton.next_power_of_2(p)) if p else 16
    args = (X, Y, XA, YA, pot, Vt, out_m, out_s, out_w, out_v, n_x, n_y, d, p, per, n_split,
            float(inv_reg), X.stride(0), Y.stride(0), Vt.stride(0) if p else 0)
    flags = dict(COST=int(cost), WITH_COST=bool(with_cost), WITH_V=p > 0, DOT_FP32=interp,
                 PRECISION=precision if X.dtype == torch.float32 else "tf32", BLOCK_P=block_p)
    if interp or block is not None:
        bm, bn, bd = block or (16, 32, 16)
        _lse_kernel[(triton.cdiv(n_x, bm), n_split)](*args, **flags, BLOCK_M=bm, BLOCK_N=bn, BLOCK_D=bd)
    else:
        grid = lambda meta: (triton.cdiv(n_x, meta["BLOCK_M"]), n_split)  # noqa: E731
        _tuned_kernel[grid](*args, **flags)
    top = out_m.max(1, keepdim=True).values
    wgt = torch.exp(out_m - top)
    total = (out_s * wgt).sum(1)
    res = {"lse": top[:, 0] + torch.log(total)}
    if with_cost:
        res["cost_rows"] = (out_w * wgt).sum(1) / total
    if p:
        res["v_rows"] = (out_v * wgt[:, :, None]).sum(1) / total[:, None]
    return res


__all__ = ["lse_pass"]
