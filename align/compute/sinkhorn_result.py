"""The solution object of :func:`align.compute.sinkhorn`: potentials plus plan accessors that never
need the n × m plan unless asked."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .._validate import check_matrix, check_positive_int
from ..exceptions import ShapeError, ValidationError
from .kernels import cost_aux, cost_block, lse_rows, similarity_topk


@dataclass
class SinkhornResult:
    """Solution of :func:`sinkhorn`. The plan is ``P[i, j] = exp((f[i] + g[j] − C[i, j]) / reg)``.

    Methods give the plan without an n × m matrix unless asked: :meth:`plan` (dense),
    :meth:`plan_topk` (k largest entries per row), :meth:`plan_blocks` (row blocks),
    :meth:`apply` (P @ V) and :meth:`barycentric` (each x mapped to its P-weighted mean of Y).

    Attributes
    ----------
    f, g : numpy.ndarray or torch.Tensor
        (n,), (m,) potentials, the kind of the inputs (POT's ``log_u · reg``, ``log_v · reg``).
    cost : float
        Σ P·C (as ``ot.sinkhorn2``).
    n_iter : int
    converged : bool
        Marginal violation < tol.
    err : float
        Last marginal violation.
    reg : float
    method : str
        The method used (``"kernel"``, ``"log"`` or ``"online"``).
    cost_kind : str
        ``"sqeuclidean"`` or ``"cosine"``.
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
        """Dense plan.

        Parameters
        ----------
        max_entries : int
            Refuse larger plans.

        Returns
        -------
        numpy.ndarray or torch.Tensor
            (n, m).

        Raises
        ------
        ValidationError
            When n · m exceeds ``max_entries`` (use the sparse forms).
        """
        n, m = self._X.shape[0], self._Y.shape[0]
        if n * m > max_entries:
            raise ValidationError(f"a dense plan of {n} x {m} exceeds max_entries={max_entries}; "
                                  "use plan_topk, plan_blocks or apply")
        return self._out(next(self._blocks(n)))

    def plan_blocks(self, rows: int = 1024):
        """Row blocks of the plan.

        Parameters
        ----------
        rows : int
            Rows per block.

        Yields
        ------
        (int, int, array)
            ``(start, stop, P[start:stop])``.
        """
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
        """The ``k`` largest plan entries of each row (fused on CUDA).

        Parameters
        ----------
        k : int

        Returns
        -------
        values, columns
            (n, k) exact plan values and their int64 columns.
        """
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
        """P @ V without forming P.

        Parameters
        ----------
        V : array-like or torch.Tensor
            (m, p).

        Returns
        -------
        numpy.ndarray or torch.Tensor
            (n, p).

        Raises
        ------
        ShapeError
            V does not have m rows.
        """
        Vt = _as_tensor(V, self._X.device, self._u.dtype, "V")
        if Vt.shape[0] != self._Y.shape[0]:
            raise ShapeError(f"V must have {self._Y.shape[0]} rows (one per point of Y); got {Vt.shape[0]}")
        r = self._rows(V=Vt)
        mass = torch.exp(self._u + r["lse"].to(self._u.dtype))
        return self._out(mass[:, None] * r["v_rows"].to(self._u.dtype))

    def barycentric(self):
        """Σ_j P_ij y_j / Σ_j P_ij for every i: X transported onto Y's space.

        Returns
        -------
        numpy.ndarray or torch.Tensor
            (n, d).
        """
        return self._out(self._rows(V=self._Y.to(self._u.dtype))["v_rows"].to(self._u.dtype))


def _as_tensor(x, device, dtype, name):
    arr = check_matrix(x, name, dtype=np.float64 if dtype == torch.float64 else np.float32)
    return torch.as_tensor(arr, device=device).to(dtype)


__all__ = ["SinkhornResult"]
