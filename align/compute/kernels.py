"""Loader of the fused Triton kernels in the top-level ``cuda_kernels/`` folder (installed as
:mod:`align.compute.cuda_kernels`), each with a torch fallback.

The Triton path runs when :func:`align.compute.dispatch.use_triton` says so: Triton importable and
the tensors on CUDA (or, for tests, ``TRITON_INTERPRET=1`` set before Triton was imported — then on
CPU tensors). Everything else uses the pure-torch implementations here; the dense ``*_reference``
functions are the kernels' test oracles.

- :func:`similarity_topk`: top-k of ``alpha · sim(q, b) + bias[b]`` without the m × n matrix.
- :func:`lse_rows`: one online log-sum-exp pass over a cost matrix defined by two point sets
  (the half-iteration of log-domain Sinkhorn), optionally with the transport cost and plan @ V.
"""
from __future__ import annotations

import torch

from .dispatch import use_triton
from .topk import knn_blocks, row_sq

MAX_TOPK = 256
COSTS = ("sqeuclidean", "cosine")


# ---------------------------------------------------------------- similarity + top-k
def similarity_topk(Q: torch.Tensor, B: torch.Tensor, k: int, *, metric: str = "ip", alpha: float = 1.0,
                    bias: torch.Tensor | None = None, exclude_self: bool = False, backend: str = "auto",
                    precision: str = "ieee", memory_mb: int = 256):
    """Exact top-k of ``score[i, j] = alpha · sim(Q[i], B[j]) + bias[j]`` per row of Q.

    Parameters
    ----------
    Q, B : torch.Tensor
        (m, d) and (n, d) on one device; fp32, fp16 or bf16 for the fused kernel (fp32
        accumulation), any float dtype for the torch path.
    k : int
        Entries per row.
    metric : {"ip", "cosine", "l2"}
        ``"l2"``: D holds squared distances, ascending; ``alpha`` must be 1 and ``bias`` None.
    alpha : float
        Multiplies the similarity.
    bias : torch.Tensor, optional
        (n,) added after scaling.
    exclude_self : bool
        Q is B; row i never returns column i.
    backend : {"auto", "triton", "torch"}
        ``"triton"``/``"auto"`` use the fused kernel where
        :func:`~align.compute.dispatch.triton_usable` and k ≤ 256, otherwise the blocked torch
        implementation (:func:`~align.compute.topk.knn_blocks`); ``"torch"`` forces the latter.
    precision : {"ieee", "tf32"}
        fp32 products on GPU: exact or faster.
    memory_mb : int
        Working-memory budget of the torch path.

    Returns
    -------
    D, I : torch.Tensor
        (m, k) float32 and int64; ties go to the lower index; missing slots (k > n or the excluded
        self) hold I = -1 and D = -inf (+inf for l2).
    """
    if not (use_triton(backend, Q, B) and k <= MAX_TOPK and Q.dtype == B.dtype):
        return knn_blocks(Q, B, k, metric=metric, exclude_self=exclude_self, memory_mb=memory_mb,
                          column_bias=bias, scale=alpha)
    from .cuda_kernels.topk import fused_topk  # lazy: imports triton
    Q, B = Q.contiguous(), B.contiguous()
    row_scale = col_scale = None
    if metric == "cosine":
        row_scale = 1.0 / torch.linalg.vector_norm(Q, dim=1, dtype=torch.float32).clamp_min(1e-12)
        col_scale = 1.0 / torch.linalg.vector_norm(B, dim=1, dtype=torch.float32).clamp_min(1e-12)
    if bias is not None:
        bias = bias.to(device=B.device, dtype=torch.float32).contiguous()
    if metric == "l2":
        alpha = 2.0
        sq = row_sq(B, torch.float32)
        bias = -sq if bias is None else bias - sq
    D, I = fused_topk(Q, B, k, alpha=alpha, row_scale=row_scale, col_scale=col_scale, bias=bias,
                      exclude_self=exclude_self, precision=precision)
    if metric == "l2":
        qsq = row_sq(Q, torch.float32)
        D = (qsq[:, None] - D).clamp_min_(0)
        D[I < 0] = float("inf")
    return D, I


