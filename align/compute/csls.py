"""Cross-domain similarity local scaling (CSLS), written once (Conneau et al., 2018, "Word
Translation Without Parallel Data", arXiv 1710.04087).

``CSLS(q, b) = 2 cos(q, b) − r_B(q) − r_Q(b)``, where ``r_B(q)`` is the mean cosine of ``q`` to its
``csls_k`` nearest rows of B. It penalises hubs (database points close to everything).

Two pieces, and everything CSLS in ``align`` builds on them:

- :func:`csls_radius`: the radius / penalty ``r_Y(x)`` (one kNN pass; the translation metrics'
  column penalty is ``csls_radius(targets, predictions, k)``).
- :func:`csls_topk`: the CSLS top-k on tensors — one fused top-k of ``2 cos − r_b`` (the column
  penalty as a bias), then ``− r_q`` per row; the m × n matrix is never stored.

:func:`csls_knn` (faiss-like, NumPy or torch, one direction) and :func:`csls_both` (both directions
with the radii computed once; refinement, selection and inits) are their two faces.
:func:`csls_topk_reference` is the dense float64 oracle of the tests.
"""
from __future__ import annotations

import numpy as np
import torch

from .._validate import check_positive_int, is_torch
from .dispatch import device_of, resolve_backend
from .kernels import similarity_topk
from .search import check_search_inputs, knn


def finite_mean(D: torch.Tensor) -> torch.Tensor:
    """Row means over the finite entries of ``D`` (padding slots of a search hold ±inf).

    Parameters
    ----------
    D : torch.Tensor
        (m, k) scores.

    Returns
    -------
    torch.Tensor
        (m,) means; 0 for a row with no finite entry.
    """
    finite = torch.isfinite(D)
    return torch.where(finite, D, torch.zeros_like(D)).sum(1) / finite.sum(1).clamp_min(1)


def csls_radius(X, Y, csls_k: int = 10, *, backend: str = "auto", memory_mb: int = 256):
    """``r_Y(x)``: mean cosine of each row of X to its ``csls_k`` nearest rows of Y.

    Parameters
    ----------
    X, Y : numpy.ndarray or torch.Tensor
        (n_x, d) and (n_y, d), the same kind.
    csls_k : int
        Neighbourhood size; capped at n_y.
    backend : {"auto", "torch", "faiss", "triton"}
        Search backend of :func:`align.compute.knn`.
    memory_mb : int
        Working-memory budget of the search.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        (n_x,) float32: NumPy for NumPy input (NumPy's mean), a tensor on X's device for tensors
        (a torch mean over the existing neighbours). The two reductions may differ in the last bit;
        each is kept so that results stay identical to earlier releases.
    """
    if is_torch(X):
        return finite_mean(knn(X, Y, csls_k, metric="cosine", backend=backend, memory_mb=memory_mb)[0])
    k = min(int(csls_k), Y.shape[0])
    return knn(X, Y, k, metric="cosine", backend=backend, memory_mb=memory_mb)[0].mean(1).astype(np.float32)


def csls_topk(Q: torch.Tensor, B: torch.Tensor, k: int, *, csls_k: int = 10, r_q=None, r_b=None,
              backend: str = "auto", memory_mb: int = 256):
    """CSLS top-k on tensors: one fused top-k of ``2 cos(q, b) − r_b``, then ``− r_q`` per row.

    Parameters
    ----------
    Q, B : torch.Tensor
        (m, d) queries and (n, d) database on one device.
    k : int
        Neighbours per query.
    csls_k : int
        Neighbourhood size of the radii computed here when ``r_q`` / ``r_b`` are not given.
    r_q, r_b : torch.Tensor, optional
        (m,) ``r_B(q)`` and (n,) ``r_Q(b)`` (:func:`csls_radius`).
    backend : {"auto", "triton", "torch"}
        Kernel-level backend of :func:`~align.compute.kernels.similarity_topk`.
    memory_mb : int
        Working-memory budget of the torch path.

    Returns
    -------
    D, I : torch.Tensor
        (m, k) float32 CSLS scores (descending; ties: lower index) and int64 indices.
    """
    search = "torch" if backend == "torch" else "triton"  # knn's name for "fused where usable"
    if r_q is None:
        r_q = csls_radius(Q, B, csls_k, backend=search, memory_mb=memory_mb)
    if r_b is None:
        r_b = csls_radius(B, Q, csls_k, backend=search, memory_mb=memory_mb)
    D, I = similarity_topk(Q, B, k, metric="cosine", alpha=2.0, bias=-r_b.float(), backend=backend,
                           memory_mb=memory_mb)
    return D - r_q.to(D.device, torch.float32)[:, None], I


