"""Exact kNN and CSLS search: agreement with brute force, ties, padding, self-exclusion, errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from align.exceptions import AlignError, ShapeError, ValidationError
from align.compute import (csls_knn, csls_topk_reference, faiss_available, knn, knn_blocks, similarity_topk_reference,
                           tile_topk, topk_lowest_index)

BACKENDS = ["torch", "triton", "auto"] + (["faiss"] if faiss_available() else [])


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def brute(Q, B, k, metric, exclude_self=False):
    D, I = similarity_topk_reference(torch.as_tensor(Q), torch.as_tensor(B), k, metric=metric,
                                     exclude_self=exclude_self)
    return D.numpy(), I.numpy()


def assert_same_up_to_ties(D, I, rD, rI, tol=1e-4):
    np.testing.assert_allclose(D, rD, rtol=tol, atol=tol)
    # where indices differ, the scores must be tied (already checked equal above)
    assert (I == rI).mean() > 0.99


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(60, 24)).astype(np.float32), rng.normal(size=(2500, 24)).astype(np.float32)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("metric", ["cosine", "ip", "l2"])
def test_knn_matches_brute_force(data, backend, metric):
    Q, B = data
    D, I = knn(Q, B, 9, metric=metric, backend=backend, memory_mb=1)
    assert D.shape == I.shape == (60, 9) and D.dtype == np.float32 and I.dtype == np.int64
    assert_same_up_to_ties(D, I, *brute(Q, B, 9, metric))


@pytest.mark.parametrize("metric", ["ip", "l2"])
def test_ties_go_to_lower_index(metric):
    rng = np.random.default_rng(1)
    Q = rng.integers(-2, 3, size=(40, 5)).astype(np.float32)
    B = rng.integers(-2, 3, size=(6000, 5)).astype(np.float32)  # wide tiles: grouped selection
    B[3000:] = B[:3000]
    for memory_mb in (256, 1):
        D, I = knn(Q, B, 15, metric=metric, backend="torch", memory_mb=memory_mb)
        rD, rI = brute(Q, B, 15, metric)
        np.testing.assert_array_equal(I, rI)
        np.testing.assert_allclose(D, rD, atol=1e-4)


def test_tile_topk_exact_with_straddling_group_ties():
    g = torch.Generator().manual_seed(2)
    S = torch.randint(0, 6, (50, 4096), generator=g).float()  # thousands of ties per row
    v, i = tile_topk(S, 12)
    rv, ri = topk_lowest_index(S, 12)
    assert torch.equal(i, ri) and torch.equal(v, rv)
    order = torch.sort(S, dim=1, descending=True, stable=True).indices[:, :12]
    assert torch.equal(i, order)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_k_larger_than_database_pads(backend, metric):
    rng = np.random.default_rng(3)
    Q, B = rng.normal(size=(4, 3)), rng.normal(size=(5, 3))
    D, I = knn(Q, B, 8, metric=metric, backend=backend)
    assert (I[:, 5:] == -1).all() and sorted(I[0, :5]) == list(range(5))
    assert np.isinf(D[:, 5:]).all() and np.isfinite(D[:, :5]).all()
    assert (D[:, 5:] > 0).all() if metric == "l2" else (D[:, 5:] < 0).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_exclude_self(backend):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 8)).astype(np.float32)
    D, I = knn(X, X, 5, metric="l2", backend=backend, exclude_self=True)
    assert not (I == np.arange(300)[:, None]).any()
    assert_same_up_to_ties(D, I, *brute(X, X, 5, "l2", exclude_self=True))
    D, I = knn(X[:4], X[:4], 6, metric="ip", backend=backend, exclude_self=True)
    assert (I[:, 3:] == -1).all()


def test_numpy_and_torch_in_and_out(data):
    Q, B = data
    Dn, In = knn(Q, B, 4, backend="torch")
    Dt, It = knn(torch.from_numpy(Q), torch.from_numpy(B), 4, backend="torch")
    assert isinstance(Dn, np.ndarray) and isinstance(Dt, torch.Tensor) and It.dtype == torch.int64
    np.testing.assert_array_equal(In, It.numpy())
    D64, _ = knn(torch.from_numpy(Q).double(), torch.from_numpy(B).double(), 4, backend="torch")
    np.testing.assert_allclose(D64.numpy(), Dn, rtol=1e-5)
    Db, Ib = knn(torch.from_numpy(Q).bfloat16(), torch.from_numpy(B).bfloat16(), 4, backend="torch", memory_mb=1)
    assert Db.dtype == torch.float32 and Ib.shape == (60, 4)
    Di, _ = knn(Q.astype(np.int64), B.astype(np.int64), 3, metric="ip", backend="torch")
    assert Di.dtype == np.float32


def test_knn_blocks_budget_does_not_change_result(data):
    Q, B = (torch.from_numpy(x) for x in data)
    ref = knn_blocks(Q, B, 11, metric="cosine")
    small = knn_blocks(Q, B, 11, metric="cosine", memory_mb=0)
    assert torch.equal(ref[1], small[1]) and torch.allclose(ref[0], small[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_csls_knn_matches_reference(backend):
    rng = np.random.default_rng(5)
    Q, B = rng.normal(size=(80, 10)).astype(np.float32), rng.normal(size=(300, 10)).astype(np.float32)
    D, I = csls_knn(Q, B, 3, csls_k=5, backend=backend)
    rD, rI = csls_topk_reference(torch.from_numpy(Q), torch.from_numpy(B), 3, csls_k=5)
    np.testing.assert_allclose(D, rD.numpy(), atol=1e-5)
    assert (I == rI.numpy()).mean() > 0.99


@pytest.mark.parametrize("call, kwargs, err", [
    ("knn", dict(k=0), ValidationError),
    ("knn", dict(metric="hamming"), ValidationError),
    ("knn", dict(backend="annoy"), ValidationError),
    ("knn", dict(nan=True), ValidationError),
    ("knn", dict(one_d=True), ShapeError),
    ("knn", dict(bad_d=True), ShapeError),
    ("knn", dict(exclude_self=True), ShapeError),
    ("knn", dict(mixed=True), ValidationError),
    ("knn", dict(empty=True), ShapeError),
    ("csls", dict(csls_k=0), ValidationError),
    ("csls", dict(nan=True), ValidationError),
    ("csls", dict(bad_d=True), ShapeError),
])
def test_bad_inputs(call, kwargs, err):
    rng = np.random.default_rng(6)
    Q, B = rng.normal(size=(5, 4)), rng.normal(size=(7, 4))
    if kwargs.pop("nan", False):
        Q[0, 0] = np.nan
    if kwargs.pop("one_d", False):
        Q = Q[0]
    if kwargs.pop("bad_d", False):
        B = B[:, :3]
    if kwargs.pop("mixed", False):
        B = torch.from_numpy(B)
    if kwargs.pop("empty", False):
        B = B[:0]
    fn = knn if call == "knn" else csls_knn
    with pytest.raises(err) as info:
        fn(Q, B, **kwargs)
    assert isinstance(info.value, AlignError)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("metric", ["cosine", "ip", "l2"])
def test_inputs_are_never_modified(backend, metric):
    # regression: the torch backend once normalised the database in place for cosine, which
    # silently rescaled the caller's array (torch.from_numpy shares memory)
    rng = np.random.default_rng(0)
    Q0, B0 = rng.standard_normal((50, 8)).astype(np.float32), rng.standard_normal((300, 8)).astype(np.float32)
    Q, B = Q0.copy(), B0.copy()
    knn(Q, B, 5, metric=metric, backend=backend)
    csls_knn(Q, B, 1, csls_k=5)
    np.testing.assert_array_equal(Q, Q0)
    np.testing.assert_array_equal(B, B0)
    Qt, Bt = torch.from_numpy(Q), torch.from_numpy(B)
    knn(Qt, Bt, 5, metric=metric, backend=backend)
    np.testing.assert_array_equal(B, B0)
