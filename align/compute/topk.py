"""Blocked exact top-k in torch (the ``"torch"`` backend of :func:`align.compute.knn`), with the tie
rule of the whole wing: equal scores go to the lower database index.

Why it is shaped this way (measured by bench/knn.py, bench/RESULTS.md): on CPU the GEMM runs at
the BLAS roof, so everything else must cost a few percent of it.

- One score buffer is allocated once and reused for every (query block, database block) tile:
  fresh buffers cost a page fault per 4 KiB.
- Selection never runs ``topk`` over the whole tile. The tile is viewed as ``g`` slabs of ``w``
  columns; an element-wise max over the slabs (one vectorised pass) gives ``w`` group maxima; the
  top-k groups (by group max, lower group first on ties) contain the exact top-k elements, so only
  their ``k · g`` members are ranked. A row where group maxima tie across the k-th place is ranked
  on its full row instead, so the result is exact.
- A running top-k is merged after each database block; ties go to the lower database index exactly.
- On AMD CPUs, when NumPy's BLAS is OpenBLAS, the GEMM goes through ``np.matmul`` into the same
  buffer: torch's MKL takes a slower code path on AMD (measured here: 15–20% slower sgemm at
  these shapes, the whole gap to faiss, which also uses OpenBLAS). ``ALIGN_CPU_GEMM=torch|numpy``
  overrides the choice; it is fixed per machine, so results stay deterministic.
"""
from __future__ import annotations

import functools
import math
import os

import numpy as np
import torch


def topk_lowest_index(S: torch.Tensor, k: int):
    """Row-wise top-k of ``S`` (descending), ties resolved towards the lower column index.

    Parameters
    ----------
    S : torch.Tensor
        (r, c) scores.
    k : int
        1 ≤ k ≤ c.

    Returns
    -------
    values, indices : torch.Tensor
        (r, k) each, ordered by (value descending, index ascending).
    """
    v, i = torch.topk(S, k, dim=1, largest=True, sorted=True)
    kth = v[:, -1:]
    n_ge = (S >= kth).sum(1)
    tied = torch.nonzero(n_ge > k).flatten()
    if tied.numel():  # a tie straddles the cut: pick the lowest indices among the tied values
        for r in tied.tolist():
            row = S[r]
            above = torch.nonzero(row > kth[r]).flatten()
            equal = torch.nonzero(row == kth[r]).flatten()[: k - above.numel()]
            idx = torch.cat([above, equal])
            i[r] = idx
            v[r] = row[idx]
    return _order(v, i)


def _order(v, i):
    # order by (value desc, index asc): sort by index, then a stable sort by value
    oi = torch.argsort(i, dim=1)
    v, i = v.gather(1, oi), i.gather(1, oi)
    ov = torch.sort(v, dim=1, descending=True, stable=True).indices
    return v.gather(1, ov), i.gather(1, ov)


def merge_topk(v1, i1, v2, i2, k):
    """Merge two ordered top-k lists; every index in list 1 must be below every index in list 2.

    Parameters
    ----------
    v1, i1, v2, i2 : torch.Tensor
        (r, k1) and (r, k2) values and indices, each list ordered as :func:`topk_lowest_index`.
    k : int
        Length of the merged list.

    Returns
    -------
    values, indices : torch.Tensor
        (r, k); a stable sort keeps list 1 first on equal values, i.e. the lower index.
    """
    v = torch.cat([v1, v2], dim=1)
    i = torch.cat([i1, i2], dim=1)
    order = torch.sort(v, dim=1, descending=True, stable=True).indices[:, :k]
    return v.gather(1, order), i.gather(1, order)


