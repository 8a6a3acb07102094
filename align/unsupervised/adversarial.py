"""Adversarial alignment with Procrustes refinement (MUSE: Conneau, Lample, Ranzato, Denoyer and
Jégou, 2018, "Word Translation Without Parallel Data", arXiv 1710.04087).

A linear map W is trained to fool an MLP discriminator that tells mapped source rows from target
rows; after each map step W is pulled back towards the orthogonal manifold with Cisse et al.'s
update ``W ← (1+β)W − β(WWᵀ)W`` (arXiv 1704.08847), which for d_x ≠ d_y drives every singular
value to 1 (a semi-orthogonal map). The epoch with the best label-free criterion (mean cosine of
CSLS translations) is kept, then refined by CSLS mutual-nearest-neighbour dictionary induction and
Procrustes (:class:`~align.unsupervised.SelfLearningRefiner`).

What it cannot do: distribution matching is blind to symmetries of the data distribution. A
Gaussian cloud is invariant under reflection of any principal axis, so a rotated Gaussian
(``align.synthetic.rotation``) is not identifiable by a GAN — the map it finds matches the
covariance with a random sign per axis and refinement cannot repair that. Non-Gaussian data
(clusters, word embeddings) breaks the symmetry; see the tests and bench/RESULTS.md.
"""
from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from .._params import Interval
from ..base import BaseAligner, register_aligner
from ._gan import (GAN_CONSTRAINTS, discriminator, discriminator_loss, generator_loss, mean_csls_cosine,
                   prepare_fit, seeded)
from .dictionary import mutual_csls_pairs
from .refine import SelfLearningRefiner
from .selection import label_free_criteria