def csls_topk_reference(Q, B, k, *, csls_k=10):
    """Dense float64 oracle of :func:`csls_topk` (materialises m × n; small inputs only).

    Parameters
    ----------
    Q, B : torch.Tensor
        (m, d), (n, d).
    k, csls_k : int

    Returns
    -------
    D, I : torch.Tensor
        (m, k) float32 CSLS scores and int64 indices, ranked by a stable sort.
    """
    S = torch.nn.functional.normalize(Q.double(), dim=1) @ torch.nn.functional.normalize(B.double(), dim=1).T
    r_q = S.topk(min(csls_k, S.shape[1]), dim=1).values.mean(1)
    r_b = S.topk(min(csls_k, S.shape[0]), dim=0).values.mean(0)
    C = 2 * S - r_q[:, None] - r_b[None, :]
    order = torch.sort(C, dim=1, descending=True, stable=True).indices[:, : min(k, B.shape[0])]
    return C.gather(1, order).float(), order


def csls_both(A, B, k: int = 1, *, csls_k: int = 10):
    """CSLS top-k in both directions with the neighbourhood radii computed once (4 kNN passes).

    Parameters
    ----------
    A, B : numpy.ndarray
        (n_a, d) and (n_b, d), converted to float32.
    k : int
        Neighbours per row (capped at the other side's size).
    csls_k : int
        Neighbourhood size of the radii.

    Returns
    -------
    (Df, If), (Db, Ib) : tuple of numpy.ndarray
        A → B: (n_a, k) float32 CSLS scores and int64 indices; B → A: (n_b, k).
    """
    A = np.ascontiguousarray(A, dtype=np.float32)
    B = np.ascontiguousarray(B, dtype=np.float32)
    r_a = torch.from_numpy(csls_radius(A, B, csls_k))
    r_b = torch.from_numpy(csls_radius(B, A, csls_k))
    At, Bt = torch.from_numpy(A), torch.from_numpy(B)
    Df, If = csls_topk(At, Bt, min(k, B.shape[0]), r_q=r_a, r_b=r_b, backend="torch")
    Db, Ib = csls_topk(Bt, At, min(k, A.shape[0]), r_q=r_b, r_b=r_a, backend="torch")
    return (Df.numpy(), If.numpy()), (Db.numpy(), Ib.numpy())


def csls_knn(queries, database, k: int = 10, *, csls_k: int = 10, backend: str = "auto",
             device: str = "auto", memory_mb: int = 256):
    """Top-``k`` database rows of each query by CSLS (faiss-like face of :func:`csls_topk`).

    Three top-k passes (the two radii, then the CSLS top-k), each fused on CUDA
    (``backend="triton"``/``"auto"``) and blocked in torch elsewhere; with ``backend="faiss"``
    (or ``"auto"`` on CPU) faiss computes the two radii.

    Parameters
    ----------
    queries, database : array-like or torch.Tensor
        (m, d) and (n, d), the same kind.
    k : int
        Neighbours per query.
    csls_k : int
        Neighbourhood size of the radii.
    backend : {"auto", "torch", "faiss", "triton"}
        As in :func:`align.compute.knn`.
    device : str
        Where NumPy input is searched (``"auto"``: CUDA when present).
    memory_mb : int
        Working-memory budget of the torch passes.

    Returns
    -------
    D, I : numpy.ndarray or torch.Tensor
        (m, k) CSLS scores (descending; ties go to the lower database index) and int64 indices.

    Raises
    ------
    ValidationError, ShapeError
        As :func:`align.compute.knn`; ValidationError for ``csls_k`` < 1.
    """
    Q, B, k = check_search_inputs(queries, database, k, "cosine", backend)
    csls_k = check_positive_int(csls_k, "csls_k")
    backend = resolve_backend(backend, Q, device)
    numpy_in = not is_torch(Q)
    dev = device_of(Q, device)
    Qt, Bt = torch.as_tensor(Q, device=dev), torch.as_tensor(B, device=dev)
    r_q = csls_radius(Qt, Bt, csls_k, backend=backend, memory_mb=memory_mb)
    r_b = csls_radius(Bt, Qt, csls_k, backend=backend, memory_mb=memory_mb)
    D, I = csls_topk(Qt, Bt, k, r_q=r_q, r_b=r_b, memory_mb=memory_mb,
                     backend="triton" if backend == "triton" else "torch")
    if numpy_in:
        return D.cpu().numpy(), I.cpu().numpy()
    return D, I


__all__ = ["csls_radius", "csls_topk", "csls_topk_reference", "csls_both", "csls_knn", "finite_mean"]
