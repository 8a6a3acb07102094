"""Entropic optimal transport between two point clouds: ``sinkhorn(a, b, X, Y, reg)``.

POT-like numerics (Flamary et al., 2021, "POT: Python Optimal Transport", JMLR 22): log-domain
updates as in ``ot.sinkhorn_log`` (Cuturi, 2013, arXiv 1306.0895; Feydy et al., 2019,
arXiv 1810.08278), float64 when the inputs are float64, the same stopping rule (column-marginal
violation checked every 10 iterations). The cost matrix is defined by the points — squared
Euclidean ``|x − y|²`` or cosine ``1 − cos(x, y)`` — so large problems never store it.

Methods (``method=``): ``"kernel"`` stabilised kernel domain on a stored n × m kernel (the fast
path; falls back to ``"log"`` if it would underflow), ``"log"`` log domain on a stored cost,
``"online"`` log domain recomputing cost tiles each pass (Triton kernel on CUDA, torch row blocks
on CPU; memory O(n + m)), ``"auto"``: ``"kernel"`` when n × m fits ``memory_mb``, else ``"online"``.
See :mod:`align._sinkhorn`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from . import _sinkhorn as S
from ._validate import check_choice, check_matrix, check_positive_int, is_torch
from .exceptions import ShapeError, ValidationError
from .kernels import COSTS, cost_aux, cost_block, lse_rows, similarity_topk

METHODS = ("auto", "kernel", "log", "online")


@dataclass
class SinkhornResult:
    """Solution of :func:`sinkhorn`. The plan is ``P[i, j] = exp((f[i] + g[j] − C[i, j]) / reg)``.

    Attributes: ``f`` (n,), ``g`` (m,) potentials (NumPy or torch, as the inputs; POT's
    ``log_u · reg``, ``log_v · reg``); ``cost`` = Σ P·C (as ``ot.sinkhorn2``); ``n_iter``;
    ``converged`` (marginal violation < tol); ``err`` (last violation); ``method`` used.
    Methods give the plan without an n × m matrix unless asked: :meth:`plan` (dense),
    :meth:`plan_topk` (k largest entries per row), :meth:`plan_blocks` (row blocks),
    :meth:`apply` (P @ V) and :meth:`barycentric` (each x mapped to its P-weighted mean of Y).
    """

    f: object
    g: object
    cost: float
    n_iter: int
    converged: bool
    err: float
    reg: float
    method: str
    cost_kind: str
    _X: torch.Tensor = field(repr=False)
    _Y: torch.Tensor = field(repr=False)
    _u: torch.Tensor = field(repr=False)
    _v: torch.Tensor = field(repr=False)
    _numpy: bool = field(repr=False, default=True)
    _backend: str = field(repr=False, default="auto")

    def _out(self, t):
        return t.detach().cpu().numpy() if self._numpy else t

    def _rows(self, V=None):
        return lse_rows(self._X, self._Y, self._v, self.reg, cost=self.cost_kind, V=V, backend=self._backend)

    def plan(self, max_entries: int = 50_000_000):
        """Dense plan (n, m). Raises ValidationError above ``max_entries`` (use the sparse forms)."""
        n, m = self._X.shape[0], self._Y.shape[0]
        if n * m > max_entries:
            raise ValidationError(f"a dense plan of {n} x {m} exceeds max_entries={max_entries}; "
                                  "use plan_topk, plan_blocks or apply")
        return self._out(next(self._blocks(n)))

    def plan_blocks(self, rows: int = 1024):
        """Yield ``(start, stop, P[start:stop])`` row blocks of the plan."""
        rows = check_positive_int(rows, "rows")
        for i0, blk in zip(range(0, self._X.shape[0], rows), self._blocks(rows)):
            yield i0, i0 + blk.shape[0], self._out(blk)

    def _blocks(self, rows):
        dt = self._u.dtype
        xa, ya = cost_aux(self._X, self.cost_kind).to(dt), cost_aux(self._Y, self.cost_kind).to(dt)
        Y = self._Y.to(dt)
        for i0 in range(0, self._X.shape[0], rows):
            i1 = min(self._X.shape[0], i0 + rows)
            C = cost_block(self._X[i0:i1].to(dt), Y, xa[i0:i1], ya, self.cost_kind)
            yield torch.exp(self._u[i0:i1, None] + self._v[None, :] - C / self.reg)

    def plan_topk(self, k: int = 10):
        """The ``k`` largest plan entries of each row: ``(values (n, k), columns (n, k))``, fused on CUDA."""
        k = check_positive_int(k, "k")
        X, Y, reg = self._X, self._Y, self.reg
        if self.cost_kind == "sqeuclidean":  # −C/reg = (2x·y − |x|² − |y|²)/reg
            bias = (self._v - cost_aux(Y, self.cost_kind) / reg).float()
            _, I = similarity_topk(X, Y, k, metric="ip", alpha=2.0 / reg, bias=bias, backend=self._backend)
        else:  # −C/reg = (cos − 1)/reg
            _, I = similarity_topk(X, Y, k, metric="cosine", alpha=1.0 / reg, bias=self._v.float(),
                                   backend=self._backend)
        return self._out(self._entries(I)), self._out(I)

    def _entries(self, I, rows=4096):
        # exact plan values at the selected columns (the top-k pass ranks in fp32)
        dt = self._u.dtype
        vals = torch.zeros(I.shape, dtype=dt, device=I.device)
        ya = cost_aux(self._Y, self.cost_kind).to(dt)
        for i0 in range(0, I.shape[0], rows):
            J = I[i0:i0 + rows].clamp_min(0)
            x = self._X[i0:i0 + rows].to(dt)
            y = self._Y[J].to(dt)  # (r, k, d)
            dot = torch.einsum("rd,rkd->rk", x, y)
            if self.cost_kind == "sqeuclidean":
                C = ((x * x).sum(1)[:, None] + ya[J] - 2 * dot).clamp_min(0)
            else:
                C = 1 - dot * cost_aux(x, "cosine")[:, None] * ya[J]
            P = torch.exp(self._u[i0:i0 + rows, None] + self._v[J] - C / self.reg)
            vals[i0:i0 + rows] = torch.where(I[i0:i0 + rows] >= 0, P, torch.zeros_like(P))
        return vals

    def apply(self, V):
        """P @ V for V (m, p) without forming P; returns (n, p)."""
        Vt = _as_tensor(V, self._X.device, self._u.dtype, "V")
        if Vt.shape[0] != self._Y.shape[0]:
            raise ShapeError(f"V must have {self._Y.shape[0]} rows (one per point of Y); got {Vt.shape[0]}")
        r = self._rows(V=Vt)
        mass = torch.exp(self._u + r["lse"].to(self._u.dtype))
        return self._out(mass[:, None] * r["v_rows"].to(self._u.dtype))

    def barycentric(self):
        """Σ_j P_ij y_j / Σ_j P_ij for every i: X transported onto Y's space, (n, d)."""
        return self._out(self._rows(V=self._Y.to(self._u.dtype))["v_rows"].to(self._u.dtype))


