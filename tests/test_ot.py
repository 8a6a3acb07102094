"""align.compute.sinkhorn against POT's sinkhorn_log (float64, tight tolerances) and its own plan forms;
align.compute.sinkhorn_matrix against POT's sinkhorn."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from align.compute import sinkhorn, sinkhorn_matrix
from align.compute import sinkhorn_iterations as S
from align.exceptions import AlignError, ShapeError, ValidationError

ot = pytest.importorskip("ot")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def problem(cost, n=50, m=40, d=6, seed=0, zero=False):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, d)), rng.normal(size=(m, d)) + 0.4
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    if zero:
        a[3] = 0.0
    a, b = a / a.sum(), b / b.sum()
    if cost == "sqeuclidean":
        M = ot.dist(X, Y)
    else:
        nx, ny = np.linalg.norm(X, axis=1, keepdims=True), np.linalg.norm(Y, axis=1, keepdims=True)
        M = 1 - (X / nx) @ (Y / ny).T
    return a, b, X, Y, M


@pytest.mark.parametrize("method", ["log", "online", "kernel"])
@pytest.mark.parametrize("cost", ["sqeuclidean", "cosine"])
@pytest.mark.parametrize("rel_reg", [0.05, 0.005])
def test_matches_pot_sinkhorn_log(method, cost, rel_reg):
    a, b, X, Y, M = problem(cost)
    reg = rel_reg * M.max()
    P, log = ot.bregman.sinkhorn_log(a, b, M, reg, numItermax=300, stopThr=1e-9, log=True, warn=False)
    r = sinkhorn(a, b, X, Y, reg, cost=cost, method=method, max_iter=300)
    assert r.method == method and r.n_iter == log["niter"] + 1
    np.testing.assert_allclose(r.plan(), P, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(r.f, reg * log["log_u"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(r.g, reg * log["log_v"], rtol=1e-8, atol=1e-10)
    assert r.cost == pytest.approx(float((P * M).sum()), rel=1e-9)


def test_zero_weight_falls_back_from_kernel_domain():
    a, b, X, Y, M = problem("sqeuclidean", zero=True)
    P = ot.bregman.sinkhorn_log(a, b, M, 0.5, stopThr=1e-9)
    r = sinkhorn(a, b, X, Y, 0.5, method="kernel")
    assert r.method == "log" and r.converged
    np.testing.assert_allclose(r.plan(), P, atol=1e-12)


def test_plan_forms_agree():
    a, b, X, Y, _ = problem("sqeuclidean", n=70, m=55)
    r = sinkhorn(a, b, X, Y, 0.3, method="online")
    P = r.plan()
    np.testing.assert_allclose(np.vstack([blk for _, _, blk in r.plan_blocks(rows=16)]), P, rtol=1e-12)
    vals, cols = r.plan_topk(4)
    np.testing.assert_allclose(vals, -np.sort(-P, axis=1)[:, :4], rtol=1e-10)
    np.testing.assert_allclose(P[np.arange(70)[:, None], cols], vals, rtol=1e-12)
    V = np.random.default_rng(1).normal(size=(55, 3))
    np.testing.assert_allclose(r.apply(V), P @ V, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(r.barycentric(), (P @ Y) / P.sum(1, keepdims=True), rtol=1e-9)
    np.testing.assert_allclose(P.sum(1), a, rtol=1e-10)
    np.testing.assert_allclose(P.sum(0), b, atol=1e-9)


def test_torch_in_torch_out_and_float32():
    a, b, X, Y, M = problem("cosine")
    r = sinkhorn(torch.tensor(a), torch.tensor(b), torch.tensor(X, dtype=torch.float32),
                 torch.tensor(Y, dtype=torch.float32), 0.05, cost="cosine")
    assert isinstance(r.f, torch.Tensor) and r.f.dtype == torch.float32 and r.method == "kernel"
    P = ot.bregman.sinkhorn_log(a, b, M, 0.05, stopThr=1e-9)
    np.testing.assert_allclose(r.plan().numpy(), P, atol=2e-5)
    assert isinstance(r.plan_topk(2)[0], torch.Tensor)


def test_auto_uses_online_when_matrix_does_not_fit():
    a, b, X, Y, _ = problem("sqeuclidean")
    r = sinkhorn(None, None, X, Y, 0.5, memory_mb=0)
    full = sinkhorn(None, None, X, Y, 0.5)
    assert r.method == "online" and full.method == "kernel"
    np.testing.assert_allclose(r.f, full.f, rtol=1e-8, atol=1e-10)


def test_not_converged_is_reported():
    a, b, X, Y, _ = problem("sqeuclidean")
    r = sinkhorn(a, b, X, Y, 0.01, max_iter=3)
    assert not r.converged and r.n_iter == 3 and r.err > 0


@pytest.mark.parametrize("change, err", [
    (dict(reg=0.0), ValidationError), (dict(reg=float("nan")), ValidationError),
    (dict(cost="manhattan"), ValidationError), (dict(method="exact"), ValidationError),
    (dict(max_iter=0), ValidationError), (dict(a=np.ones(3) / 3), ShapeError),
    (dict(a=-np.ones(50) / 50), ValidationError), (dict(b=np.full(40, 0.5)), ValidationError),
    (dict(nan=True), ValidationError), (dict(bad_d=True), ShapeError), (dict(one_d=True), ShapeError),
    (dict(mixed=True), ValidationError),
])
def test_bad_inputs(change, err):
    a, b, X, Y, _ = problem("sqeuclidean")
    kw = dict(a=a, b=b, X=X, Y=Y, reg=0.1)
    if change.pop("nan", False):
        X[0, 0] = np.nan
    if change.pop("bad_d", False):
        kw["Y"] = Y[:, :3]
    if change.pop("one_d", False):
        kw["X"] = X[:, 0]
    if change.pop("mixed", False):
        kw["Y"] = torch.tensor(Y)
    kw.update(change)
    with pytest.raises(err) as info:
        sinkhorn(kw.pop("a"), kw.pop("b"), kw.pop("X"), kw.pop("Y"), kw.pop("reg"), **kw)
    assert isinstance(info.value, AlignError)


def test_apply_rejects_wrong_rows():
    a, b, X, Y, _ = problem("sqeuclidean")
    with pytest.raises(ShapeError):
        sinkhorn(a, b, X, Y, 0.2).apply(np.ones((7, 2)))


def test_kernel_domain_absorption_keeps_pot_iterates():
    a, b, X, Y, M = problem("sqeuclidean")
    reg = 0.01 * M.max()
    P, log = ot.bregman.sinkhorn_log(a, b, M, reg, numItermax=200, stopThr=1e-9, log=True, warn=False)
    t = lambda z: torch.tensor(z)  # noqa: E731
    u, v, n_iter, _ = S.kernel_iterations(lambda: S.dense_cost(t(X), t(Y), "sqeuclidean", torch.float64), reg,
                                          torch.log(t(a)), torch.log(t(b)), 200, 1e-9, 10, torch.float64,
                                          tau=10.0)  # absorbs often
    np.testing.assert_allclose(reg * u.numpy(), reg * log["log_u"], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(reg * v.numpy(), reg * log["log_v"], rtol=1e-8, atol=1e-10)


# ---------------------------------------------------------------- sinkhorn_matrix (a given cost matrix)
@pytest.mark.parametrize("cost", ["sqeuclidean", "cosine"])
@pytest.mark.parametrize("method", ["auto", "kernel", "log"])
def test_sinkhorn_matrix_matches_pot_sinkhorn(cost, method):
    a, b, _, _, M = problem(cost, n=45, m=35)
    reg = 0.05 * M.max()
    P = sinkhorn_matrix(a, b, M, reg, method=method)
    ref = ot.sinkhorn(a, b, M, reg)
    assert isinstance(P, np.ndarray) and P.dtype == np.float64 and P.shape == (45, 35)
    np.testing.assert_allclose(P, ref, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(P.sum(1), a, rtol=1e-8)


def test_sinkhorn_matrix_small_reg_uses_log_domain_like_pot_sinkhorn_log():
    a, b, _, _, M = problem("sqeuclidean")
    reg = 1e-3 * M.max()  # exp(-M/reg) underflows float64: POT's plain sinkhorn would fail here
    P = sinkhorn_matrix(a, b, M, reg, max_iter=300)
    ref = ot.sinkhorn(a, b, M, reg, method="sinkhorn_log", numItermax=300, stopThr=1e-9, warn=False)
    np.testing.assert_allclose(P, ref, rtol=1e-8, atol=1e-14)
    forced = sinkhorn_matrix(a, b, M, reg, max_iter=300, method="log")
    np.testing.assert_array_equal(P, forced)


def test_sinkhorn_matrix_equals_point_cloud_solver_and_accepts_lists_and_tensors():
    a, b, X, Y, M = problem("sqeuclidean", zero=True)  # a zero weight: kernel domain falls back
    r = sinkhorn(a, b, X, Y, 0.5, method="log")
    np.testing.assert_allclose(sinkhorn_matrix(a.tolist(), b, M.tolist(), 0.5), r.plan(), rtol=1e-10, atol=1e-15)
    Pt = sinkhorn_matrix(torch.tensor(a), torch.tensor(b), torch.tensor(M, dtype=torch.float32), 0.5)
    assert isinstance(Pt, torch.Tensor) and Pt.dtype == torch.float32
    np.testing.assert_allclose(Pt.numpy(), r.plan(), atol=1e-6)
    U = sinkhorn_matrix(None, None, M, 0.5)
    np.testing.assert_allclose(U.sum(1), np.full(50, 1 / 50), rtol=1e-8)
    M0 = M.copy()
    sinkhorn_matrix(a, b, M, 0.5)
    np.testing.assert_array_equal(M, M0)  # the caller's matrix is never modified


@pytest.mark.parametrize("change, err", [
    (dict(reg=0.0), ValidationError), (dict(reg=-1.0), ValidationError), (dict(reg=float("inf")), ValidationError),
    (dict(method="online"), ValidationError), (dict(max_iter=0), ValidationError), (dict(tol=-1.0), ValidationError),
    (dict(a=np.ones(3) / 3), ShapeError), (dict(b=np.ones((40, 1)) / 40), ShapeError),
    (dict(a=np.r_[-0.02, np.full(49, 1.02 / 49)]), ValidationError), (dict(b=np.full(40, np.nan)), ValidationError),
    (dict(b=np.zeros(40)), ValidationError), (dict(b=np.full(40, 0.5)), ValidationError),
    (dict(M=np.ones(50)), ShapeError), (dict(M=np.ones((50, 0))), ShapeError), (dict(nan=True), ValidationError),
])
def test_sinkhorn_matrix_bad_inputs(change, err):
    a, b, _, _, M = problem("sqeuclidean")
    kw = dict(a=a, b=b, M=M, reg=0.1)
    if change.pop("nan", False):
        M[0, 0] = np.nan
    kw.update(change)
    with pytest.raises(err) as info:
        sinkhorn_matrix(kw.pop("a"), kw.pop("b"), kw.pop("M"), kw.pop("reg"), **kw)
    assert isinstance(info.value, AlignError)