def similarity_topk_reference(Q, B, k, *, metric="ip", alpha=1.0, bias=None, exclude_self=False):
    """Dense float64 oracle of :func:`similarity_topk` (materialises m × n; small inputs only).

    Parameters
    ----------
    Q, B, k, metric, alpha, bias, exclude_self
        As in :func:`similarity_topk`.

    Returns
    -------
    D, I : torch.Tensor
        (m, k) float32 and int64, ranked by a stable sort (ties: lower index).
    """
    Qf, Bf = Q.double(), B.double()
    if metric == "cosine":
        Qf = torch.nn.functional.normalize(Qf, dim=1)
        Bf = torch.nn.functional.normalize(Bf, dim=1)
    S = Qf @ Bf.T
    if metric == "l2":
        S = 2 * S - (Bf * Bf).sum(1)[None, :]
    else:
        S = alpha * S
        if bias is not None:
            S = S + bias.double()[None, :]
    if exclude_self:
        S.fill_diagonal_(float("-inf"))
    order = torch.sort(S, dim=1, descending=True, stable=True).indices[:, : min(k, B.shape[0])]
    D = S.gather(1, order)
    I = order.clone()
    if exclude_self:
        I[torch.isinf(D)] = -1
    if metric == "l2":
        D = ((Qf * Qf).sum(1)[:, None] - D).clamp_min(0)
        D[I < 0] = float("inf")
    pad = k - I.shape[1]
    if pad > 0:
        fill = float("inf") if metric == "l2" else float("-inf")
        D = torch.cat([D, torch.full((D.shape[0], pad), fill, dtype=D.dtype)], 1)
        I = torch.cat([I, torch.full((I.shape[0], pad), -1, dtype=I.dtype)], 1)
    return D.float(), I


# ---------------------------------------------------------------- log-sum-exp over cost tiles
def cost_aux(X: torch.Tensor, cost: str) -> torch.Tensor:
    """Per-row helper of a cost: |x|² (sqeuclidean) or 1/|x| (cosine).

    Parameters
    ----------
    X : torch.Tensor
        (n, d) points.
    cost : {"sqeuclidean", "cosine"}

    Returns
    -------
    torch.Tensor
        (n,) fp32 (fp64 for fp64 X).
    """
    dt = torch.float64 if X.dtype == torch.float64 else torch.float32
    if cost == "sqeuclidean":
        return row_sq(X, dt)
    return 1.0 / torch.linalg.vector_norm(X, dim=1, dtype=dt).clamp_min(1e-12)


def cost_block(X, Y, xa, ya, cost):
    """Dense cost block C[i, j] from features (same formula as the kernel).

    Parameters
    ----------
    X, Y : torch.Tensor
        (r, d) and (m, d) points.
    xa, ya : torch.Tensor
        Their :func:`cost_aux`.
    cost : {"sqeuclidean", "cosine"}
        ``max(|x|² + |y|² − 2 x·y, 0)`` or ``1 − cos(x, y)``.

    Returns
    -------
    torch.Tensor
        (r, m) costs.
    """
    dot = X @ Y.T
    if cost == "sqeuclidean":
        return (xa[:, None] + ya[None, :] - 2 * dot).clamp_min_(0)
    return 1 - dot * xa[:, None] * ya[None, :]