def _as_tensor(x, device, dtype, name):
    arr = check_matrix(x, name, dtype=np.float64 if dtype == torch.float64 else np.float32)
    return torch.as_tensor(arr, device=device).to(dtype)


def _weights(w, n, name, dtype, device):
    if w is None:
        return torch.full((n,), 1.0 / n, dtype=dtype, device=device)
    t = torch.as_tensor(w.detach().cpu().numpy() if is_torch(w) else np.asarray(w, dtype=np.float64))
    if t.ndim != 1 or t.shape[0] != n:
        raise ShapeError(f"{name} must be a vector of {n} weights (one per point); got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()) or bool((t < 0).any()) or float(t.sum()) <= 0:
        raise ValidationError(f"{name} must hold finite non-negative weights with a positive sum")
    return t.to(device=device, dtype=dtype)


def _float_dtype(X, Y, dtype):
    if dtype is not None:
        return {"float64": torch.float64, "float32": torch.float32}[str(dtype).replace("torch.", "")]
    is64 = lambda z: (z.dtype == torch.float64) if is_torch(z) else np.asarray(z).dtype == np.float64  # noqa: E731
    return torch.float64 if is64(X) or is64(Y) else torch.float32


def sinkhorn(a, b, X, Y, reg: float, *, cost: str = "sqeuclidean", max_iter: int = 1000, tol: float = 1e-9,
             check_every: int = 10, method: str = "auto", device: str = "auto", dtype=None,
             memory_mb: int | None = None, backend: str = "auto", precision: str = "ieee") -> SinkhornResult:
    """Entropic OT between weighted point clouds, like ``ot.sinkhorn_log(a, b, M, reg)`` with ``M`` = cost(X, Y).

    Args:
        a: (n,) weights of X's points or None (uniform); b: (m,) weights of Y's or None. Their sums
            must agree (balanced transport). X: (n, d), Y: (m, d), NumPy or torch (same kind).
        reg: entropic regularisation ε > 0 (in cost units). cost: ``"sqeuclidean"`` or ``"cosine"``.
        max_iter, tol, check_every: stop when ‖P·1ᵀ − b‖₂ < tol, checked every ``check_every``.
        method: ``"auto"``, ``"kernel"``, ``"log"`` or ``"online"`` (module docstring).
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``; tensors stay on theirs.
        dtype: ``"float32"``/``"float64"``; default float64 when X or Y is float64, else float32
            (bf16/fp16 tensors on CUDA keep their dtype for the dot products on the online path).
        memory_mb: budget for a stored n × m matrix (default 256 on CPU, a quarter of free GPU memory).
        backend: ``"auto"`` (Triton kernel on CUDA for the online path) or ``"torch"``.
        precision: fp32 dot products of the Triton path: ``"ieee"`` (exact, slow on GPUs) or
            ``"tf32"`` (tensor cores; ~1e-3 relative error in the cost). 16-bit inputs ignore it.
    Returns:
        :class:`SinkhornResult` (potentials f, g; cost; n_iter; converged; plan accessors).
    """
    check_choice(cost, "cost", COSTS)
    check_choice(method, "method", METHODS)
    check_choice(backend, "backend", ("auto", "torch", "triton"))
    check_choice(precision, "precision", ("ieee", "tf32"))
    max_iter = check_positive_int(max_iter, "max_iter")
    check_every = check_positive_int(check_every, "check_every")
    if isinstance(reg, bool) or not isinstance(reg, (int, float, np.floating)) or not math.isfinite(reg) or reg <= 0:
        raise ValidationError(f"reg must be a positive finite number; got {reg!r}")
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating)) or tol < 0:
        raise ValidationError(f"tol must be a number >= 0; got {tol!r}")
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
    wa, wb = _weights(a, n, "a", dt, dev), _weights(b, m, "b", dt, dev)
    if abs(float(wa.sum()) - float(wb.sum())) > 1e-6 * float(wa.sum()):
        raise ValidationError(f"a and b must have equal sums (balanced OT); got {float(wa.sum()):.6g} and {float(wb.sum()):.6g}")
    budget = _budget(memory_mb, dev)
    fits = n * m * torch.finfo(dt).bits // 8 <= budget
    chosen = ("kernel" if fits else "online") if method == "auto" else method
    loga, logb = torch.log(wa), torch.log(wb)
    reg = float(reg)
    res = None
    if chosen == "kernel":
        res = S.kernel_iterations(Xt, Yt, cost, reg, loga, logb, max_iter, tol, check_every, dt)
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
