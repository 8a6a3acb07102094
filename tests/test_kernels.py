"""Fused kernels against their torch references.

The Triton kernels run under ``TRITON_INTERPRET=1`` on CPU tensors. That variable must be set
before Triton is imported, so the interpreter checks run once in a subprocess (this file executed
as a script) and each test reads its own result; nothing in this process is affected.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from align.compute import (csls_topk, csls_topk_reference, lse_rows, lse_rows_reference, similarity_topk,
                           similarity_topk_reference, sinkhorn, triton_usable)

ROOT = Path(__file__).resolve().parents[1]
TOL = {torch.float32: 1e-5, torch.float16: 1e-3, torch.bfloat16: 1e-3}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def topk_mismatch(Q, B, k, D, I, tol, **kw):
    """'' when (D, I) equals the dense reference up to ties, else a description."""
    rD, rI = similarity_topk_reference(Q, B, k, **kw)
    if not torch.equal(I < 0, rI < 0):
        return "padding differs"
    fin = torch.isfinite(rD)
    if not torch.equal(torch.isfinite(D), fin):
        return "infinite entries differ"
    scale = rD[fin].abs().max().clamp_min(1) if fin.any() else 1
    err = (D[fin] - rD[fin]).abs().max() / scale if fin.any() else 0
    if err > tol:
        return f"scores differ by {float(err):.2e} (relative)"
    # a different index is fine only when its true score equals the reference's at that rank
    full_D, rank_of = similarity_topk_reference(Q, B, B.shape[0], **kw)
    for r, c in (I != rI).nonzero().tolist():
        true = full_D[r, (rank_of[r] == I[r, c]).nonzero()[0, 0]]
        if abs(float(true) - float(rD[r, c])) > tol * float(scale):
            return f"row {r} rank {c}: index {int(I[r, c])} is not tied with {int(rI[r, c])}"
    return ""


def exact_mismatch(Q, B, k, D, I, **kw):
    rD, rI = similarity_topk_reference(Q, B, k, **kw)
    if not torch.equal(I, rI):
        return f"indices differ in {int((I != rI).sum())} places"
    return "" if torch.allclose(D, rD, rtol=0, atol=1e-4, equal_nan=False) or torch.equal(D, rD) else "scores differ"


# ---------------------------------------------------------------- interpreter checks (subprocess)
def _interp_cases():
    """Run every Triton kernel under the interpreter; returns {name: '' or failure}."""
    out = {"interpreter_active": "" if triton_usable("cpu") else "Triton is not running the kernels"}
    g = torch.Generator().manual_seed(0)
    rnd = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    for dt, metric in [(torch.float32, "ip"), (torch.float16, "cosine"), (torch.bfloat16, "l2")]:
        Q, B = rnd(13, 20).to(dt), rnd(150, 20).to(dt)  # ragged: no size is a tile multiple
        D, I = similarity_topk(Q, B, 10, metric=metric, backend="triton")
        out[f"topk_{metric}_{str(dt)[6:]}"] = topk_mismatch(Q.float(), B.float(), 10, D, I, TOL[dt], metric=metric)
    Q, B = rnd(9, 5).to(torch.bfloat16), rnd(7, 5).to(torch.bfloat16)
    D, I = similarity_topk(Q, B, 12, metric="ip", backend="triton")
    out["topk_k_gt_n"] = topk_mismatch(Q.float(), B.float(), 12, D, I, 1e-3, metric="ip")
    Q = torch.randint(-2, 3, (16, 6), generator=g).float()
    B = torch.randint(-2, 3, (90, 6), generator=g).float()
    B[60:] = B[:30]  # duplicated rows: exact ties that must go to the lower index
    for metric in ("ip", "l2"):
        D, I = similarity_topk(Q, B, 12, metric=metric, backend="triton")
        out[f"ties_{metric}"] = exact_mismatch(Q, B, 12, D, I, metric=metric)
    D, I = similarity_topk(B[:40], B[:40], 8, metric="ip", exclude_self=True, backend="triton")
    out["exclude_self"] = exact_mismatch(B[:40], B[:40], 8, D, I, metric="ip", exclude_self=True)
    from align.compute.cuda_kernels.topk import fused_topk  # lazy: imports triton (optional), in the subprocess only
    Q, B = rnd(10, 12), rnd(300, 12)
    D, I = fused_topk(Q, B, 20, n_split=3)
    out["k20_split3"] = topk_mismatch(Q, B, 20, D, I, 1e-5, metric="ip")
    Q, B = rnd(5, 8), rnd(200, 8)
    D, I = fused_topk(Q, B, 33)  # k > 32: bitonic top-k merges of whole tiles
    out["k33_tile_merge"] = topk_mismatch(Q, B, 33, D, I, 1e-5, metric="ip")
    Q, B = rnd(12, 8), rnd(70, 8)
    D, I = csls_topk(Q, B, 4, csls_k=3, backend="triton")
    rD, rI = csls_topk_reference(Q, B, 4, csls_k=3)
    out["csls"] = "" if torch.equal(I, rI) and torch.allclose(D, rD, atol=1e-5) else "csls differs"
    for dt, cost in [(torch.float32, "sqeuclidean"), (torch.bfloat16, "cosine")]:
        X, Y, V, pot = rnd(19, 10).to(dt), rnd(100, 10).to(dt), rnd(100, 3), rnd(100)
        got = lse_rows(X, Y, pot, 0.7, cost=cost, V=V, with_cost=True, backend="triton")
        ref = lse_rows_reference(X.float(), Y.float(), pot, 0.7, cost=cost, V=V)
        bad = [key for key in ("lse", "cost_rows", "v_rows")
               if not torch.allclose(got[key].double(), ref[key], rtol=1e-5, atol=1e-5)]
        out[f"lse_{cost}_{str(dt)[6:]}"] = ", ".join(bad)
    X, Y = rnd(30, 6), rnd(25, 6)
    r_t = sinkhorn(None, None, X, Y, 1.0, method="online", max_iter=4, tol=0, backend="triton")
    r_c = sinkhorn(None, None, X, Y, 1.0, method="online", max_iter=4, tol=0, backend="torch")
    ok = torch.allclose(r_t.f, r_c.f, atol=1e-5) and abs(r_t.cost - r_c.cost) < 1e-5
    out["sinkhorn_online"] = "" if ok else "potentials differ"
    return out


@pytest.fixture(scope="module")
def interp_results():
    pytest.importorskip("triton")
    env = dict(os.environ, TRITON_INTERPRET="1", PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


CASES = ["interpreter_active", "topk_ip_float32", "topk_cosine_float16", "topk_l2_bfloat16", "topk_k_gt_n", "ties_ip", "ties_l2",
         "exclude_self", "k20_split3", "k33_tile_merge", "csls", "lse_sqeuclidean_float32", "lse_cosine_bfloat16", "sinkhorn_online"]


@pytest.mark.parametrize("case", CASES)
def test_triton_interpreter(interp_results, case):
    assert interp_results[case] == "", interp_results[case]


# ---------------------------------------------------------------- torch paths (this process)
@pytest.mark.parametrize("metric", ["ip", "cosine", "l2"])
def test_torch_topk_matches_reference(metric):
    g = torch.Generator().manual_seed(1)
    Q, B = torch.randn(40, 16, generator=g), torch.randn(3000, 16, generator=g)
    D, I = similarity_topk(Q, B, 7, metric=metric, backend="torch", memory_mb=1)
    assert topk_mismatch(Q, B, 7, D, I, 1e-5, metric=metric) == ""


def test_lse_rows_blocked_equals_dense():
    g = torch.Generator().manual_seed(2)
    X, Y, V = torch.randn(300, 7, generator=g).double(), torch.randn(200, 7, generator=g).double(), torch.randn(200, 2).double()
    pot = torch.randn(200, generator=g).double()
    for cost in ("sqeuclidean", "cosine"):
        got = lse_rows(X, Y, pot, 0.3, cost=cost, V=V, with_cost=True, backend="torch", memory_mb=0)
        ref = lse_rows_reference(X, Y, pot, 0.3, cost=cost, V=V)
        for key in ("lse", "cost_rows", "v_rows"):
            assert torch.allclose(got[key], ref[key], rtol=1e-12, atol=1e-12), (cost, key)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dt", [torch.float32, torch.float16, torch.bfloat16], ids=str)
def test_cuda_topk(dt):
    pytest.importorskip("triton")
    g = torch.Generator().manual_seed(3)
    Q, B = torch.randn(300, 96, generator=g), torch.randn(5000, 96, generator=g)
    for metric in ("ip", "cosine", "l2"):
        D, I = similarity_topk(Q.to("cuda", dt), B.to("cuda", dt), 16, metric=metric, backend="triton")
        assert topk_mismatch(Q.to(dt).float(), B.to(dt).float(), 16, D.cpu(), I.cpu(), TOL[dt], metric=metric) == ""
    D, I = similarity_topk(Q[:50].cuda(), B.cuda(), 200, backend="triton")  # large k
    assert topk_mismatch(Q[:50], B, 200, D.cpu(), I.cpu(), 1e-5) == ""


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_lse_and_ties():
    pytest.importorskip("triton")
    g = torch.Generator().manual_seed(4)
    X, Y, V, pot = torch.randn(500, 64, generator=g), torch.randn(700, 64, generator=g), torch.randn(700, 5), torch.randn(700)
    for cost in ("sqeuclidean", "cosine"):
        got = lse_rows(X.cuda(), Y.cuda(), pot.cuda(), 0.5, cost=cost, V=V.cuda(), with_cost=True, backend="triton")
        ref = lse_rows_reference(X, Y, pot, 0.5, cost=cost, V=V)
        for key in ("lse", "cost_rows", "v_rows"):
            assert torch.allclose(got[key].cpu().double(), ref[key], rtol=1e-4, atol=1e-4), (cost, key)
    Q = torch.randint(-2, 3, (64, 8), generator=g).float()
    B = torch.randint(-2, 3, (4000, 8), generator=g).float()
    B[2000:] = B[:2000]
    D, I = similarity_topk(Q.cuda(), B.cuda(), 32, backend="triton")
    assert exact_mismatch(Q, B, 32, D.cpu(), I.cpu()) == ""


if __name__ == "__main__":  # the interpreter subprocess
    assert os.environ.get("TRITON_INTERPRET") == "1"
    print(json.dumps(_interp_cases()))