def lse_rows(X, Y, pot, reg, *, cost="sqeuclidean", xa=None, ya=None, V=None, with_cost=False,
             backend="auto", precision="ieee", memory_mb=64):
    """Online log-sum-exp over j of ``t[i, j] = pot[j] − C(X[i], Y[j]) / reg`` for every row i.

    Parameters
    ----------
    X, Y : torch.Tensor
        (n_x, d) and (n_y, d), same dtype and device.
    pot : torch.Tensor
        (n_y,) potential.
    reg : float
        Entropic regularisation, > 0.
    cost : {"sqeuclidean", "cosine"}
        Squared Euclidean or 1 − cos.
    xa, ya : torch.Tensor, optional
        :func:`cost_aux` of X, Y (computed when omitted; pass them to reuse across iterations).
    V : torch.Tensor, optional
        (n_y, p): also return softmax_j(t) @ V (p ≤ 256 on the Triton path).
    with_cost : bool
        Also return the softmax_j(t)-weighted mean cost of each row.
    backend : {"auto", "triton", "torch"}
        ``"auto"``/``"triton"`` use the Triton kernel where usable (fp32/fp16/bf16); otherwise row
        blocks in torch (any float dtype, O(block) memory).
    precision : {"ieee", "tf32"}
        fp32 products of the Triton path.
    memory_mb : int
        Row-block budget of the torch path.

    Returns
    -------
    dict
        ``lse`` (n_x,), and ``cost_rows`` (n_x,) / ``v_rows`` (n_x, p) on request; fp32 (fp64 for
        fp64 inputs on the torch path).
    """
    xa = cost_aux(X, cost) if xa is None else xa
    ya = cost_aux(Y, cost) if ya is None else ya
    if use_triton(backend, X, Y) and (V is None or V.shape[1] <= 256) and X.dtype == Y.dtype:
        from .cuda_kernels.lse import lse_pass  # lazy: imports triton
        f32 = lambda t: t.to(torch.float32).contiguous()  # noqa: E731
        return lse_pass(X.contiguous(), Y.contiguous(), f32(xa), f32(ya), f32(pot), 1.0 / reg,
                        cost=COSTS.index(cost), V=None if V is None else f32(V), with_cost=with_cost,
                        precision=precision)
    return _lse_rows_torch(X, Y, xa, ya, pot, reg, cost, V, with_cost, memory_mb)


def _lse_rows_torch(X, Y, xa, ya, pot, reg, cost, V, with_cost, memory_mb):
    dt = torch.float64 if X.dtype == torch.float64 else torch.float32
    n_x, n_y = X.shape[0], Y.shape[0]
    rb = max(1, min(n_x, memory_mb * (1 << 20) // (3 * 8 * max(n_y, 1))))
    Yc = Y.to(dt)
    lse = torch.empty(n_x, dtype=dt, device=X.device)
    crow = torch.empty(n_x, dtype=dt, device=X.device) if with_cost else None
    vrow = torch.empty((n_x, V.shape[1]), dtype=dt, device=X.device) if V is not None else None
    pot = pot.to(dt)
    for i0 in range(0, n_x, rb):
        i1 = min(n_x, i0 + rb)
        C = cost_block(X[i0:i1].to(dt), Yc, xa[i0:i1].to(dt), ya.to(dt), cost)
        T = pot[None, :] - C / reg
        lse[i0:i1] = torch.logsumexp(T, 1)
        if with_cost or V is not None:
            P = torch.exp(T - lse[i0:i1, None])
            if with_cost:
                crow[i0:i1] = (P * C).sum(1)
            if V is not None:
                vrow[i0:i1] = P @ V.to(dt)
    out = {"lse": lse}
    if with_cost:
        out["cost_rows"] = crow
    if V is not None:
        out["v_rows"] = vrow
    return out


def lse_rows_reference(X, Y, pot, reg, *, cost="sqeuclidean", V=None):
    """Dense float64 oracle of :func:`lse_rows` (materialises n_x × n_y).

    Parameters
    ----------
    X, Y, pot, reg, cost, V
        As in :func:`lse_rows`.

    Returns
    -------
    dict
        ``lse``, ``cost_rows`` and (with V) ``v_rows``, float64.
    """
    Xd, Yd = X.double(), Y.double()
    C = cost_block(Xd, Yd, cost_aux(Xd, cost), cost_aux(Yd, cost), cost)
    T = pot.double()[None, :] - C / reg
    P = torch.softmax(T, 1)
    out = {"lse": torch.logsumexp(T, 1), "cost_rows": (P * C).sum(1)}
    if V is not None:
        out["v_rows"] = P @ V.double()
    return out
