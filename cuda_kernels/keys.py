"""Order-preserving int64 keys for (score, index) pairs.

``key = (ordered(score) << 32) + (2**32 - 1 - index)`` where ``ordered`` maps the fp32 bit pattern
to a signed int32 with the same order as the floats. Comparing keys as signed int64 then orders by
score descending and, for equal scores, by index ascending — the exact tie rule of
:func:`align.compute.knn` — so a plain max / top-k over keys needs no tie-fix pass.
``SENTINEL`` (int64 min) is below every real key and marks empty slots (index -1, score -inf).
-0.0 is mapped to +0.0 first so that equal floats always give equal score bits.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

SENTINEL = -(2 ** 63)
_LOW = 0xFFFFFFFF


@triton.jit
def pack_key(s, col):
    """(fp32 score, column) → int64 key, in a Triton kernel (see the module docstring)."""
    s = tl.where(s == 0.0, 0.0, s)
    bits = s.to(tl.int32, bitcast=True)
    ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF)
    return (ordered.to(tl.int64) << 32) + (4294967295 - col.to(tl.int64))


@triton.jit
def key_score(key):
    """The fp32 score of an int64 key, in a Triton kernel (``SENTINEL`` → -inf)."""
    hi = (key >> 32).to(tl.int32)
    bits = hi ^ ((hi >> 31) & 0x7FFFFFFF)
    v = bits.to(tl.float32, bitcast=True)
    return tl.where(key == -9223372036854775808, float("-inf"), v)


def pack_keys_torch(scores: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Torch twin of ``pack_key``.

    Parameters
    ----------
    scores : torch.Tensor
        fp32 scores.
    index : torch.Tensor
        int64 indices (< 2**31), same shape.

    Returns
    -------
    torch.Tensor
        int64 keys, ordered by (score descending, index ascending).
    """
    s = torch.where(scores == 0, torch.zeros_like(scores), scores.float()).contiguous()
    bits = s.view(torch.int32)
    ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF)
    return (ordered.to(torch.int64) << 32) + (_LOW - index.to(torch.int64))


def unpack_keys_torch(keys: torch.Tensor):
    """Decode keys of :func:`pack_keys_torch`.

    Parameters
    ----------
    keys : torch.Tensor
        int64 keys.

    Returns
    -------
    scores, index : torch.Tensor
        fp32 scores and int64 indices; ``SENTINEL`` decodes to (-inf, -1).
    """
    hi = (keys >> 32).to(torch.int32)
    bits = hi ^ ((hi >> 31) & 0x7FFFFFFF)
    scores = bits.view(torch.float32).clone()
    index = _LOW - (keys & _LOW)
    empty = keys == SENTINEL
    scores[empty] = float("-inf")
    index[empty] = -1
    return scores, index
