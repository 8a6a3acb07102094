"""Entropic optimal transport: ``sinkhorn(a, b, X, Y, reg)`` between two point clouds and
``sinkhorn_matrix(a, b, M, reg)`` on a given cost matrix (the latter returns the plan, as
POT's ``ot.sinkhorn``).

POT-like numerics (Flamary et al., 2021, "POT: Python Optimal Transport", JMLR 22): log-domain
updates as in ``ot.sinkhorn_log`` (Cuturi, 2013, arXiv 1306.0895; Feydy et al., 2019,
arXiv 1810.08278), float64 when the inputs are float64, the same stopping rule (column-marginal
violation checked every 10 iterations). The cost matrix is defined by the points — squared
Euclidean ``|x − y|²`` or cosine ``1 − cos(x, y)`` — so large problems never store it.

Methods (``method=``): ``"kernel"`` stabilised kernel domain on a stored n × m kernel (the fast
path; falls back to ``"log"`` if it would underflow), ``"log"`` log domain on a stored cost,
``"online"`` log domain recomputing cost tiles each pass (Triton kernel on CUDA, torch row blocks
on CPU; memory O(n + m)), ``"auto"``: ``"kernel"`` when n × m fits ``memory_mb``, else ``"online"``.
See :mod:`align.compute.sinkhorn_iterations`.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .._validate import check_choice, check_matrix, check_positive_int, is_torch
from ..exceptions import ShapeError, ValidationError
from . import sinkhorn_iterations as S
from .kernels import COSTS, lse_rows
from .sinkhorn_result import SinkhornResult

METHODS = ("auto", "kernel", "log", "online")


def _weights(w, n, name, dtype, device):
    if w is None:
        return torch.full((n,), 1.0 / n, dtype=dtype, device=device)
    t = torch.as_tensor(w.detach().cpu().numpy() if is_torch(w) else np.asarray(w, dtype=np.float64))
    if t.ndim != 1 or t.shape[0] != n:
        raise ShapeError(f"{name} must be a vector of {n} weights (one per point); got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()) or bool((t < 0).any()) or float(t.sum()) <= 0:
        raise ValidationError(f"{name} must hold finite non-negative weights with a positive sum")
    return t.to(device=device, dtype=dtype)


def _histograms(a, b, n, m, dt, dev):
    wa, wb = _weights(a, n, "a", dt, dev), _weights(b, m, "b", dt, dev)
    if abs(float(wa.sum()) - float(wb.sum())) > 1e-6 * float(wa.sum()):
        raise ValidationError(f"a and b must have equal sums (balanced OT); got {float(wa.sum()):.6g} and {float(wb.sum()):.6g}")
    return wa, wb


def _check_numbers(max_iter, check_every, reg, tol):
    max_iter = check_positive_int(max_iter, "max_iter")
    check_every = check_positive_int(check_every, "check_every")
    if isinstance(reg, bool) or not isinstance(reg, (int, float, np.floating)) or not math.isfinite(reg) or reg <= 0:
        raise ValidationError(f"reg must be a positive finite number; got {reg!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or tol < 0:
        raise ValidationError(f"tol must be a number >= 0; got {tol!r}")
    return max_iter, check_every


def _float_dtype(X, Y, dtype):
    if dtype is not None:
        return {"float64": torch.float64, "float32": torch.float32}[str(dtype).replace("torch.", "")]
    is64 = lambda z: (z.dtype == torch.float64) if is_torch(z) else np.asarray(z).dtype == np.float64  # noqa: E731
    return torch.float64 if is64(X) or is64(Y) else torch.float32


def sinkhorn(a, b, X, Y, reg: float, *, cost: str = "sqeuclidean", max_iter: int = 1000, tol: float = 1e-9,
             check_every: int = 10, method: str = "auto", device: str = "auto", dtype=None,
             memory_mb: int | None = None, backend: str = "auto", precision: str = "ieee") -> SinkhornResult:
    """Entropic OT between weighted point clouds, like ``ot.sinkhorn_log(a, b, M, reg)`` with
    ``M`` = cost(X, Y) (Cuturi, 2013, arXiv 1306.0895), never storing M on the online path.

    Parameters
    ----------
    a, b : array-like, torch.Tensor or None
        (n,) weights of X's points and (m,) of Y's; None: uniform. Their sums must agree (balanced).
    X, Y : array-like or torch.Tensor
        (n, d) and (m, d), the same kind.
    reg : float
        Entropic regularisation ε > 0 (in cost units).
    cost : {"sqeuclidean", "cosine"}
    max_iter, tol, check_every
        Stop when ‖P·1ᵀ − b‖₂ < tol, checked every ``check_every`` iterations.
    method : {"auto", "kernel", "log", "online"}
        See the module docstring.
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``; tensors stay on theirs.
    dtype : str, optional
        ``"float32"``/``"float64"``; default float64 when X or Y is float64, else float32
        (bf16/fp16 tensors on CUDA keep their dtype for the dot products on the online path).
    memory_mb : int, optional
        Budget for a stored n × m matrix (default 256 on CPU, a quarter of free GPU memory).
    backend : {"auto", "torch", "triton"}
        ``"auto"``: the Triton kernel on CUDA for the online path.
    precision : {"ieee", "tf32"}
        fp32 dot products of the Triton path: exact (slow on GPUs) or tensor cores (~1e-3
        relative error in the cost). 16-bit inputs ignore it.

    Returns
    -------
    SinkhornResult
        Potentials f, g; cost; n_iter; converged; plan accessors.

    Raises
    ------
    ValidationError
        Bad options, reg or tol, non-finite points, bad weights or unequal weight sums.
    ShapeError
        Not 2-D, different dimensions, or weights of the wrong length.
    """
    check_choice(cost, "cost", COSTS)
    check_choice(method, "method", METHODS)
    check_choice(backend, "backend", ("auto", "torch", "triton"))
    check_choice(precision, "precision", ("ieee", "tf32"))
    max_iter, check_every = _check_numbers(max_iter, check_every, reg, tol)
    if is_torch(X) != is_torch(Y):
        raise ValidationError("X and Y must both be NumPy arrays or both torch tensors")
    dt = _float_dtype(X, Y, dtype)
    np_dt = np.float64 if dt == torch.float64 else np.float32
    Xc, Yc = check_matrix(X, "X", dtype=np_dt), check_matrix(Y, "Y", dtype=np_dt)
    if Xc.shape[1] != Yc.shape[1]:
        raise ShapeError(f"X has {Xc.shape[1]} columns but Y has {Yc.shape[1]}")
    numpy_in = not is_torch(X)
    dev = Xc.device if is_torch(Xc) else torch.device("cuda" if device == "auto" and torch.cuda.is_available()
                                                      else ("cpu" if device == "auto" else device))
    Xt, Yt = _points(Xc, dev, dt), _points(Yc, dev, dt)
    n, m = Xt.shape[0], Yt.shape[0]
    wa, wb = _histograms(a, b, n, m, dt, dev)
    budget = _budget(memory_mb, dev)
    fits = n * m * torch.finfo(dt).bits // 8 <= budget
    chosen = ("kernel" if fits else "online") if method == "auto" else method
    loga, logb = torch.log(wa), torch.log(wb)
    reg = float(reg)
    res = None
    if chosen == "kernel":
        res = S.kernel_iterations(lambda: S.dense_cost(Xt, Yt, cost, dt), reg, loga, logb, max_iter, tol,
                                  check_every, dt)
        if res is None:
            chosen = "log" if fits else "online"
    if res is None:
        ops = (S.StoredCost(S.dense_cost(Xt, Yt, cost, dt), reg) if chosen == "log"
               else S.OnlineCost(Xt, Yt, cost, reg, backend=backend, precision=precision))
        res = S.log_iterations(ops, loga, logb, max_iter, tol, check_every)
    u, v, n_iter, err = res
    rows = lse_rows(Xt, Yt, v, reg, cost=cost, with_cost=True, backend=backend)
    total = float((torch.exp(u + rows["lse"].to(dt)) * rows["cost_rows"].to(dt)).sum())
    out = (lambda t: t.cpu().numpy()) if numpy_in else (lambda t: t)
    return SinkhornResult(f=out(reg * u), g=out(reg * v), cost=total, n_iter=n_iter, converged=err < tol,
                          err=err, reg=reg, method=chosen, cost_kind=cost, _X=Xt, _Y=Yt, _u=u, _v=v,
                          _numpy=numpy_in, _backend=backend)


def _points(x, device, dt):
    if is_torch(x):
        keep = x.device.type == "cuda" and x.dtype in (torch.float16, torch.bfloat16)
        return x.to(device) if keep else x.to(device=device, dtype=dt)
    return torch.as_tensor(x, device=device)


def _budget(memory_mb, dev):
    if memory_mb is not None:
        return int(memory_mb) << 20
    if dev.type == "cuda":
        return torch.cuda.mem_get_info(dev)[0] // 4
    return 256 << 20


def sinkhorn_matrix(a, b, M, reg: float, *, max_iter: int = 1000, tol: float = 1e-9, method: str = "auto",
                    check_every: int = 10):
    """Entropic OT plan for a given cost matrix, like POT's ``ot.sinkhorn(a, b, M, reg)``
    (Cuturi, 2013, arXiv 1306.0895).

    The iterations are those of :func:`sinkhorn` on a stored cost: the stabilised kernel domain
    (Schmitzer, 2019, arXiv 1610.06519) when ``exp(−M / reg)`` cannot underflow, the log domain
    (POT's ``sinkhorn_log``) otherwise, or when a weight is zero; same stopping rule as POT.

    Parameters
    ----------
    a, b : array-like, torch.Tensor or None
        (n,) and (m,) histograms: finite, non-negative, positive and equal sums; None: uniform.
    M : array-like or torch.Tensor
        (n, m) finite cost matrix (any sign; a constant shift does not change the plan).
    reg : float
        Entropic regularisation ε > 0 (in cost units).
    max_iter, tol, check_every
        Stop when ‖P·1ᵀ − b‖₂ < tol, checked every ``check_every`` iterations.
    method : {"auto", "kernel", "log"}
        ``"auto"``: ``"kernel"`` when (max M − min M) / reg < −log(smallest normal number of the
        dtype), i.e. ``exp(−M / reg)`` cannot underflow after a constant shift; else ``"log"``.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        (n, m) plan: float64 NumPy for NumPy (or list) input; for a tensor M, a tensor on its
        device (float64 for float64 M, else float32).

    Raises
    ------
    ValidationError
        Bad method, reg, tol or max_iter; non-finite M; histograms negative, non-finite, with a zero
        sum, or with unequal sums.
    ShapeError
        M not 2-D or empty; a or b of the wrong length.
    """
    check_choice(method, "method", ("auto", "kernel", "log"))
    max_iter, check_every = _check_numbers(max_iter, check_every, reg, tol)
    numpy_in = not is_torch(M)
    Mc = check_matrix(M, "M", dtype=np.float64)
    dt = torch.float64 if (numpy_in or Mc.dtype == torch.float64) else torch.float32
    Mt = torch.as_tensor(Mc).to(dt)
    n, m = Mt.shape
    wa, wb = _histograms(a, b, n, m, dt, Mt.device)
    loga, logb = torch.log(wa), torch.log(wb)
    reg = float(reg)
    if method == "auto":
        span = float(Mt.max() - Mt.min()) / reg
        method = "kernel" if span < -math.log(torch.finfo(dt).tiny) else "log"
    res = None
    if method == "kernel":
        res = S.kernel_iterations(Mt.clone, reg, loga, logb, max_iter, tol, check_every, dt)
    if res is None:
        res = S.log_iterations(S.StoredCost(Mt.clone(), reg), loga, logb, max_iter, tol, check_every)
    u, v = res[0], res[1]
    P = Mt.div(-reg).add_(u[:, None]).add_(v[None, :]).exp_()
    return P.cpu().numpy() if numpy_in else P


__all__ = ["METHODS", "sinkhorn", "sinkhorn_matrix"]
