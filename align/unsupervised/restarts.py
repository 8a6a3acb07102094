"""RestartsAligner: many cheap starts, each briefly refined on a subsample, the best kept by a
label-free criterion, then refined on everything.

Unsupervised alignment is a non-convex search: structure-only initialisations land in a basin of the
refinement that may not hold the true map. Many independent starts (different subsamples, k-means
seeds or random rotations) with a short self-learning refinement each, ranked by a label-free
criterion (:mod:`align.unsupervised.selection`), widen the search at a fixed cost — the "random
restarts" recipe of VecMap's robustness study (Artetxe, Labaka & Agirre, 2018, arXiv 1805.06297)
and of Hoshen & Wolf (2018, arXiv 1801.06126). It helps only when the criterion prefers the true
map over wrong ones; check that with labels (the align_unshared recipe reports it).
"""
from __future__ import annotations

import numpy as np

from .._params import Interval, StrOptions
from ..base import register_aligner
from ..exceptions import ValidationError
from ._base import COMMON_CONSTRAINTS, UnsupervisedAligner, sample_rows
from .inits import INITS
from .refine import refine_map
from .selection import CRITERIA, label_free_criteria

STARTS = ("random",) + tuple(INITS)


def random_semi_orthogonal(d_x: int, d_y: int, rng) -> np.ndarray:
    """A Haar-random (d_x, d_y) matrix with orthonormal rows or columns (QR of a Gaussian).

    Parameters
    ----------
    d_x, d_y : int
    rng : numpy.random.Generator

    Returns
    -------
    ndarray (d_x, d_y) float64
    """
    G = rng.standard_normal((max(d_x, d_y), min(d_x, d_y)))
    Q, R = np.linalg.qr(G)
    Q = Q * np.sign(np.diag(R))  # sign fix makes the distribution uniform
    return Q if d_x >= d_y else Q.T


@register_aligner
class RestartsAligner(UnsupervisedAligner):
    """``n_restarts`` starts → ``restart_iter`` refinement rounds on ``n_sample`` rows each → the best
    by ``criterion`` → full refinement (``n_refine`` rounds).

    Parameters
    ----------
    start : str, default "sorted_sim"
        ``"random"`` (Haar rotation) or an initialisation of :mod:`align.unsupervised.inits`
            (``"sorted_sim"``, ``"kmeans"``, ``"relative"``, ``"principal_axes"``, ``"ica"``), run on a
            fresh subsample with a fresh random state at each restart.
    n_restarts : int, default 16
        Number of starts.
    n_sample : int >= 10, default 1500
        Rows per set for each start and its short refinement.
    restart_iter : int >= 0, default 3
        Refinement rounds per start.
    criterion : str, default "knn_agreement"
        The label-free criterion that ranks the starts (:data:`~align.unsupervised.selection.CRITERIA`).
    normalize, n_refine, csls_k, n_candidates, random_state
        As in the other aligners (``refine_iter=`` and ``seed=`` are deprecated names).

    Attributes
    ----------
    restarts_ : list of float
        Each start's criterion value, in order.
    chosen_ : int
        The index kept.
    """

    def __init__(self, *, start: str = "sorted_sim", n_restarts: int = 16, n_sample: int = 1500,
                 restart_iter: int = 3, criterion: str = "knn_agreement", normalize: str = "unit-center",
                 n_refine: int = 10, csls_k: int = 10, n_candidates: int | None = 20000,
                 random_state: int | None = 0):
        self.start = start
        self.n_restarts = n_restarts
        self.n_sample = n_sample
        self.restart_iter = restart_iter
        self.criterion = criterion
        self.normalize = normalize
        self.n_refine = n_refine
        self.csls_k = csls_k
        self.n_candidates = n_candidates
        self.random_state = random_state

    _json_attrs = UnsupervisedAligner._json_attrs + ("restarts_", "chosen_")
    _parameter_constraints = {
        **COMMON_CONSTRAINTS, "start": [StrOptions(set(STARTS))], "criterion": [StrOptions(set(CRITERIA))],
        "n_restarts": [Interval(int, 1, None)], "n_sample": [Interval(int, 10, None)],
        "restart_iter": [Interval(int, 0, None)],
    }

    def _check_data(self, X, Y):
        if min(len(X), len(Y)) < 10:
            raise ValidationError(f"RestartsAligner needs at least 10 rows per set; got {len(X)} and {len(Y)}")

    def _one_start(self, Xs, Ys, rng):
        if self.start == "random":
            return random_semi_orthogonal(Xs.shape[1], Ys.shape[1], rng)
        kwargs = {"n_sample": len(Xs)} if self.start in ("sorted_sim", "relative", "ica") else {}
        return INITS[self.start](Xs, Ys, rng, **kwargs)[0]

    def _init_map(self, Xp, Yp, rng):
        best, best_val, values = None, -np.inf, []
        for r in range(self.n_restarts):
            Xs = Xp[sample_rows(len(Xp), self.n_sample, rng)]
            Ys = Yp[sample_rows(len(Yp), self.n_sample, rng)]
            W = self._one_start(Xs, Ys, rng)
            if self.restart_iter:
                W = refine_map(Xs, Ys, W, n_iter=self.restart_iter, csls_k=self.csls_k)[0]
            val = label_free_criteria(Xs @ W, Ys, which=(self.criterion,), csls_k=self.csls_k,
                                      seed=int(rng.integers(2 ** 31)))[self.criterion]
            values.append(round(float(val), 5))
            if val > best_val:
                best, best_val = W, val
        self.restarts_, self.chosen_ = values, int(np.argmax(values))
        self.history_.append({"stage": f"restarts:{self.start}", "n_restarts": self.n_restarts,
                              "best": float(best_val)})
        return best
