"""Exact k-nearest-neighbour search, faiss-style: ``knn(queries, database, k) -> (D, I)``.

Backends:

- ``"torch"``: tiles the query × database score matrix into one reused buffer that fits
  ``memory_mb``, selects each tile's top-k exactly from group maxima, and keeps a running per-query
  top-k, so memory stays bounded for any n; CPU or CUDA (see :mod:`align.compute.topk`). On the 2-core
  CPU it runs at faiss speed (bench/RESULTS.md).
- ``"faiss"``: ``IndexFlatIP`` / ``IndexFlatL2`` (faiss-cpu; faiss-gpu when installed).
- ``"triton"``: the fused similarity + top-k kernel (:mod:`align.compute.kernels`): the score matrix is
  never written; CUDA only (falls back to ``"torch"`` elsewhere or for k > 256).
- ``"auto"``: triton on CUDA when Triton is installed, faiss on CPU when installed (float32 data),
  torch otherwise (:func:`align.compute.dispatch.resolve_backend`).

Conventions: NumPy in → NumPy out, torch in → torch out (same device). ``D`` holds similarities
(descending) for ``"ip"``/``"cosine"`` and squared L2 distances (ascending) for ``"l2"``. Ties are
broken towards the lower database index (torch backend: exactly; faiss: within the returned list).
When ``k`` exceeds the database size the missing slots hold ``I = -1`` and ``D = -inf`` (``+inf`` for
L2), as in faiss.
"""
from __future__ import annotations

import numpy as np
import torch

from .._validate import check_choice, check_matrix, check_positive_int, is_torch
from ..exceptions import ShapeError, ValidationError
from .dispatch import BACKENDS, device_of, resolve_backend
from .kernels import similarity_topk

METRICS = ("cosine", "ip", "l2")


def check_search_inputs(queries, database, k, metric, backend):
    """Validate the arguments of a search.

    Parameters
    ----------
    queries, database : array-like or torch.Tensor
        (m, d) and (n, d), both NumPy or both torch.
    k : int
        Neighbours per query, >= 1.
    metric : str
        One of :data:`METRICS`.
    backend : str
        One of :data:`~align.compute.dispatch.BACKENDS`.

    Returns
    -------
    Q, B, k
        The validated matrices (float32 NumPy, or floating tensors left on their device) and k.

    Raises
    ------
    ValidationError
        Unknown metric/backend, a bad k, non-finite values, or mixed NumPy/torch inputs.
    ShapeError
        Not 2-D, empty, or different numbers of columns.
    """
    check_choice(metric, "metric", METRICS)
    check_choice(backend, "backend", BACKENDS)
    k = check_positive_int(k, "k")
    Q = check_matrix(queries, "queries")
    B = check_matrix(database, "database")
    if is_torch(Q) != is_torch(B):
        raise ValidationError("queries and database must both be NumPy arrays or both torch tensors")
    if Q.shape[1] != B.shape[1]:
        raise ShapeError(f"queries have {Q.shape[1]} columns but the database has {B.shape[1]}")
    Q, B = _safe_magnitudes(Q, B, metric)
    return Q, B, k


_COSINE_SAFE = (2.0 ** -20, 2.0 ** 40)  # max |x| outside this is rescaled for cosine (exact: a power of 2)


def _safe_magnitudes(Q, B, metric):
    """Keep float32 arithmetic in range: ``1e20``-scaled vectors overflow it (inf scores, index −1)
    and ``1e-25``-scaled ones underflow to ties. Cosine is scale-free, so each side is divided by the
    power of two nearest its largest magnitude (a new array; the caller's is untouched); inner
    products and distances are not, so they are refused with the reason."""
    torch_in = is_torch(Q)
    top = [float(A.abs().max()) if torch_in else float(np.abs(A).max()) for A in (Q, B)]
    if metric == "cosine":
        out = []
        for A, t in zip((Q, B), top):
            if t > 0 and not _COSINE_SAFE[0] <= t <= _COSINE_SAFE[1]:
                A = A * (2.0 ** -round(np.log2(t)))
            out.append(A)
        return out[0], out[1]
    fmax, fmin = float(np.finfo(np.float32).max), float(np.finfo(np.float32).tiny)  # scores come back float32
    d = Q.shape[1]
    bound = top[0] * top[1] * d if metric == "ip" else (top[0] + top[1]) ** 2 * d
    if bound > fmax / 16 or (0 < max(top[0] * top[1], top[0] ** 2, top[1] ** 2) < fmin * 2 ** 10):
        kind = "overflow" if bound > fmax / 16 else "underflow"
        raise ValidationError(f"metric={metric!r} scores of these vectors {kind} "
                              f"float32 (largest |value|: queries {top[0]:.3g}, "
                              f"database {top[1]:.3g}); rescale them, or use metric='cosine', which is scale-free")
    return Q, B


def knn(queries, database, k: int = 10, *, metric: str = "cosine", backend: str = "auto",
        device: str = "auto", exclude_self: bool = False, memory_mb: int = 256):
    """Exact top-``k`` neighbours of each query row in ``database`` (faiss-like).

    Parameters
    ----------
    queries : array-like or torch.Tensor
        (m, d).
    database : array-like or torch.Tensor
        (n, d), the same kind as ``queries``.
    k : int
        Neighbours per query.
    metric : {"cosine", "ip", "l2"}
        ``"l2"`` returns squared distances.
    backend : {"auto", "torch", "faiss", "triton"}
        See the module docstring.
    device : str
        Where NumPy input is searched (``"auto"``: CUDA when present); tensors stay put.
    exclude_self : bool
        The queries *are* the database (m == n); row i never returns i (by position, so an
        identical duplicate row can still be a neighbour).
    memory_mb : int
        Working-memory budget of the torch backend's score blocks.

    Returns
    -------
    D, I : numpy.ndarray or torch.Tensor
        (m, k) float32 scores/distances and int64 indices (NumPy in → NumPy out, torch in → torch out).

    Raises
    ------
    ValidationError, ShapeError
        See :func:`check_search_inputs`; ShapeError also for ``exclude_self`` with m != n.
    """
    Q, B, k = check_search_inputs(queries, database, k, metric, backend)
    if exclude_self and Q.shape[0] != B.shape[0]:
        raise ShapeError(f"exclude_self needs queries to be the database; got {Q.shape[0]} and {B.shape[0]} rows")
    backend = resolve_backend(backend, Q, device)
    if backend == "faiss":
        return _knn_faiss(Q, B, k, metric, exclude_self)
    return _knn_torch_api(Q, B, k, metric, device, exclude_self, memory_mb, backend)


def _knn_torch_api(Q, B, k, metric, device, exclude_self, memory_mb, backend):
    numpy_in = not is_torch(Q)
    dev = device_of(Q, device)
    Qt = torch.as_tensor(Q, device=dev)
    Bt = torch.as_tensor(B, device=dev)
    D, I = similarity_topk(Qt, Bt, k, metric=metric, exclude_self=exclude_self, memory_mb=memory_mb,
                           backend="triton" if backend == "triton" else "torch")
    if numpy_in:
        return D.cpu().numpy(), I.cpu().numpy()
    return D, I


def _knn_faiss(Q, B, k, metric, exclude_self):
    import faiss  # lazy: optional dependency
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


__all__ = ["knn", "check_search_inputs", "METRICS", "BACKENDS"]