@register_aligner
class AdversarialAligner(BaseAligner):
    """MUSE: orthogonal map vs MLP discriminator, then CSLS/Procrustes refinement. Rows unpaired.

    ``fit(X, Y, seed_pairs=None)``: X (n_x, d_x), Y (n_y, d_y) float; any n_x, n_y; d_x may differ
    from d_y. With ``seed_pairs`` ((m, 2) rows of X and Y known to match) W starts from Procrustes
    on them, a supervised term ``seed_weight·‖x W − y‖²`` joins the map loss and the pairs join the
    first refinement dictionary. ``transform(X)`` → (m, d_y) float32.

    Parameters
    ----------
    MUSE defaults in brackets where ours differ, chosen for a 2-core CPU.

    n_epochs : int >= 0, default 5
    steps_per_epoch : int, default 400
        Map steps per epoch [1M/32].
    batch_size : int >= 2, default 128 [32]
    dis_steps : int, default 5
        Discriminator steps per map step.
    dis_hidden : int, default 512 [2048]
    dis_layers : int >= 0, default 2
    dis_dropout : float in [0, 1], default 0.1
        Input dropout of the discriminator.
    dis_smooth : float in [0, 0.5], default 0.1
        Label smoothing.
    lr : float >= 0, default 0.1
        SGD rate of map and discriminator.
    lr_decay : float in [0, 1], default 0.98
        Per epoch.
    lr_shrink : float in [0, 1], default 0.5
        Factor when the criterion drops.
    beta : float >= 0, default 0.001
        Orthogonalisation step.
    most_frequent : int >= 2 or None, default None
        Use only the first rows for the GAN and the dictionary (None = all) [75000].
    n_refine : int >= 0, default 5
        Refinement rounds.
    csls_k : int, default 10
    criterion_rows : int, default 10000
    seed_weight : float >= 0, default 1.0
    init : aligner or None, default None
        Any aligner whose map replaces the identity start.
    random_state : int >= 0, default 0
        ``seed=`` is its deprecated name.
    device : str, default "auto"
    show_progress : bool, default False
    rescale : bool, default False
        See "Output scale".

    Output scale: by default a translation keeps the source's spread around the target mean,
    ``((X − μ_x)/s_x)·map·s_x + μ_y``, exactly as ProcrustesTranslator and SelfLearningRefiner do,
    so linear results are comparable; ``rescale=True`` uses the target's RMS spread s_y instead
    (vectors that look like Y's rows; this changes cosine retrieval when Y has a large mean).

    Fitted: ``W_`` (d_x, d_y) float64 in standardised coordinates, ``W_adv_`` (the adversarial map
    before refinement), ``mean_x_``, ``mean_y_``, ``scale_x_``, ``scale_y_``, ``history_`` (per
    epoch losses and criterion), ``best_epoch_`` (−1: no epoch beat the start), ``criterion_``
    (dict of label-free values: ``mean_cosine`` of the final map, ``mean_cosine_adversarial`` of
    the kept epoch, ``mutual_csls`` and ``n_mutual`` of the last refinement dictionary, plus every
    criterion of :func:`~align.unsupervised.selection.label_free_criteria` on the final map).
    """

    supervised = False
    _array_attrs = ("W_", "W_adv_", "mean_x_", "mean_y_")
    _json_attrs = ("n_features_in_", "n_features_out_", "scale_x_", "scale_y_", "history_",
                   "best_epoch_", "criterion_")
    _parameter_constraints = {
        **GAN_CONSTRAINTS, "steps_per_epoch": [Interval(int, 1, None)], "dis_steps": [Interval(int, 1, None)],
        "lr_decay": [Interval(float, 0, 1)], "lr_shrink": [Interval(float, 0, 1)], "beta": [Interval(float, 0, None)],
        "most_frequent": [None, Interval(int, 2, None)],
    }

    def __init__(self, *, n_epochs: int = 5, steps_per_epoch: int = 400, batch_size: int = 128,
                 dis_steps: int = 5, dis_hidden: int = 512, dis_layers: int = 2, dis_dropout: float = 0.1,
                 dis_smooth: float = 0.1, lr: float = 0.1, lr_decay: float = 0.98, lr_shrink: float = 0.5,
                 beta: float = 0.001, most_frequent: int | None = None, n_refine: int = 5, csls_k: int = 10,
                 criterion_rows: int = 10000, seed_weight: float = 1.0, init=None, random_state: int = 0,
                 device: str = "auto", show_progress: bool = False,
                 rescale: bool = False):
        self.n_epochs = n_epochs
        self.steps_per_epoch = steps_per_epoch
        self.batch_size = batch_size
        self.dis_steps = dis_steps
        self.dis_hidden = dis_hidden
        self.dis_layers = dis_layers
        self.dis_dropout = dis_dropout
        self.dis_smooth = dis_smooth
        self.lr = lr
        self.lr_decay = lr_decay
        self.lr_shrink = lr_shrink
        self.beta = beta
        self.most_frequent = most_frequent
        self.n_refine = n_refine
        self.csls_k = csls_k
        self.criterion_rows = criterion_rows
        self.seed_weight = seed_weight
        self.init = init
        self.random_state = random_state
        self.device = device
        self.show_progress = show_progress
        self.rescale = rescale

    # ------------------------------------------------------------------ fit
    def fit(self, X, Y, seed_pairs=None):
        """Fit on unpaired X (n_x, d_x) and Y (n_y, d_y); ``seed_pairs`` (m, 2) optional; returns self."""
        start = prepare_fit(self, X, Y, seed_pairs, init_over_seed=False)
        X, Y, Xs, Ys, seed, W0, dev = start.X, start.Y, start.Xs, start.Ys, start.seed, start.W0, start.device
        with seeded(self.random_state, dev):
            W_adv = self._adversarial(Xs, Ys, W0, seed, dev)
        self.W_adv_ = W_adv
        W, refine_info = self._refine(Xs, Ys, W_adv, seed)
        self.W_ = W
        self.criterion_ = {"mean_cosine": self._criterion(Xs, Ys, W),
                           "mean_cosine_adversarial": self._criterion(Xs, Ys, W_adv), **refine_info,
                           **label_free_criteria((Xs @ W).astype(np.float32), Ys, seed=int(self.random_state))}
        self.n_features_in_, self.n_features_out_ = X.shape[1], Y.shape[1]
        return self

    def _criterion(self, Xs, Ys, W):
        return mean_csls_cosine((Xs @ W).astype(np.float32), Ys, rows=self.criterion_rows, csls_k=self.csls_k)

    def _cand(self, n):
        return n if self.most_frequent is None else min(n, int(self.most_frequent))

    def _adversarial(self, Xs, Ys, W0, seed, dev):
        self.history_, self.best_epoch_ = [], -1
        if self.n_epochs == 0:
            return W0
        Xt = torch.from_numpy(Xs[: self._cand(len(Xs))]).to(dev)
        Yt = torch.from_numpy(Ys[: self._cand(len(Ys))]).to(dev)
        W = torch.nn.Parameter(torch.as_tensor(W0, dtype=torch.float32, device=dev).clone())
        D = discriminator(Ys.shape[1], self.dis_hidden, self.dis_layers, self.dis_dropout).to(dev)
        lr = float(self.lr)
        opt_w, opt_d = torch.optim.SGD([W], lr=lr), torch.optim.SGD(D.parameters(), lr=lr)
        if seed is not None:
            sx = torch.from_numpy(Xs[seed[:, 0]]).to(dev)
            sy = torch.from_numpy(Ys[seed[:, 1]]).to(dev)
        gen = torch.Generator().manual_seed(int(self.random_state))  # batch indices: CPU generator, any device
        bs = int(self.batch_size)
        best_W = np.asarray(W0, np.float64)
        best = self._criterion(Xs, Ys, best_W)  # the start itself competes (best_epoch_ = -1)
        bar = tqdm(total=self.n_epochs * self.steps_per_epoch, desc="adversarial", disable=not self.show_progress)
        for epoch in range(self.n_epochs):
            d_sum = g_sum = 0.0
            for _ in range(self.steps_per_epoch):
                D.train()
                for _ in range(self.dis_steps):
                    with torch.no_grad():
                        fake = Xt[torch.randint(len(Xt), (bs,), generator=gen).to(dev)] @ W
                    real = Yt[torch.randint(len(Yt), (bs,), generator=gen).to(dev)]
                    d_loss = discriminator_loss(D, real, fake, self.dis_smooth)
                    opt_d.zero_grad()
                    d_loss.backward()
                    opt_d.step()
                D.eval()  # no input dropout when the map reads the discriminator (as in MUSE)
                fake = Xt[torch.randint(len(Xt), (bs,), generator=gen).to(dev)] @ W
                g_loss = generator_loss(D, fake, 1.0 - self.dis_smooth)
                loss = g_loss
                if seed is not None and self.seed_weight > 0:
                    loss = loss + self.seed_weight * ((sx @ W - sy) ** 2).sum(1).mean()
                opt_w.zero_grad()
                D.zero_grad()
                loss.backward()
                opt_w.step()
                with torch.no_grad():
                    W.mul_(1 + self.beta).sub_(self.beta * (W @ W.T @ W))
                d_sum += d_loss.item()
                g_sum += g_loss.item()
                bar.update(1)
            Wn = W.detach().cpu().numpy().astype(np.float64)
            crit = self._criterion(Xs, Ys, Wn)
            self.history_.append({"epoch": epoch, "d_loss": d_sum / self.steps_per_epoch,
                                  "g_loss": g_sum / self.steps_per_epoch, "mean_cosine": crit, "lr": lr})
            bar.set_postfix(crit=f"{crit:.3f}")
            if crit > best:
                best, best_W, self.best_epoch_ = crit, Wn, epoch
            elif self.lr_shrink < 1:
                lr *= self.lr_shrink  # MUSE: shrink the rate when the criterion stops improving
            lr *= self.lr_decay
            for opt in (opt_w, opt_d):
                for group in opt.param_groups:
                    group["lr"] = lr
        bar.close()
        return best_W

    def _refine(self, Xs, Ys, W, seed):
        nx, ny = self._cand(len(Xs)), self._cand(len(Ys))
        pairs, scores = mutual_csls_pairs((Xs[:nx] @ W).astype(np.float32), Ys[:ny], csls_k=self.csls_k)
        # without refinement the criterion describes the GAN's own map (-1: no mutual pair, as in selection)
        unrefined = {"mutual_csls": float(scores.mean()) if len(scores) else -1.0, "n_mutual": int(len(pairs))}
        if self.n_refine == 0:
            return W, unrefined
        if seed is not None:
            pairs = np.unique(np.concatenate([seed, pairs]), axis=0)
        if len(pairs) < 2:
            return W, unrefined
        # the refiner's first Procrustes fits the GAN's mutual pairs (plus any true seed pairs);
        # later rounds re-induce the dictionary from scratch
        ref = SelfLearningRefiner(n_iter=self.n_refine, csls_k=self.csls_k, n_candidates=self.most_frequent,
                                  center=False, keep_seed=False).fit(Xs, Ys, seed_pairs=pairs)
        W_ref = ref.W_
        # keep the refined map only when the label-free criterion agrees it is better
        if self._criterion(Xs, Ys, W_ref) >= self._criterion(Xs, Ys, W):
            W = W_ref
        last = ref.history_[-1]["mean_csls"] if ref.history_ else float("nan")
        return W, {"mutual_csls": float(last) if np.isfinite(last) else -1.0, "n_mutual": int(len(ref.dictionary_))}

    # ------------------------------------------------------------------ use
    def transform(self, X) -> np.ndarray:
        """(m, d_x) → (m, d_y) float32: ``((X − μ_x)/s_x) W s + μ_y`` (s = s_x, or s_y with rescale)."""
        X = self._check_transform_input(X)
        Z = ((X - self.mean_x_) / self.scale_x_) @ self.W_
        return (Z * (self.scale_y_ if self.rescale else self.scale_x_) + self.mean_y_).astype(np.float32)

    def get_params(self, deep: bool = False) -> dict:
        """Parameters as a dict; an ``init`` aligner is reported as None unless ``deep`` (not saved)."""
        params = super().get_params(deep)
        if not deep and params.get("init") is not None:
            params["init"] = None  # aligner objects are not saved; the fitted map is
        return params
