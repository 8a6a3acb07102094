"""Exact k-nearest-neighbour search, faiss-style: ``knn(queries, database, k) -> (D, I)``.

Backends:

- ``"torch"``: tiles the query × database score matrix into blocks that fit ``memory_mb`` and keeps
  a running per-query top-k, so memory stays bounded for any n; CPU or CUDA.
- ``"faiss"``: ``IndexFlatIP`` / ``IndexFlatL2`` (faiss-cpu; faiss-gpu when installed).
- ``"auto"``: faiss for NumPy input on CPU when installed, otherwise torch.

Conventions: NumPy in → NumPy out, torch in → torch out (same device). ``D`` holds similarities
(descending) for ``"ip"``/``"cosine"`` and squared L2 distances (ascending) for ``"l2"``. Ties are
broken towards the lower database index (torch backend: exactly; faiss: within the returned list).
When ``k`` exceeds the database size the missing slots hold ``I = -1`` and ``D = -inf`` (``+inf`` for
L2), as in faiss.
"""
from __future__ import annotations

import numpy as np
import torch

from ._validate import check_choice, check_matrix, check_positive_int, is_torch
from .exceptions import ShapeError, ValidationError

METRICS = ("cosine", "ip", "l2")
BACKENDS = ("auto", "torch", "faiss")


def faiss_available() -> bool:
    try:
        import faiss  # noqa: F401
        return True
    except ImportError:
        return False


def _device_of(x, device):
    if is_torch(x):
        return x.device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _prepare(queries, database, k, metric, backend):
    check_choice(metric, "metric", METRICS)
    check_choice(backend, "backend", BACKENDS)
    k = check_positive_int(k, "k")
    Q = check_matrix(queries, "queries")
    B = check_matrix(database, "database")
    if is_torch(Q) != is_torch(B):
        raise ValidationError("queries and database must both be NumPy arrays or both torch tensors")
    if Q.shape[1] != B.shape[1]:
        raise ShapeError(f"queries have {Q.shape[1]} columns but the database has {B.shape[1]}")
    return Q, B, k


def knn(queries, database, k: int = 10, *, metric: str = "cosine", backend: str = "auto",
        device: str = "auto", exclude_self: bool = False, memory_mb: int = 256):
    """Exact top-``k`` neighbours of each query row in ``database``.

    Args:
        queries: ``(m, d)`` array or tensor; database: ``(n, d)``, same kind.
        k: neighbours per query. metric: ``"cosine"``, ``"ip"`` or ``"l2"`` (squared distances).
        exclude_self: queries *are* the database (m == n); row i never returns i (by position, so an
            identical duplicate row can still be a neighbour).
        memory_mb: working-memory budget of the torch backend's score blocks.
    Returns:
        ``(D, I)`` of shape ``(m, k)``: float32 scores/distances and int64 indices.
    """
    Q, B, k = _prepare(queries, database, k, metric, backend)
    if exclude_self and Q.shape[0] != B.shape[0]:
        raise ShapeError(f"exclude_self needs queries to be the database; got {Q.shape[0]} and {B.shape[0]} rows")
    if backend == "auto":
        on_cpu = not is_torch(Q) and _device_of(Q, device).type == "cpu"
        backend = "faiss" if on_cpu and faiss_available() else "torch"
    if backend == "faiss":
        return _knn_faiss(Q, B, k, metric, exclude_self)
    return _knn_torch_api(Q, B, k, metric, device, exclude_self, memory_mb)


def _knn_torch_api(Q, B, k, metric, device, exclude_self, memory_mb):
    numpy_in = not is_torch(Q)
    dev = _device_of(Q, device)
    Qt = torch.as_tensor(Q, device=dev)
    Bt = torch.as_tensor(B, device=dev)
    D, I = knn_blocks(Qt, Bt, k, metric=metric, exclude_self=exclude_self, memory_mb=memory_mb)
    if numpy_in:
        return D.cpu().numpy(), I.cpu().numpy()
    return D, I


