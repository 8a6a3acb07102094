"""Structure-only initialisations: a first map W0 (d_x, d_y) from two unpaired, preprocessed sets.

Each function takes Xp (n_x, d_x), Yp (n_y, d_y) float32 (centred, preprocessed) and a NumPy
Generator and returns ``(W0, info)``. None of them sees a pair.

- :func:`sorted_similarity_init` — VecMap (Artetxe, Labaka & Agirre, 2018, arXiv 1805.06297): the
  rows of ``sqrt(X Xᵀ)`` sorted are rotation invariant, so they can be compared across spaces.
- :func:`kmeans_qap_init` — k-means centroids of each set matched by quadratic assignment of their
  Gram matrices (scipy FAQ, Vogelstein et al., 2015), as in mini-vec2vec; Procrustes on centroids.
- :func:`relative_init` — relative representations (Moschella et al., 2022, arXiv 2209.15430):
  each point becomes its cosine profile over matched anchors (the k-means centroids above), points
  are matched across sets in that shared, coordinate-free space, Procrustes on the matches.
- :func:`principal_axes_init` — principal axes matched by eigenvalue and by the shape of each
  axis's marginal distribution (sign from the quantile functions).
- :func:`ica_init` — independent components (FastICA, Hyvärinen & Oja, 2000) matched by their
  marginal distributions: identifiable whenever the sources are non-Gaussian and distinct.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment, quadratic_assignment
from sklearn.cluster import KMeans
from sklearn.decomposition import FastICA

from ..supervised.procrustes import procrustes
from ._base import sample_rows
from .anchors import relative_pairs
from .dictionary import induce_dictionary
from .selection import unit_rows as _unit


def _ucu(A):
    """unit → centre → unit (VecMap's normalisation)."""
    A = _unit(A)
    return _unit(A - A.mean(0))


def sorted_similarity_init(Xp, Yp, rng, *, n_sample: int = 4000, csls_k: int = 10):
    """Pseudo-dictionary from sorted ``sqrt(K)`` rows on equal-size samples → Procrustes.

    Parameters
    ----------
    Xp : ndarray (n_x, d_x)
    Yp : ndarray (n_y, d_y)
        Preprocessed float32 sets (see the module docstring).
    rng : numpy.random.Generator
    n_sample : int, default 4000
        Rows of each sample.
    csls_k : int, default 10

    Returns
    -------
    W0 : ndarray (d_x, d_y)
    info : dict
        Diagnostics (sizes, counts).
    """
    m = min(n_sample, len(Xp), len(Yp))
    ix, iy = sample_rows(len(Xp), m, rng), sample_rows(len(Yp), m, rng)
    sigs = []
    for A in (Xp[ix], Yp[iy]):
        U, s, _ = np.linalg.svd(_unit(A).astype(np.float64), full_matrices=False)
        S = (U * s) @ U.T  # sqrt of the Gram matrix: same for A and A Q with Q orthogonal
        S.sort(axis=1)
        sigs.append(_ucu(S).astype(np.float32))
    pairs, scores = induce_dictionary(sigs[0], sigs[1], csls_k=csls_k, mode="union")
    W = procrustes(Xp[ix[pairs[:, 0]]], Yp[iy[pairs[:, 1]]])
    return W, {"sample": int(m), "n_pairs": int(len(pairs))}


def _kmeans(A, k, rng):
    km = KMeans(n_clusters=k, n_init=2, max_iter=100, random_state=int(rng.integers(2 ** 31)))
    labels = km.fit_predict(_unit(A))
    C = np.stack([A[labels == c].mean(0) if (labels == c).any() else np.zeros(A.shape[1]) for c in range(k)])
    return C, np.bincount(labels, minlength=k), labels


def match_centroids(Cx, Cy, rng, *, n_restarts: int = 10):
    """Permutation ``perm`` with Cx[i] ↔ Cy[perm[i]] maximising Gram agreement (QAP, FAQ restarts).

    Parameters
    ----------
    Cx, Cy : ndarray (k, d_x), (k, d_y)
        Centroids.
    rng : numpy.random.Generator
    n_restarts : int, default 10

    Returns
    -------
    perm : ndarray (k,) int
    value : float
        The QAP objective.
    """
    A, B = _unit(Cx) @ _unit(Cx).T, _unit(Cy) @ _unit(Cy).T
    np.fill_diagonal(A, 0)
    np.fill_diagonal(B, 0)
    best, best_val = None, -np.inf
    for r in range(n_restarts):
        res = quadratic_assignment(A, B, method="faq", options={
            "maximize": True, "P0": "barycenter" if r == 0 else "randomized",
            "rng": np.random.default_rng(int(rng.integers(2 ** 31)))})
        if res.fun > best_val:
            best, best_val = res.col_ind, res.fun
    return np.asarray(best), float(best_val)


def kmeans_qap_init(Xp, Yp, rng, *, n_clusters: int = 64, n_restarts: int = 10):
    """k-means centroids of each set, matched by QAP → Procrustes on the matched centroids.

    Parameters
    ----------
    Xp : ndarray (n_x, d_x)
    Yp : ndarray (n_y, d_y)
        Preprocessed float32 sets (see the module docstring).
    rng : numpy.random.Generator
    n_clusters : int, default 64
    n_restarts : int, default 10
        QAP restarts.

    Returns
    -------
    W0 : ndarray (d_x, d_y)
    info : dict
        Diagnostics (sizes, counts).
    """
    k = min(n_clusters, len(Xp), len(Yp))
    Cx, _, _ = _kmeans(Xp, k, rng)
    Cy, _, _ = _kmeans(Yp, k, rng)
    perm, val = match_centroids(Cx, Cy, rng, n_restarts=n_restarts)
    return procrustes(Cx, Cy[perm]), {"n_clusters": int(k), "qap": val, "perm": perm, "Cx": Cx, "Cy": Cy}


def relative_init(Xp, Yp, rng, *, n_clusters: int = 64, n_restarts: int = 10, n_sample: int = 10000,
                  csls_k: int = 10):
    """Matched k-means centroids as anchors; points matched by their cosine profiles to the anchors.

    Parameters
    ----------
    Xp : ndarray (n_x, d_x)
    Yp : ndarray (n_y, d_y)
        Preprocessed float32 sets (see the module docstring).
    rng : numpy.random.Generator
    n_clusters, n_restarts : int
        Of the anchors (:func:`kmeans_qap_init`).
    n_sample : int, default 10000
    csls_k : int, default 10

    Returns
    -------
    W0 : ndarray (d_x, d_y)
    info : dict
        Diagnostics (sizes, counts).
    """
    _, info = kmeans_qap_init(Xp, Yp, rng, n_clusters=n_clusters, n_restarts=n_restarts)
    ix, iy = sample_rows(len(Xp), n_sample, rng), sample_rows(len(Yp), n_sample, rng)
    pairs = relative_pairs(Xp[ix], Yp[iy], info["Cx"], info["Cy"][info["perm"]], csls_k=csls_k)
    W = procrustes(Xp[ix[pairs[:, 0]]], Yp[iy[pairs[:, 1]]])
    return W, {"n_clusters": info["n_clusters"], "qap": info["qap"], "n_pairs": int(len(pairs))}


def _quantiles(v, grid):
    v = (v - v.mean()) / max(v.std(), 1e-12)
    return np.quantile(v, grid)


def _match_axes(Px, Py, extra_cost=None):
    """Match columns of Px (n_x, r) and Py (n_y, r) by marginal shape; returns (perm, signs)."""
    grid = np.linspace(0.01, 0.99, 99)
    Qx = np.stack([_quantiles(Px[:, a], grid) for a in range(Px.shape[1])])
    Qy = np.stack([_quantiles(Py[:, b], grid) for b in range(Py.shape[1])])
    same = ((Qx[:, None, :] - Qy[None, :, :]) ** 2).mean(2)
    flip = ((Qx[:, None, :] + Qy[None, :, ::-1]) ** 2).mean(2)
    cost = np.minimum(same, flip) + (0 if extra_cost is None else extra_cost)
    r, c = linear_sum_assignment(cost)
    signs = np.where(same[r, c] <= flip[r, c], 1.0, -1.0)
    return c, signs


def principal_axes_init(Xp, Yp, rng, *, n_axes: int = 64, eig_weight: float = 1.0):
    """Top principal axes matched by log-eigenvalue and marginal shape (signs from quantiles).

    Parameters
    ----------
    Xp : ndarray (n_x, d_x)
    Yp : ndarray (n_y, d_y)
        Preprocessed float32 sets (see the module docstring).
    rng : numpy.random.Generator
    n_axes : int, default 64
    eig_weight : float, default 1.0
        Weight of the log-eigenvalue distance in the matching cost.

    Returns
    -------
    W0 : ndarray (d_x, d_y)
    info : dict
        Diagnostics (sizes, counts).
    """
    r = min(n_axes, Xp.shape[1], Yp.shape[1])
    axes, lams = [], []
    for A in (Xp, Yp):
        A = A.astype(np.float64) - A.mean(0)
        lam, V = np.linalg.eigh(A.T @ A / len(A))
        axes.append(V[:, ::-1][:, :r])
        lams.append(np.log(np.maximum(lam[::-1][:r], 1e-12) / max(lam[::-1][0], 1e-12)))
    Px, Py = Xp @ axes[0], Yp @ axes[1]
    eig = eig_weight * np.abs(lams[0][:, None] - lams[1][None, :])
    perm, signs = _match_axes(Px, Py, eig)
    W = (axes[0] * signs) @ axes[1][:, perm].T
    return W, {"n_axes": int(r)}  # rank r: refinement completes it


def ica_init(Xp, Yp, rng, *, n_components: int = 64, n_sample: int = 20000):
    """FastICA sources of each set matched by marginal shape → a linear map → Procrustes on its NN pairs.

    Parameters
    ----------
    Xp : ndarray (n_x, d_x)
    Yp : ndarray (n_y, d_y)
        Preprocessed float32 sets (see the module docstring).
    rng : numpy.random.Generator
    n_components : int, default 64
    n_sample : int, default 20000
        Rows used to fit each FastICA.

    Returns
    -------
    W0 : ndarray (d_x, d_y)
    info : dict
        Diagnostics (sizes, counts).
    """
    r = min(n_components, Xp.shape[1], Yp.shape[1])
    maps = []
    for A in (Xp, Yp):
        S = A[sample_rows(len(A), n_sample, rng)].astype(np.float64)
        ica = FastICA(n_components=r, whiten="unit-variance", max_iter=400, tol=1e-4,
                      random_state=int(rng.integers(2 ** 31)))
        ica.fit(S)
        maps.append(ica)
    Sx, Sy = maps[0].transform(Xp.astype(np.float64)), maps[1].transform(Yp.astype(np.float64))
    perm, signs = _match_axes(Sx, Sy)
    # x → sources of x → matched, sign-fixed sources of y → back into y's space through y's mixing
    Sxy = np.zeros((len(Xp), r))
    Sxy[:, perm] = Sx * signs
    mapped = (Sxy @ maps[1].mixing_.T + maps[1].mean_).astype(np.float32)
    pairs, _ = induce_dictionary(mapped, Yp, csls_k=10, mode="mutual")
    W = procrustes(Xp[pairs[:, 0]], Yp[pairs[:, 1]]) if len(pairs) >= 2 else np.eye(Xp.shape[1], Yp.shape[1])
    return W, {"n_components": int(r), "n_pairs": int(len(pairs))}


INITS = {"sorted_sim": sorted_similarity_init, "kmeans": kmeans_qap_init, "relative": relative_init,
         "principal_axes": principal_axes_init, "ica": ica_init}
