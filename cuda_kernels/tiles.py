"""The tile GEMM shared by the kernels: fp32 dot products of a block of rows of A with a block of
rows of B, accumulated over the feature dimension in ``BLOCK_D`` slices (inlined by Triton)."""
from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def tile_dot(A, a_off, a_ok, B, cols, b_ok, stride_b, d,
             BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
             DOT_FP32: tl.constexpr, PRECISION: tl.constexpr):
    """(BLOCK_M, BLOCK_N) fp32 ``A[rows] @ B[cols].T``, masked rows and columns reading zeros.

    ``a_off`` holds the 64-bit row offsets of A (rows · stride, n·d can exceed 2**31), ``a_ok`` /
    ``b_ok`` the row and column masks; ``DOT_FP32`` casts the operands to fp32 first (the CPU
    interpreter cannot multiply bf16: it sees raw uint16); ``PRECISION`` is ``tl.dot``'s
    ``input_precision``.
    """
    rd = tl.arange(0, BLOCK_D)
    acc = tl.zeros((BLOCK_M, BLOCK_N), tl.float32)
    for d0 in range(0, d, BLOCK_D):
        dd = d0 + rd
        a = tl.load(A + a_off + dd[None, :], mask=a_ok[:, None] & (dd[None, :] < d), other=0.0)
        b = tl.load(B + cols.to(tl.int64)[:, None] * stride_b + dd[None, :],
                    mask=b_ok[:, None] & (dd[None, :] < d), other=0.0)
        if DOT_FP32:
            a = a.to(tl.float32)
            b = b.to(tl.float32)
        acc = tl.dot(a, tl.trans(b), acc, input_precision=PRECISION)
    return acc