def knn_blocks(Q: torch.Tensor, B: torch.Tensor, k: int, *, metric: str = "ip", exclude_self: bool = False,
               memory_mb: int = 256, column_bias: torch.Tensor | None = None, scale: float = 1.0):
    """Blocked exact top-k on tensors (no input checks): score = scale·(q·b) + column_bias[b].

    The score matrix exists only one ``(query block, database block)`` tile at a time; a running
    top-k is merged after each tile. Returns ``(D, I)`` as described in :func:`knn`; with a
    ``column_bias`` D holds the biased scores.
    """
    compute = torch.float32 if Q.device.type == "cpu" or Q.dtype == torch.float64 else Q.dtype
    if Q.dtype == torch.float64:
        compute = torch.float64
    Q = Q.to(compute)
    B = B.to(compute)
    if metric == "cosine":
        Q = torch.nn.functional.normalize(Q, dim=1)
        B = torch.nn.functional.normalize(B, dim=1)
    bias = None if column_bias is None else column_bias.to(device=B.device, dtype=compute)
    if metric == "l2":  # maximise 2 q·b − |b|² ⇔ minimise |q − b|²
        scale = 2.0
        bias = -(B * B).sum(1) if bias is None else bias - (B * B).sum(1)
    m, n = Q.shape[0], B.shape[0]
    kk = min(k, n)
    block = max(1, memory_mb * (1 << 20) // (2 * 4))  # score tile + its top-k workspace
    qc = min(m, max(1, min(4096, block // max(min(n, 65536), 1))))
    bc = min(n, max(kk, block // qc))
    D = torch.empty((m, k), dtype=torch.float32, device=Q.device)
    I = torch.empty((m, k), dtype=torch.int64, device=Q.device)
    buf = torch.empty((qc, bc), dtype=compute, device=Q.device)
    for q0 in range(0, m, qc):
        q1 = min(m, q0 + qc)
        best_v = best_i = None
        for b0 in range(0, n, bc):
            b1 = min(n, b0 + bc)
            S = torch.mm(Q[q0:q1], B[b0:b1].T, out=buf[:q1 - q0, :b1 - b0])
            if scale != 1.0:
                S.mul_(scale)
            if bias is not None:
                S.add_(bias[b0:b1])
            if exclude_self:
                _mask_diagonal(S, q0, b0)
            v, i = topk_lowest_index(S, min(kk, b1 - b0))
            i += b0
            if best_v is None:
                best_v, best_i = v, i
            else:
                best_v, best_i = _merge(best_v, best_i, v, i, kk)
        D[q0:q1, :kk] = best_v.float()
        I[q0:q1, :kk] = best_i
    if kk < k:
        D[:, kk:] = float("-inf")
        I[:, kk:] = -1
    if exclude_self and kk == n:  # the excluded self sits last with score -inf
        I[:, kk - 1] = -1
    if metric == "l2":
        D[:, :kk] = ((Q * Q).sum(1, keepdim=True).float() - D[:, :kk]).clamp_min_(0)
        D[I < 0] = float("inf")
    return D, I


def _mask_diagonal(S, q0, b0):
    rows = torch.arange(S.shape[0], device=S.device)
    cols = rows + q0 - b0
    ok = (cols >= 0) & (cols < S.shape[1])
    S[rows[ok], cols[ok]] = float("-inf")


def topk_lowest_index(S: torch.Tensor, k: int):
    """Row-wise top-k of ``S`` (descending), ties resolved towards the lower column index."""
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
    # order by (value desc, index asc): sort by index, then a stable sort by value
    oi = torch.argsort(i, dim=1)
    v, i = v.gather(1, oi), i.gather(1, oi)
    ov = torch.sort(v, dim=1, descending=True, stable=True).indices
    return v.gather(1, ov), i.gather(1, ov)


def _merge(v1, i1, v2, i2, k):
    # every index in (v1, i1) is lower than every index in (v2, i2), and each part is already
    # ordered by (value desc, index asc), so one stable sort by value keeps the tie rule
    v = torch.cat([v1, v2], dim=1)
    i = torch.cat([i1, i2], dim=1)
    order = torch.sort(v, dim=1, descending=True, stable=True).indices[:, :k]
    return v.gather(1, order), i.gather(1, order)


def _knn_faiss(Q, B, k, metric, exclude_self):
    import faiss
    numpy_in = not is_torch(Q)
    dev = Q.device if is_torch(Q) else None
    Qn = np.ascontiguousarray(Q.detach().cpu().numpy() if is_torch(Q) else Q, dtype=np.float32)
    Bn = np.ascontiguousarray(B.detach().cpu().numpy() if is_torch(B) else B, dtype=np.float32)
    if metric == "cosine":
        Qn = Qn / np.maximum(np.linalg.norm(Qn, axis=1, keepdims=True), 1e-12)
        Bn = Bn / np.maximum(np.linalg.norm(Bn, axis=1, keepdims=True), 1e-12)
    index = faiss.IndexFlatL2(Bn.shape[1]) if metric == "l2" else faiss.IndexFlatIP(Bn.shape[1])
    index.add(Bn)
    extra = 1 if exclude_self else 0
    D, I = index.search(Qn, min(k + extra, Bn.shape[0]))
    if exclude_self:
        D, I = _drop_self(D, I, k)
    D, I = _order_ties(D.astype(np.float32), I.astype(np.int64), metric)
    if I.shape[1] < k:
        pad = k - I.shape[1]
        fill = np.inf if metric == "l2" else -np.inf
        D = np.concatenate([D, np.full((D.shape[0], pad), fill, np.float32)], 1)
        I = np.concatenate([I, np.full((I.shape[0], pad), -1, np.int64)], 1)
    if metric == "l2":
        D = np.maximum(D, 0)
    if numpy_in:
        return D, I
    return torch.as_tensor(D, device=dev), torch.as_tensor(I, device=dev)


def _drop_self(D, I, k):
    rows = np.arange(I.shape[0])[:, None]
    keep = I != rows
    # rows where self was not returned (duplicates crowd it out): drop the last column instead
    no_self = keep.all(1)
    keep[no_self, -1] = False
    width = I.shape[1] - 1
    return D[keep].reshape(-1, width)[:, :k], I[keep].reshape(-1, width)[:, :k]


def _order_ties(D, I, metric):
    primary = D if metric == "l2" else -D
    bad = I < 0
    primary = np.where(bad, np.inf, primary)
    order = np.lexsort((np.where(bad, np.iinfo(np.int64).max, I), primary), axis=1)
    return np.take_along_axis(D, order, 1), np.take_along_axis(I, order, 1)


def csls_knn(queries, database, k: int = 10, *, csls_k: int = 10, backend: str = "auto",
             device: str = "auto", memory_mb: int = 256):
    """Top-``k`` by cross-domain similarity local scaling (Conneau et al., 2018, "Word Translation
    Without Parallel Data", arXiv 1710.04087).

    ``CSLS(q, b) = 2 cos(q, b) − r_B(q) − r_Q(b)`` where ``r_B(q)`` is the mean cosine of ``q`` to
    its ``csls_k`` nearest database rows and ``r_Q(b)`` the mean cosine of ``b`` to its ``csls_k``
    nearest queries. Penalises hubs (database points close to everything). Returns ``(D, I)``
    with D the CSLS scores, descending.
    """
    Q, B, k = _prepare(queries, database, k, "cosine", backend)
    csls_k = check_positive_int(csls_k, "csls_k")
    r_q = knn(Q, B, csls_k, metric="cosine", backend=backend, device=device, memory_mb=memory_mb)[0]
    r_b = knn(B, Q, csls_k, metric="cosine", backend=backend, device=device, memory_mb=memory_mb)[0]
    numpy_in = not is_torch(Q)
    dev = _device_of(Q, device)
    to_t = lambda a: torch.as_tensor(a, device=dev)  # noqa: E731
    r_q = _finite_mean(to_t(r_q))
    r_b = _finite_mean(to_t(r_b))
    D, I = knn_blocks(to_t(Q), to_t(B), k, metric="cosine", memory_mb=memory_mb, column_bias=-r_b, scale=2.0)
    D = D - r_q[:, None].float()
    if numpy_in:
        return D.cpu().numpy(), I.cpu().numpy()
    return D, I


def _finite_mean(D):
    finite = torch.isfinite(D)
    return torch.where(finite, D, torch.zeros_like(D)).sum(1) / finite.sum(1).clamp_min(1)