def group_size(c: int, k: int) -> int:
    """Slab count for a tile of ``c`` columns: balance ranking w = c/g maxima against k·g members.

    Parameters
    ----------
    c, k : int
        Tile width and the number of entries kept per row.

    Returns
    -------
    int
        1 (rank the whole row) for narrow tiles or large k, else a power of two in [4, 256].
    """
    if c < 1024 or 4 * k * k > c:
        return 1
    g = 1 << int(round(math.log2(math.sqrt(c / k))))
    return max(4, min(g, 256, c // (2 * (k + 1))))


def tile_topk(S: torch.Tensor, k: int):
    """Exact top-k of a score tile with lowest-index ties, ranking only group candidates.

    Parameters
    ----------
    S : torch.Tensor
        (r, c) score tile.
    k : int
        1 ≤ k ≤ c.

    Returns
    -------
    values, indices : torch.Tensor
        (r, k), equal to :func:`topk_lowest_index` (see the module docstring for why it is exact).
    """
    r, c = S.shape
    g = group_size(c, k)
    if g == 1:
        return topk_lowest_index(S, k)
    w = c // g
    body = S[:, : w * g].view(r, g, w)
    gmax = body.amax(1)
    gv, gi = torch.topk(gmax, k + 1, dim=1, sorted=True)
    straddle = gv[:, k - 1] == gv[:, k]
    gi = gi[:, :k].sort(1).values
    cand = body.gather(2, gi[:, None, :].expand(r, g, k)).reshape(r, g * k)
    cidx = (torch.arange(g, device=S.device)[None, :, None] * w + gi[:, None, :]).reshape(r, g * k)
    if w * g < c:  # leftover columns are all candidates; they have the highest indices
        cand = torch.cat([cand, S[:, w * g:]], 1)
        extra = torch.arange(w * g, c, device=S.device).expand(r, c - w * g)
        cidx = torch.cat([cidx, extra], 1)
    v, j = topk_lowest_index(cand, k)
    i = cidx.gather(1, j)
    rows = torch.nonzero(straddle).flatten()
    if rows.numel():
        v[rows], i[rows] = topk_lowest_index(S[rows], k)
    return v, i


def row_sq(X: torch.Tensor, dtype) -> torch.Tensor:
    """Σ_j X[i, j]² per row in ``dtype``, in row chunks (no full-size temporary; exact for integers,
    unlike squaring a norm).

    Parameters
    ----------
    X : torch.Tensor
        (n, d) matrix, any dtype.
    dtype : torch.dtype
        Accumulation and output dtype.

    Returns
    -------
    torch.Tensor
        (n,) squared row norms.
    """
    out = torch.empty(X.shape[0], dtype=dtype, device=X.device)
    step = max(1, (8 << 20) // max(1, X.shape[1]))
    for i in range(0, X.shape[0], step):
        blk = X[i:i + step].to(dtype)
        out[i:i + step] = (blk * blk).sum(1)
    return out


@functools.lru_cache(maxsize=1)
def cpu_gemm_engine() -> str:
    """Which library multiplies score tiles on CPU (fixed per machine; see the module docstring).

    Returns
    -------
    str
        ``ALIGN_CPU_GEMM`` when set to ``"numpy"``/``"torch"``; otherwise ``"numpy"`` on an AMD CPU
        whose NumPy uses OpenBLAS while torch uses MKL, else ``"torch"``.
    """
    env = os.environ.get("ALIGN_CPU_GEMM", "")
    if env in ("numpy", "torch"):
        return env
    try:
        with open("/proc/cpuinfo") as fh:
            vendor = next((ln.split(":")[1].strip() for ln in fh if ln.startswith("vendor_id")), "")
        blas = str(np.__config__.CONFIG["Build Dependencies"]["blas"]["name"]).lower()
    except (OSError, AttributeError, KeyError, TypeError):
        return "torch"
    mkl = "mkl" in torch.__config__.show().lower()
    return "numpy" if vendor == "AuthenticAMD" and "openblas" in blas and mkl else "torch"


def _gemm(Qb, Bb, S, bias, scale, engine):
    """S = scale · Qb @ Bbᵀ (+ bias[None, :]) into the preallocated S."""
    if engine == "numpy":
        q = Qb.detach() * scale if scale != 1.0 else Qb.detach()
        np.matmul(q.numpy(), Bb.detach().numpy().T, out=S.numpy())
        if bias is not None:
            S.add_(bias)
    elif bias is not None:
        torch.addmm(bias, Qb, Bb.T, alpha=scale, out=S)
    else:
        torch.mm(Qb, Bb.T, out=S)
        if scale != 1.0:
            S.mul_(scale)


def _compute_dtype(X: torch.Tensor):
    if X.dtype == torch.float64:
        return torch.float64
    if X.device.type == "cpu":
        return torch.float32
    return X.dtype


def knn_blocks(Q: torch.Tensor, B: torch.Tensor, k: int, *, metric: str = "ip", exclude_self: bool = False,
               memory_mb: int = 256, column_bias: torch.Tensor | None = None, scale: float = 1.0):
    """Blocked exact top-k on tensors (no input checks): score = scale·sim(q, b) + column_bias[b].

    ``sim`` is the inner product (``"ip"``), cosine, or for ``"l2"`` the score 2 q·b − |b|² whose
    maximum is the nearest point; D is then turned back into squared distances. Working memory:
    one score tile of at most ``memory_mb / 2`` (plus a database block buffer for cosine or dtype
    conversion); inputs are never copied whole (nor modified).

    Parameters
    ----------
    Q, B : torch.Tensor
        (m, d) queries and (n, d) database on one device.
    k : int
        Neighbours per query; slots beyond n hold I = -1, D = -inf (+inf for l2).
    metric : {"ip", "cosine", "l2"}
    exclude_self : bool
        Q is B: row i never returns column i.
    memory_mb : int
        Working-memory budget of the score tiles.
    column_bias : torch.Tensor, optional
        (n,) added to every row's scores after scaling.
    scale : float
        Multiplies the similarity.

    Returns
    -------
    D, I : torch.Tensor
        (m, k) float32 scores (with a ``column_bias``: the biased scores) and int64 indices, as
        :func:`align.compute.knn`.
    """
    compute = _compute_dtype(Q)
    m, n, d = Q.shape[0], B.shape[0], Q.shape[1]
    kk = min(k, n)
    item = torch.finfo(compute).bits // 8
    bias = None if column_bias is None else column_bias.to(device=B.device, dtype=compute)
    inv_b = None
    if metric == "cosine":
        inv_b = 1.0 / torch.linalg.vector_norm(B, dim=1, dtype=compute).clamp_min(1e-12)
    if metric == "l2":  # maximise 2 q·b − |b|² ⇔ minimise |q − b|²
        scale = 2.0
        sq = row_sq(B, compute)
        bias = -sq if bias is None else bias - sq
    convert = metric == "cosine" or B.dtype != compute
    cpu = Q.device.type == "cpu"
    qb, nb = block_shape(m, n, d, kk, item, max(1, memory_mb) << 20, convert, cpu)
    engine = cpu_gemm_engine() if cpu and compute in (torch.float32, torch.float64) else "torch"
    D = torch.empty((m, k), dtype=torch.float32, device=Q.device)
    I = torch.empty((m, k), dtype=torch.int64, device=Q.device)
    buf = torch.empty(qb * nb, dtype=compute, device=Q.device)
    bbuf = torch.empty((nb, d), dtype=compute, device=Q.device) if convert and nb < n else None
    Bfull = _prepare_block(B, 0, n, compute, inv_b, None) if convert and nb >= n else None
    for q0 in range(0, m, qb):
        q1 = min(m, q0 + qb)
        Qb = Q[q0:q1].to(compute)
        if metric == "cosine":
            Qb = torch.nn.functional.normalize(Qb, dim=1)
        best_v = best_i = None
        for b0 in range(0, n, nb):
            b1 = min(n, b0 + nb)
            if Bfull is not None:
                Bb = Bfull if nb >= n else Bfull[b0:b1]
            elif convert:
                Bb = _prepare_block(B, b0, b1, compute, inv_b, bbuf)
            else:
                Bb = B[b0:b1]
            S = buf[: (q1 - q0) * (b1 - b0)].view(q1 - q0, b1 - b0)
            _gemm(Qb, Bb, S, None if bias is None else bias[b0:b1], scale, engine)
            if exclude_self:
                _mask_diagonal(S, q0, b0)
            v, i = tile_topk(S, min(kk, b1 - b0))
            i += b0
            if best_v is None:
                best_v, best_i = v, i
            else:
                best_v, best_i = merge_topk(best_v, best_i, v, i, kk)
        D[q0:q1, :kk] = best_v.float()
        I[q0:q1, :kk] = best_i
    return _finish(D, I, Q, k, kk, n, metric, exclude_self, compute)


def block_shape(m, n, d, k, item, budget, convert, cpu=True):
    """(query rows, database rows) of a score tile: half of ``budget`` bytes, database blocks as long
    as possible. Few large tiles beat cache-sized ones on a 2-core machine: every torch op is a
    thread-pool round trip, and tiles of 1024 × 8192 were 1.15–1.45× faiss there against 0.8–0.9×
    for whole-database tiles (shared machine, wall clock).

    Parameters
    ----------
    m, n, d, k : int
        Queries, database rows, dimension, neighbours kept.
    item : int
        Bytes per score.
    budget : int
        Working-memory budget in bytes.
    convert : bool
        Database blocks are converted (cosine or dtype) and need a buffer of their own.
    cpu : bool
        Unused; kept for callers that pass it.

    Returns
    -------
    (int, int)
        Query rows and database rows of one tile.
    """
    tile = max(1, budget // (2 * item))
    nb = min(n, max(k, 8192, tile // 256))
    if convert:  # a converted database block must fit a quarter of the budget as well
        nb = min(nb, max(k, 1024, budget // (4 * item * d)))
    return min(m, max(1, tile // nb)), nb


def _prepare_block(B, b0, b1, compute, inv_b, out):
    blk = B[b0:b1]
    if out is None:
        # never in place: .to() returns ``blk`` itself when the dtype already matches, and ``B`` may
        # share memory with the caller's array (torch.from_numpy)
        res = blk.to(compute)
        return res * inv_b[b0:b1, None] if inv_b is not None else res
    res = out[: b1 - b0]
    res.copy_(blk)
    if inv_b is not None:
        res.mul_(inv_b[b0:b1, None])
    return res


def _finish(D, I, Q, k, kk, n, metric, exclude_self, compute):
    if kk < k:
        D[:, kk:] = float("-inf")
        I[:, kk:] = -1
    if exclude_self and kk == n:  # the excluded self sits last with score -inf
        I[:, kk - 1] = -1
    if metric == "l2":
        qsq = row_sq(Q, compute)
        D[:, :kk] = (qsq[:, None].float() - D[:, :kk]).clamp_min_(0)
        D[I < 0] = float("inf")
    return D, I


def _mask_diagonal(S, q0, b0):
    rows = torch.arange(S.shape[0], device=S.device)
    cols = rows + q0 - b0
    ok = (cols >= 0) & (cols < S.shape[1])
    S[rows[ok], cols[ok]] = float("-inf")
