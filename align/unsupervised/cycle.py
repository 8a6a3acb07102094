"""Cycle-consistent adversarial translation through a shared latent (vec2vec: Jha, Zhang, Shmatikov
and Morris, 2025, "Harnessing the Universal Geometry of Embeddings", arXiv 2505.12540).

Input adapters A_x, A_y map each space into a shared latent, a shared MLP T refines it and output
adapters B_x, B_y map back: ``F_xy = B_y∘T∘A_x`` and ``F_yx = B_x∘T∘A_y``. Training mixes
adversarial losses on translated outputs and on latents, reconstruction (x → latent → x), cycle
consistency (x → y → x), vector-space preservation (pairwise cosines within a batch kept under
translation) and an optional variational information bottleneck on the latent (KL to N(0, I),
weight β). Every term has its own weight; 0 switches it off (see bench/cycle_ablation.py).

vec2vec needs ≥ 50k unpaired points and GPU-days; at CPU scale (a few thousand points, minutes)
expect this aligner to keep or polish a good warm start (``init=`` or ``seed_pairs=``) rather than
find an alignment from nothing. bench/RESULTS.md reports what it reaches.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
from tqdm.auto import tqdm

from .._params import Interval
from ..base import BaseAligner, register_aligner
from ..exceptions import CorruptFileError
from ._gan import GAN_CONSTRAINTS, discriminator, mean_csls_cosine, prepare_fit, seeded
from .cycle_losses import CycleNet, generator_step
from .refine import SelfLearningRefiner
from .selection import label_free_criteria

_WEIGHTS = ("adv_weight", "latent_weight", "rec_weight", "cycle_weight", "vsp_weight", "vib_weight", "seed_weight")


@register_aligner
class CycleAligner(BaseAligner):
    """vec2vec-style translator between unpaired sets. ``fit(X, Y, seed_pairs=None)``.

    X (n_x, d_x), Y (n_y, d_y) float, rows unpaired. ``transform(X)`` → (m, d_y) float32 (F_xy);
    ``inverse_transform(Y)`` → (m, d_x) float32 (F_yx).

    Warm start: the adapters are residual MLPs whose non-linear part starts at zero, so the
    translator starts as an exact linear map: the identity (d_x ≠ d_y: a truncated identity), the
    map of ``init`` (any aligner, fitted or not — it is fitted on the same unpaired X, Y), or, with
    ``seed_pairs``, Procrustes on them refined by ``n_refine`` rounds of CSLS self-learning
    (:class:`~align.unsupervised.SelfLearningRefiner`); the pairs also add a supervised term of
    weight ``seed_weight``.

    Parameters
    ----------
    d_latent : int or None, default None
        Latent width (None = max(d_x, d_y)).
    hidden : int, default 256
    depth : int >= 0, default 2
        Layers per adapter and in T; 0 = linear.
    n_epochs : int >= 0, default 20
    steps_per_epoch : int or None, default None
        None = one pass over the larger set.
    batch_size : int >= 2, default 256
    lr : float >= 0, default 1e-3
        Adam, for translator and discriminators.
    dis_hidden : int, default 256
    dis_layers : int >= 0, default 2
    dis_dropout : float in [0, 1], default 0.1
    dis_smooth : float in [0, 0.5], default 0.1
    adv_weight, latent_weight, rec_weight, cycle_weight, vsp_weight, vib_weight, seed_weight : float >= 0
        Loss weights: outputs (1), latents (1), reconstruction (1), cycle (10), vector-space
        preservation (10), bottleneck β (0 = none), seed pairs (10).
    n_refine : int >= 0, default 5
        Self-learning rounds on the seed pairs' warm start.
    patience : int, default 5
        Epochs without a better criterion before stopping.
    restore_best : bool, default True
        Keep the state with the best criterion, the warm start included (False: the last epoch's).
    criterion_rows : int, default 5000
    csls_k : int, default 10
    init : aligner or None, default None
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

    Fitted: ``net_`` (the CycleNet on CPU), ``mean_x_``, ``mean_y_``, ``scale_x_``, ``scale_y_``,
    ``d_latent_``, ``history_`` (per epoch: mean losses and criterion), ``best_epoch_`` (−1 = the
    warm start itself was best), ``criterion_`` (dict: ``mean_cosine`` — MUSE's mean cosine of CSLS
    translations, used for selection —, ``cycle_cosine`` — mean cos(x, F_yx(F_xy(x))) — plus every
    criterion of :func:`~align.unsupervised.selection.label_free_criteria` on the final map).
    """

    supervised = False
    _array_attrs = ("mean_x_", "mean_y_")
    _json_attrs = ("n_features_in_", "n_features_out_", "scale_x_", "scale_y_", "d_latent_", "history_",
                   "best_epoch_", "criterion_")
    _parameter_constraints = {
        **GAN_CONSTRAINTS, **{name: [Interval(float, 0, None)] for name in _WEIGHTS},
        "d_latent": [None, Interval(int, 1, None)], "hidden": [Interval(int, 1, None)],
        "depth": [Interval(int, 0, None)], "steps_per_epoch": [None, Interval(int, 1, None)],
        "patience": [Interval(int, 1, None)], "restore_best": ["boolean"],
    }

    def __init__(self, *, d_latent: int | None = None, hidden: int = 256, depth: int = 2, n_epochs: int = 20,
                 steps_per_epoch: int | None = None, batch_size: int = 256, lr: float = 1e-3,
                 dis_hidden: int = 256, dis_layers: int = 2, dis_dropout: float = 0.1, dis_smooth: float = 0.1,
                 adv_weight: float = 1.0, latent_weight: float = 1.0, rec_weight: float = 1.0,
                 cycle_weight: float = 10.0, vsp_weight: float = 10.0, vib_weight: float = 0.0,
                 seed_weight: float = 10.0, n_refine: int = 5, patience: int = 5, restore_best: bool = True,
                 criterion_rows: int = 5000,
                 csls_k: int = 10, init=None, random_state: int = 0, device: str = "auto",
                 show_progress: bool = False,
                 rescale: bool = False):
        self.d_latent = d_latent
        self.hidden = hidden
        self.depth = depth
        self.n_epochs = n_epochs
        self.steps_per_epoch = steps_per_epoch
        self.batch_size = batch_size
        self.lr = lr
        self.dis_hidden = dis_hidden
        self.dis_layers = dis_layers
        self.dis_dropout = dis_dropout
        self.dis_smooth = dis_smooth
        self.adv_weight = adv_weight
        self.latent_weight = latent_weight
        self.rec_weight = rec_weight
        self.cycle_weight = cycle_weight
        self.vsp_weight = vsp_weight
        self.vib_weight = vib_weight
        self.seed_weight = seed_weight
        self.n_refine = n_refine
        self.patience = patience
        self.restore_best = restore_best
        self.criterion_rows = criterion_rows
        self.csls_k = csls_k
        self.init = init
        self.random_state = random_state
        self.device = device
        self.show_progress = show_progress
        self.rescale = rescale

    # ------------------------------------------------------------------ fit
    def fit(self, X, Y, seed_pairs=None):
        """Fit on unpaired X (n_x, d_x) and Y (n_y, d_y); ``seed_pairs`` (m, 2) optional; returns self."""
        start = prepare_fit(self, X, Y, seed_pairs, init_over_seed=True)
        X, Y, Xs, Ys, seed, W0, dev = start.X, start.Y, start.Xs, start.Ys, start.seed, start.W0, start.device
        if seed is not None and self.init is None and self.n_refine > 0:
            W0 = SelfLearningRefiner(n_iter=self.n_refine, csls_k=self.csls_k, center=False).fit(
                Xs, Ys, seed_pairs=seed).W_
        self.d_latent_ = int(self.d_latent or max(X.shape[1], Y.shape[1]))
        with seeded(self.random_state, dev):
            net = CycleNet(X.shape[1], Y.shape[1], self.d_latent_, self.hidden, self.depth, self.vib_weight > 0)
            net.warm_start(W0)
            self._train(net.to(dev), Xs, Ys, seed, dev)
        self.n_features_in_, self.n_features_out_ = X.shape[1], Y.shape[1]
        return self

    def _weights(self):
        return {"adv": self.adv_weight, "latent": self.latent_weight, "rec": self.rec_weight,
                "cycle": self.cycle_weight, "vsp": self.vsp_weight, "vib": self.vib_weight, "seed": self.seed_weight}

    def _train(self, net, Xs, Ys, seed, dev):
        w = self._weights()
        Xt, Yt = torch.from_numpy(Xs).to(dev), torch.from_numpy(Ys).to(dev)
        discs = torch.nn.ModuleDict()
        if w["adv"] > 0:
            discs["x"] = discriminator(Xs.shape[1], self.dis_hidden, self.dis_layers, self.dis_dropout)
            discs["y"] = discriminator(Ys.shape[1], self.dis_hidden, self.dis_layers, self.dis_dropout)
        if w["latent"] > 0:
            discs["latent"] = discriminator(self.d_latent_, self.dis_hidden, self.dis_layers, self.dis_dropout)
        discs.to(dev)
        betas = (0.5, 0.999)  # the usual GAN setting: less momentum chasing a moving target
        opt_g = torch.optim.Adam(net.parameters(), lr=self.lr, betas=betas)
        opt_d = torch.optim.Adam(discs.parameters(), lr=self.lr, betas=betas) if len(discs) else None
        gen = torch.Generator().manual_seed(int(self.random_state))
        bs = int(min(self.batch_size, len(Xs), len(Ys)))
        steps = self.steps_per_epoch or math.ceil(max(len(Xs), len(Ys)) / bs)
        if seed is not None:
            seed_t = (Xt[torch.from_numpy(seed[:, 0]).to(dev)], Yt[torch.from_numpy(seed[:, 1]).to(dev)])
        self.history_ = []
        best = self._criterion(net, Xs, Ys, dev)
        best_state, self.best_epoch_, stale = copy.deepcopy(net.state_dict()), -1, 0
        bar = tqdm(total=self.n_epochs * steps, desc="cycle", disable=not self.show_progress)
        for epoch in range(self.n_epochs):
            net.train()
            discs.train()
            sums: dict = {}
            for _ in range(steps):
                x = Xt[torch.randint(len(Xt), (bs,), generator=gen).to(dev)]
                y = Yt[torch.randint(len(Yt), (bs,), generator=gen).to(dev)]
                sb = None
                if seed is not None:
                    j = torch.randint(len(seed), (min(bs, len(seed)),), generator=gen).to(dev)
                    sb = (seed_t[0][j], seed_t[1][j])
                g_loss, d_loss, parts = generator_step(net, discs, x, y, w, self.dis_smooth, sb)
                opt_g.zero_grad()
                g_loss.backward()
                if opt_d is not None:
                    # the generator's backward also reached the discriminators: clear it first
                    opt_d.zero_grad()
                    d_loss.backward()
                    torch.nn.utils.clip_grad_norm_(discs.parameters(), 10.0)
                    opt_d.step()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
                opt_g.step()
                for k, v in parts.items():
                    sums[k] = sums.get(k, 0.0) + v.item()
                sums["dis"] = sums.get("dis", 0.0) + float(d_loss.item())
                bar.update(1)
            crit = self._criterion(net, Xs, Ys, dev)
            self.history_.append({"epoch": epoch, **{k: v / steps for k, v in sums.items()}, "mean_cosine": crit})
            bar.set_postfix(crit=f"{crit:.3f}")
            if crit > best:
                best, best_state, self.best_epoch_, stale = crit, copy.deepcopy(net.state_dict()), epoch, 0
            else:
                stale += 1
                if stale >= self.patience:
                    break
        bar.close()
        if self.restore_best:
            net.load_state_dict(best_state)
        else:
            best = self.history_[-1]["mean_cosine"] if self.history_ else best
        self.net_ = net.to("cpu").eval()
        mapped = _apply(self.net_, Xs[: self.criterion_rows], "x", "y", "cpu")
        self.criterion_ = {"mean_cosine": float(best), "cycle_cosine": self._cycle_cosine(Xs),
                           **label_free_criteria(mapped, Ys, seed=int(self.random_state))}

    def _criterion(self, net, Xs, Ys, dev) -> float:
        rows = min(self.criterion_rows, len(Xs))
        mapped = _apply(net, Xs[:rows], "x", "y", dev)
        return mean_csls_cosine(mapped, Ys, rows=self.criterion_rows, csls_k=self.csls_k)

    def _cycle_cosine(self, Xs) -> float:
        a = Xs[: self.criterion_rows]
        back = _apply(self.net_, _apply(self.net_, a, "x", "y", "cpu"), "y", "x", "cpu")
        num = (a * back).sum(1)
        den = np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(back, axis=1), 1e-12)
        return float((num / den).mean())

    # ------------------------------------------------------------------ use
    def transform(self, X) -> np.ndarray:
        """(m, d_x) → (m, d_y) float32: F_xy in the original coordinates."""
        X = self._check_transform_input(X)
        Z = _apply(self.net_, ((X - self.mean_x_) / self.scale_x_).astype(np.float32), "x", "y", "cpu")
        return (Z * (self.scale_y_ if self.rescale else self.scale_x_) + self.mean_y_).astype(np.float32)

    def inverse_transform(self, Y) -> np.ndarray:
        """(m, d_y) → (m, d_x) float32: F_yx in the original coordinates."""
        Y = self._check_transform_input(Y, "Y", side="out")
        Z = _apply(self.net_, ((Y - self.mean_y_) / self.scale_y_).astype(np.float32), "y", "x", "cpu")
        return (Z * (self.scale_x_ if self.rescale else self.scale_y_) + self.mean_x_).astype(np.float32)

    def get_params(self, deep: bool = False) -> dict:
        """Parameters as a dict; an ``init`` aligner is reported as None unless ``deep`` (not saved)."""
        params = super().get_params(deep)
        if not deep and params.get("init") is not None:
            params["init"] = None  # aligner objects are not saved; the fitted network is
        return params

    # ------------------------------------------------------------------ persistence
    def _extra_arrays(self) -> dict:
        return {f"net.{k}": v.detach().cpu().numpy() for k, v in self.net_.state_dict().items()}

    def _restore_extra(self, arrays: dict) -> None:
        net = CycleNet(int(self.n_features_in_), int(self.n_features_out_), int(self.d_latent_), self.hidden,
                       self.depth, self.vib_weight > 0)
        state = {k[4:]: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith("net.")}
        try:
            net.load_state_dict(state)
        except RuntimeError as e:
            raise CorruptFileError(f"saved CycleAligner weights do not fit its parameters: {e}") from None
        self.net_ = net.eval()


def _apply(net, A: np.ndarray, src: str, dst: str, dev, chunk: int = 8192) -> np.ndarray:
    """Deterministic translation of a float32 matrix in chunks (no gradients)."""
    was_training = net.training
    net.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(A), chunk):
            a = torch.from_numpy(np.ascontiguousarray(A[i:i + chunk], np.float32)).to(dev)
            out.append(net.translate(a, src, dst).cpu().numpy())
    net.train(was_training)
    return np.concatenate(out).astype(np.float32)
