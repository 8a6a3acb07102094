"""Residual MLP translator trained with AdamW, early stopping and MSE / cosine / InfoNCE losses."""
from __future__ import annotations

import re
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .._params import Check, Interval, StrOptions
from .._validate import check_choice
from ..base import BaseAligner, register_aligner
from .._validate import resolve_device
from ..exceptions import CorruptFileError, ShapeError, ValidationError
from .linear import LinearTranslator, affine_approximation
from .mlp_blocks import NORMS, ResidualBlock as _Block, ResidualMLP, make_norm as _norm  # noqa: F401 (old names)
from .procrustes import ProcrustesTranslator

LOSSES = ("mse", "cosine", "infonce")
_PREFIX = "net."


def parse_loss(loss) -> dict:
    """Parse a loss given as ``"mse"``, ``{"mse": 1, "infonce": 0.1}`` or ``"mse+0.1*infonce"``.

    Parameters
    ----------
    loss : str or dict
        Terms among :data:`LOSSES` with non-negative weights, not all zero.

    Returns
    -------
    dict
        ``{name: weight}`` with float weights.

    Raises
    ------
    ValidationError
        For an unknown term, a bad weight or an unparsable string.
    """
    if isinstance(loss, str):
        terms = {}
        for part in loss.replace(" ", "").split("+"):
            m = re.fullmatch(r"(?:([0-9.eE+-]+)\*)?([a-z]+)", part)
            if not m:
                raise ValidationError(f"cannot parse loss term {part!r} in {loss!r}; e.g. 'mse+0.1*infonce'")
            terms[m.group(2)] = terms.get(m.group(2), 0.0) + float(m.group(1) or 1.0)
        loss = terms
    if not isinstance(loss, dict) or not loss:
        raise ValidationError(f"loss must be a name, a non-empty dict or 'a*name+b*name'; got {loss!r}")
    out = {}
    for name, weight in loss.items():
        check_choice(name, "loss term", LOSSES)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not np.isfinite(weight) or weight < 0:
            raise ValidationError(f"loss weight of {name!r} must be a number >= 0; got {weight!r}")
        out[name] = float(weight)
    if sum(out.values()) <= 0:
        raise ValidationError(f"loss weights must not all be zero; got {out}")
    return out


