"""Cross-domain similarity local scaling (CSLS), written once (Conneau et al., 2018, "Word
Translation Without Parallel Data", arXiv 1710.04087).

``CSLS(a, b) = 2 cos(a, b) − r_B(a) − r_A(b)``, where ``r_B(a)`` is the mean cosine of ``a`` to its
``csls_k`` nearest rows of B (:func:`csls_radius`). Refinement, selection, inits and the translation
metrics all use these functions.
"""
from __future__ import annotations

import numpy as np
import torch

from .._topk import knn_blocks
from ..search import knn


def csls_radius(X, Y, csls_k: int = 10) -> np.ndarray:
    """``r_Y(x)``: mean cosine of each row of X to its ``csls_k`` nearest rows of Y, (n_x,) float32."""
    return knn(X, Y, min(int(csls_k), Y.shape[0]), metric="cosine")[0].mean(1).astype(np.float32)


def csls_both(A, B, k: int = 1, *, csls_k: int = 10):
    """CSLS top-k in both directions with the neighbourhood radii computed once (4 kNN passes).

    A: (n_a, d), B: (n_b, d) float32. Returns ``(Df, If)`` (n_a, k) and ``(Db, Ib)`` (n_b, k).
    """
    A = np.ascontiguousarray(A, dtype=np.float32)
    B = np.ascontiguousarray(B, dtype=np.float32)
    r_a = csls_radius(A, B, csls_k)
    r_b = csls_radius(B, A, csls_k)
    At, Bt = torch.from_numpy(A), torch.from_numpy(B)
    Df, If = knn_blocks(At, Bt, min(k, B.shape[0]), metric="cosine", column_bias=-torch.from_numpy(r_b), scale=2.0)
    Db, Ib = knn_blocks(Bt, At, min(k, A.shape[0]), metric="cosine", column_bias=-torch.from_numpy(r_a), scale=2.0)
    return ((Df.numpy() - r_a[:, None]), If.numpy()), ((Db.numpy() - r_b[:, None]), Ib.numpy())
