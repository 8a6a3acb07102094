"""Naive O(n^2) transcriptions of the similarity definitions, used only as test oracles.

They follow the textbook / reference formulas literally (n x n kernels, centring matrix H, dense
masks) in float64, so the fast implementations in ``align.metrics`` can be checked against them.
"""
import numpy as np
from scipy.stats import spearmanr


def knn_lists(F, k):
    S = F @ F.T
    np.fill_diagonal(S, -np.inf)
    # stable sort on -S: ties go to the lower index, as in align.search.knn
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


def masks(I, n):
    M = np.zeros((n, n))
    M[np.arange(n)[:, None], I] = 1.0
    return M


def mutual_knn(X, Y, k):
    n = X.shape[0]
    return float((masks(knn_lists(X, k), n) * masks(knn_lists(Y, k), n)).sum(1).mean() / k)


def cycle_knn(X, Y, k):
    IA, IB = knn_lists(X, k), knn_lists(Y, k)
    n = X.shape[0]
    return float((IA[IB] == np.arange(n)[:, None, None]).reshape(n, -1).any(1).mean())


def hsic_biased(K, L):
    n = K.shape[0]
    H = np.eye(n) - 1.0 / n
    return np.trace(K @ H @ L @ H)


def hsic_unbiased(K, L):
    m = K.shape[0]
    Kt, Lt = K.copy(), L.copy()
    np.fill_diagonal(Kt, 0)
    np.fill_diagonal(Lt, 0)
    v = (Kt * Lt.T).sum() + Kt.sum() * Lt.sum() / ((m - 1) * (m - 2)) - 2 * (Kt @ Lt).sum() / (m - 2)
    return v / (m * (m - 3))


def cka(X, Y, unbiased=False):
    K, L = X @ X.T, Y @ Y.T
    h = hsic_unbiased if unbiased else hsic_biased
    return float(h(K, L) / (np.sqrt(h(K, K) * h(L, L)) + 1e-6))


def cknna(X, Y, k):
    n = X.shape[0]
    K, L = X @ X.T, Y @ Y.T

    def sim(K, L):
        mk, ml = masks(knn_lists_from_kernel(K, k), n), masks(knn_lists_from_kernel(L, k), n)
        m = mk * ml
        return hsic_unbiased(m * K, m * L)

    return float(sim(K, L) / (np.sqrt(sim(K, K) * sim(L, L)) + 1e-6))


def knn_lists_from_kernel(K, k):
    S = K.copy()
    np.fill_diagonal(S, -np.inf)
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


def svcca(X, Y, dim):
    def top(A):
        A = (A - A.mean(0)) / (A.std(0, ddof=1) + 1e-8)
        U, _, _ = np.linalg.svd(A, full_matrices=False)
        return U[:, :dim]

    U1, U2 = top(X), top(Y)
    # textbook CCA: singular values of S11^-1/2 S12 S22^-1/2 on centred data
    U1, U2 = U1 - U1.mean(0), U2 - U2.mean(0)
    S11, S22, S12 = U1.T @ U1, U2.T @ U2, U1.T @ U2

    def inv_sqrt(S):
        w, V = np.linalg.eigh(S)
        return V @ np.diag(w ** -0.5) @ V.T

    return float(np.linalg.svd(inv_sqrt(S11) @ S12 @ inv_sqrt(S22), compute_uv=False).mean())


def rsa(X, Y):
    def cos(A):
        A = A / np.linalg.norm(A, axis=1, keepdims=True)
        return A @ A.T

    iu = np.triu_indices(X.shape[0], 1)
    return float(spearmanr(cos(X)[iu], cos(Y)[iu]).statistic)