@register_aligner
class MLPTranslator(BaseAligner):
    """Nonlinear translator: a residual MLP trained on paired rows.

    Inputs and targets are centred and scaled to unit RMS per feature (one scalar per side, so
    angles are kept); ``transform`` undoes it. Training: AdamW (Loshchilov & Hutter, 2019,
    arXiv 1711.05101), mini-batches, early stopping on a held-out ``val_fraction`` of the pairs
    (the best epoch's weights are kept).

    Parameters
    ----------
    hidden : int, default 512
        Width of the hidden layers.
    depth : int, default 1
        Hidden layers (≥ 1; each extra one is a residual block).
    norm : {"layer", "batch", "none"}, default "layer"
    dropout : float in [0, 1), default 0.1
    loss : str or dict, default "mse"
        ``"mse"`` (standardised space), ``"cosine"`` (1 − cos to the target), ``"infonce"``
        (in-batch contrastive: each translation must pick its own target among the batch's targets
        at ``temperature``; van den Oord et al., 2018, arXiv 1807.03748), or a weighted sum given as
        a dict ``{"mse": 1, "infonce": 0.1}`` or the string ``"mse+0.1*infonce"``.
    temperature : float > 0, default 0.05
    lr : float > 0, default 1e-3
    weight_decay : float >= 0, default 1e-2
    epochs : int, default 200
        Maximum number of epochs.
    batch_size : int >= 2, default 256
    val_fraction : float in [0, 1), default 0.1
        Held-out share of the pairs for early stopping (validation needs ≥ 2 held-out pairs,
        otherwise all ``epochs`` run on every pair).
    patience : int, default 20
        Epochs without validation improvement before stopping.
    init : None, "ridge", "procrustes" or an aligner, default None
        Start the linear ``skip`` map from ridge or Procrustes fitted on the training pairs, or from
        an aligner (fitted: used as is, e.g. an unsupervised aligner; unfitted: fitted on a copy on
        the training pairs). None: random init.
    random_state : int >= 0, default 0
        Seed of the split, the initialisation, dropout and batch order (deterministic on CPU).
        ``seed=`` is its deprecated name.
    device : str, default "auto"
        ``"auto"``, ``"cpu"``, ``"cuda"``.
    threads : int or None, default None
        CPU threads while fitting/transforming, restored afterwards; None keeps torch's setting (on
        a busy shared CPU, 1 thread can be several times faster than 2 for these small matrices).
    show_progress : bool, default False
        tqdm bar over epochs.

    Attributes
    ----------
    x_mean_, y_mean_ : ndarray float32
    x_scale_, y_scale_ : float
    history_ : list of dict
        Per epoch: train and validation loss.
    best_epoch_ : int
    init_ : str or None
        What seeded the skip map.
    net_ : ResidualMLP
    """

    _array_attrs = ("x_mean_", "y_mean_")
    _json_attrs = ("n_features_in_", "n_features_out_", "x_scale_", "y_scale_", "history_", "best_epoch_",
                   "init_")
    _parameter_constraints = {
        "hidden": [Interval(int, 1, None)], "depth": [Interval(int, 1, None)], "norm": [StrOptions(set(NORMS))],
        "dropout": [Interval(float, 0, 1, closed="left")],
        "loss": [Check(parse_loss, "a loss name, a dict {name: weight} or 'a*name+b*name'")],
        "temperature": [Interval(float, 0, None, closed="neither")], "lr": [Interval(float, 0, None, closed="neither")],
        "weight_decay": [Interval(float, 0, None)], "epochs": [Interval(int, 1, None)],
        "batch_size": [Interval(int, 2, None)], "val_fraction": [Interval(float, 0, 1, closed="left")],
        "patience": [Interval(int, 1, None)], "init": [None, StrOptions({"ridge", "procrustes"}), BaseAligner],
        "random_state": [Interval(int, 0, None)], "device": [str], "threads": [None, Interval(int, 1, None)],
        "show_progress": ["boolean"],
    }

    def __init__(self, *, hidden: int = 512, depth: int = 1, norm: str = "layer", dropout: float = 0.1,
                 loss="mse", temperature: float = 0.05, lr: float = 1e-3, weight_decay: float = 1e-2,
                 epochs: int = 200, batch_size: int = 256, val_fraction: float = 0.1, patience: int = 20,
                 init=None, random_state: int = 0, device: str = "auto", threads: int | None = None,
                 show_progress: bool = False):
        self.hidden = hidden
        self.depth = depth
        self.norm = norm
        self.dropout = dropout
        self.loss = loss
        self.temperature = temperature
        self.lr = lr
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.val_fraction = val_fraction
        self.patience = patience
        self.init = init
        self.random_state = random_state
        self.device = device
        self.threads = threads
        self.show_progress = show_progress

    # ------------------------------------------------------------------ params
    def get_params(self, deep: bool = False) -> dict:
        """Parameters as a dict; an aligner given as ``init`` is reported as None unless ``deep``
        (it is not saved: the fitted skip map carries it)."""
        params = super().get_params(deep)
        if not deep and isinstance(params.get("init"), BaseAligner):
            params["init"] = None  # an aligner object is not saved; the fitted skip map carries it
        return params

    # ------------------------------------------------------------------ fit
    def fit(self, X, Y):
        """Fit on paired rows X (n, d_x), Y (n, d_y) (n ≥ 2); returns self."""
        self._validate_params()
        terms = parse_loss(self.loss)
        X, Y = self._check_fit_inputs(X, Y)
        if X.shape[0] < 2:
            raise ShapeError(f"MLPTranslator needs at least 2 pairs; got {X.shape[0]}")
        self.x_mean_, self.y_mean_ = X.mean(0), Y.mean(0)
        self.x_scale_ = _rms(X - self.x_mean_)
        self.y_scale_ = _rms(Y - self.y_mean_)
        dev = torch.device(resolve_device(self.device))
        rng = np.random.default_rng(self.random_state)
        n = X.shape[0]
        n_val = int(round(n * self.val_fraction))
        perm = rng.permutation(n)
        val, train = (perm[:n_val], perm[n_val:]) if n_val >= 2 and n - n_val >= 2 else (perm[:0], perm)
        fork = [dev.index or 0] if dev.type == "cuda" else []
        with torch.random.fork_rng(devices=fork), torch_threads(self.threads):
            torch.manual_seed(self.random_state)
            net = ResidualMLP(X.shape[1], Y.shape[1], self.hidden, self.depth, self.norm, self.dropout)
            self.init_ = self._seed_skip(net, X, Y)
            net.to(dev)
            self._train(net, X, Y, train, val, terms, dev)
        self.net_ = net.eval()
        self.n_features_in_, self.n_features_out_ = X.shape[1], Y.shape[1]  # last: fitted only on success
        return self

    def _seed_skip(self, net, X, Y):
        if self.init is None:
            return None
        if isinstance(self.init, str):
            aligner = (LinearTranslator() if self.init == "ridge" else ProcrustesTranslator()).fit(X, Y)
            label = self.init
        else:
            # a fitted aligner is used as is; an unfitted one is fitted on a copy (the user's object stays as given)
            aligner = self.init if self.init.is_fitted else type(self.init)(**self.init.get_params()).fit(X, Y)
            label = type(aligner).__name__
            if getattr(aligner, "n_features_in_", X.shape[1]) != X.shape[1] or \
                    getattr(aligner, "n_features_out_", Y.shape[1]) != Y.shape[1]:
                raise ValidationError(f"init aligner maps {aligner.n_features_in_} → {aligner.n_features_out_} "
                                      f"columns but the data are {X.shape[1]} → {Y.shape[1]}")
        A, b = affine_approximation(aligner, X)
        # express x ↦ x A + b in the standardised coordinates the network works in
        W = A * (self.x_scale_ / self.y_scale_)
        c = (self.x_mean_ @ A + b - self.y_mean_) / self.y_scale_
        net.set_linear(W, c)
        return label

    def _tensors(self, X, Y, dev):
        Xs = torch.as_tensor((X - self.x_mean_) / self.x_scale_, dtype=torch.float32, device=dev)
        Ys = torch.as_tensor((Y - self.y_mean_) / self.y_scale_, dtype=torch.float32, device=dev)
        return Xs, Ys

    def _loss(self, P, T, terms):
        total = P.new_zeros(())
        if terms.get("mse"):
            total = total + terms["mse"] * ((P - T) ** 2).mean()
        if terms.get("cosine") or terms.get("infonce"):
            my = torch.as_tensor(self.y_mean_ / self.y_scale_, device=P.device)
            Pn = nn.functional.normalize(P + my, dim=1)
            Tn = nn.functional.normalize(T + my, dim=1)
            if terms.get("cosine"):
                total = total + terms["cosine"] * (1 - (Pn * Tn).sum(1)).mean()
            if terms.get("infonce"):
                logits = Pn @ Tn.T / self.temperature
                labels = torch.arange(P.shape[0], device=P.device)
                total = total + terms["infonce"] * nn.functional.cross_entropy(logits, labels)
        return total

    def _train(self, net, X, Y, train, val, terms, dev):
        Xs, Ys = self._tensors(X, Y, dev)
        tr = torch.as_tensor(train, device=dev)
        va = torch.as_tensor(val, device=dev)
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        gen = torch.Generator(device="cpu").manual_seed(self.random_state)
        best, best_state, stale = float("inf"), None, 0
        self.history_, self.best_epoch_ = [], None
        bar = tqdm(range(self.epochs), desc="fit MLPTranslator", unit="epoch", disable=not self.show_progress)
        for epoch in bar:
            net.train()
            order = tr[torch.randperm(len(tr), generator=gen).to(dev)]
            total = 0.0
            for idx in _batches(order, self.batch_size):
                loss = self._loss(net(Xs[idx]), Ys[idx], terms)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(idx)
            record = {"epoch": epoch, "train_loss": total / len(tr)}
            if len(va):
                net.eval()
                with torch.inference_mode():
                    record["val_loss"] = float(self._loss(net(Xs[va]), Ys[va], terms))
                if best_state is None or record["val_loss"] < best - 1e-6 * abs(best):
                    best, stale, self.best_epoch_ = record["val_loss"], 0, epoch
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    stale += 1
            self.history_.append(record)
            bar.set_postfix(loss=f"{record.get('val_loss', record['train_loss']):.4f}")
            if stale >= self.patience:
                break
        bar.close()
        if best_state is not None:
            net.load_state_dict(best_state)
        elif self.best_epoch_ is None:
            self.best_epoch_ = len(self.history_) - 1

    # ------------------------------------------------------------------ transform
    def transform(self, X, *, batch_size: int = 8192) -> np.ndarray:
        """(m, d_x) → (m, d_y) float32."""
        X = self._check_transform_input(X)
        dev = torch.device(resolve_device(self.device))
        net = self.net_.to(dev).eval()
        out = np.empty((X.shape[0], self.n_features_out_), dtype=np.float32)
        with torch.inference_mode(), torch_threads(self.threads):
            for a in range(0, X.shape[0], batch_size):
                xs = torch.as_tensor((X[a:a + batch_size] - self.x_mean_) / self.x_scale_, device=dev)
                out[a:a + batch_size] = net(xs.float()).cpu().numpy() * self.y_scale_ + self.y_mean_
        return out

    # ------------------------------------------------------------------ persistence
    def _extra_arrays(self) -> dict:
        return {_PREFIX + k: v.detach().cpu().numpy() for k, v in self.net_.state_dict().items()}

    def _restore_extra(self, arrays: dict) -> None:
        try:
            self._validate_params()
            d_in, d_out = int(self.n_features_in_), int(self.n_features_out_)
        except (ValidationError, AttributeError, TypeError, ValueError) as e:
            raise CorruptFileError(f"saved MLPTranslator has invalid parameters or state ({e})") from None
        net = ResidualMLP(d_in, d_out, self.hidden, self.depth, self.norm, self.dropout)
        expected = net.state_dict()
        saved = {k[len(_PREFIX):]: v for k, v in arrays.items() if k.startswith(_PREFIX)}
        if set(saved) != set(expected):
            missing = sorted(set(expected) - set(saved))[:3]
            extra = sorted(set(saved) - set(expected))[:3]
            raise CorruptFileError(f"saved MLP weights do not match its parameters (missing {missing}, "
                                   f"unexpected {extra}); the file was written for another architecture")
        for k, v in expected.items():
            if tuple(saved[k].shape) != tuple(v.shape):
                raise CorruptFileError(
                    f"saved MLP weight {k!r} has shape {tuple(saved[k].shape)} but a {d_in} → {d_out} "
                    f"network with hidden={self.hidden} needs {tuple(v.shape)}: the weights were saved for "
                    "other dimensions")
        for name, d in (("x_mean_", d_in), ("y_mean_", d_out)):
            if getattr(self, name).shape != (d,):
                raise CorruptFileError(f"saved {name} has shape {getattr(self, name).shape}, expected ({d},)")
        net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in saved.items()})
        self.net_ = net.eval()


@contextmanager
def torch_threads(n: int | None):
    """Run the block with ``n`` torch CPU threads, then restore the old count.

    Parameters
    ----------
    n : int or None
        Threads; None leaves torch's setting unchanged.
    """
    if n is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _rms(A: np.ndarray) -> float:
    """Root mean square per entry (> 0), the scalar that gives each feature unit variance on average."""
    return float(max(np.sqrt((A.astype(np.float64) ** 2).mean()), 1e-12))


def _batches(order: torch.Tensor, size: int):
    """Mini-batches of ``order``; a trailing batch of one row joins the previous one (BatchNorm needs ≥ 2)."""
    n = len(order)
    starts = list(range(0, n, size))
    if len(starts) > 1 and n - starts[-1] < 2:
        starts.pop()
    for i, a in enumerate(starts):
        b = starts[i + 1] if i + 1 < len(starts) else n
        yield order[a:b]
