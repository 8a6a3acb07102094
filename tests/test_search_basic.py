"""Foundation-level checks of align.compute.knn against brute force (see test_search.py for more)."""
import numpy as np
import pytest
import torch

from align import knn
from align.exceptions import ShapeError, ValidationError


def _brute(Q, B, k, metric):
    if metric == "cosine":
        Q = Q / np.linalg.norm(Q, axis=1, keepdims=True)
        B = B / np.linalg.norm(B, axis=1, keepdims=True)
    S = -((Q[:, None] - B[None]) ** 2).sum(-1) if metric == "l2" else Q @ B.T
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


@pytest.mark.parametrize("metric", ["cosine", "ip", "l2"])
@pytest.mark.parametrize("backend", ["torch", "faiss"])
def test_matches_brute_force_with_tiny_memory_budget(metric, backend):
    rng = np.random.default_rng(0)
    Q, B = rng.standard_normal((37, 9)), rng.standard_normal((501, 9))
    D, I = knn(Q, B, 6, metric=metric, backend=backend, memory_mb=1)
    np.testing.assert_array_equal(I, _brute(Q, B, 6, metric))
    assert D.shape == (37, 6) and D.dtype == np.float32 and I.dtype == np.int64


def test_ties_go_to_the_lower_index_and_types_follow_input():
    B = np.repeat(np.eye(3, dtype=np.float32), 4, axis=0)  # rows 0-3, 4-7, 8-11 identical
    D, I = knn(B[[4]], B, 6, metric="ip", backend="torch", memory_mb=1)
    np.testing.assert_array_equal(I[0], [4, 5, 6, 7, 0, 1])
    Dt, It = knn(torch.from_numpy(B), torch.from_numpy(B), 2, exclude_self=True)
    assert isinstance(Dt, torch.Tensor) and It[0].tolist() == [1, 2]


def test_k_larger_than_database_pads_like_faiss():
    D, I = knn(np.eye(2), np.eye(2), 4, backend="torch")
    assert I[0].tolist() == [0, 1, -1, -1] and np.isneginf(D[0, 2:]).all()


@pytest.mark.parametrize("kwargs, err", [
    (dict(queries=np.ones((2, 3)), database=np.ones((4, 2))), ShapeError),
    (dict(queries=np.full((2, 3), np.nan), database=np.ones((4, 3))), ValidationError),
    (dict(queries=np.ones((0, 3)), database=np.ones((4, 3))), ShapeError),
    (dict(queries=np.ones((2, 3)), database=np.ones((4, 3)), k=0), ValidationError),
    (dict(queries=np.ones((2, 3)), database=np.ones((4, 3)), metric="hamming"), ValidationError),
    (dict(queries=np.ones((2, 3)), database=np.ones((4, 3)), backend="annoy"), ValidationError),
    (dict(queries=np.ones((2, 3)), database=np.ones((4, 3)), exclude_self=True), ShapeError),
])
def test_bad_inputs(kwargs, err):
    with pytest.raises(err):
        knn(**{"k": 1, **kwargs})


@pytest.mark.parametrize("scale", [1e20, 1e-25])
def test_extreme_scales_cosine_is_exact_and_ip_l2_are_refused(scale):
    X = np.random.default_rng(0).standard_normal((60, 8)).astype(np.float32)
    D0, I0 = knn(X, X, k=3)
    D, I = knn(X * scale, X * scale, k=3)  # cosine: scale-free, rescaled internally by a power of two
    np.testing.assert_array_equal(I, I0)
    np.testing.assert_allclose(D, D0, atol=1e-6)
    big = X * scale
    for metric in ("ip", "l2"):
        with pytest.raises(ValidationError, match="flow float32"):
            knn(big, big, k=2, metric=metric)
    np.testing.assert_array_equal(big, X * scale)  # the caller's array is untouched
