"""Residual MLP translator trained with AdamW, early stopping and MSE / cosine / InfoNCE losses."""
from __future__ import annotations

import re
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from .._validate import check_choice, check_positive_int
from ..base import BaseAligner, register_aligner
from ..encoders.base import resolve_device
from ..exceptions import CorruptFileError, ShapeError, ValidationError
from .linear import LinearTranslator, affine_approximation
from .procrustes import ProcrustesTranslator

LOSSES = ("mse", "cosine", "infonce")
NORMS = ("layer", "batch", "none")
_PREFIX = "net."


def parse_loss(loss) -> dict:
    """``"mse"``, ``{"mse": 1, "infonce": 0.1}`` or ``"mse+0.1*infonce"`` → ``{name: weight}``."""
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


def _norm(kind: str, width: int) -> nn.Module:
    return {"layer": lambda: nn.LayerNorm(width), "batch": lambda: nn.BatchNorm1d(width),
            "none": nn.Identity}[kind]()


class _Block(nn.Module):
    """Pre-norm residual block: ``h + W₂ · dropout(GELU(W₁ · norm(h)))``."""

    def __init__(self, width, norm, dropout):
        super().__init__()
        self.norm = _norm(norm, width)
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)
        self.drop = nn.Dropout(dropout)

    def forward(self, h):
        return h + self.fc2(self.drop(nn.functional.gelu(self.fc1(self.norm(h)))))


class ResidualMLP(nn.Module):
    """``f(x) = skip(x) + out(norm(blocks(GELU(inp(x)))))``: a linear map plus a nonlinear correction.

    ``depth`` hidden layers of width ``hidden`` (1 = one hidden layer, each extra layer is a residual
    block). The output layer starts at zero, so the network starts as its linear ``skip`` map; that
    is what lets an initial affine map (ridge, Procrustes, an unsupervised aligner) seed training.
    """

    def __init__(self, d_in, d_out, hidden, depth, norm, dropout):
        super().__init__()
        self.skip = nn.Linear(d_in, d_out)
        self.inp = nn.Linear(d_in, hidden)
        self.blocks = nn.ModuleList([_Block(hidden, norm, dropout) for _ in range(depth - 1)])
        self.norm = _norm(norm, hidden)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, d_out)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x):
        h = nn.functional.gelu(self.inp(x))
        for block in self.blocks:
            h = block(h)
        return self.skip(x) + self.out(self.drop(self.norm(h)))


@register_aligner
class MLPTranslator(BaseAligner):
    """Nonlinear translator: a residual MLP trained on paired rows.

    Inputs and targets are centred and scaled to unit RMS per feature (one scalar per side, so
    angles are kept); ``transform`` undoes it. Training: AdamW (Loshchilov & Hutter, 2019,
    arXiv 1711.05101), mini-batches, early stopping on a held-out ``val_fraction`` of the pairs
    (the best epoch's weights are kept).

    Parameters:

    - ``hidden`` (width), ``depth`` (hidden layers ≥ 1), ``norm`` (``"layer"``, ``"batch"``,
      ``"none"``), ``dropout``.
    - ``loss``: ``"mse"`` (standardised space), ``"cosine"`` (1 − cos to the target), ``"infonce"``
      (in-batch contrastive: each translation must pick its own target among the batch's targets at
      ``temperature``; van den Oord et al., 2018, arXiv 1807.03748), or a weighted sum given as a
      dict ``{"mse": 1, "infonce": 0.1}`` or the string ``"mse+0.1*infonce"``.
    - ``lr``, ``weight_decay``, ``epochs`` (max), ``batch_size``, ``val_fraction``, ``patience``
      (epochs without validation improvement before stopping; validation needs ≥ 2 held-out pairs,
      otherwise all ``epochs`` run on every pair).
    - ``init``: start the linear ``skip`` map from ``"ridge"``, ``"procrustes"`` (fitted on the
      training pairs) or an aligner (fitted: used as is, e.g. an unsupervised aligner; unfitted: fitted
      on the training pairs). ``None``: random init.
    - ``seed`` (deterministic on CPU), ``device`` (``"auto"``, ``"cpu"``, ``"cuda"``), ``threads``
      (CPU threads while fitting/transforming, restored afterwards; ``None`` keeps torch's setting —
      on a busy shared CPU, 1 thread can be several times faster than 2 for these small matrices),
      ``show_progress`` (tqdm bar over epochs).

    Fitted: ``x_mean_``, ``y_mean_`` (float32), ``x_scale_``, ``y_scale_``, ``history_`` (per epoch:
    train and validation loss), ``best_epoch_``, ``init_`` (what seeded the skip map), ``net_``.
    """

    _array_attrs = ("x_mean_", "y_mean_")
    _json_attrs = ("n_features_in_", "n_features_out_", "x_scale_", "y_scale_", "history_", "best_epoch_",
                   "init_")

    def __init__(self, *, hidden: int = 512, depth: int = 1, norm: str = "layer", dropout: float = 0.1,
                 loss="mse", temperature: float = 0.05, lr: float = 1e-3, weight_decay: float = 1e-2,
                 epochs: int = 200, batch_size: int = 256, val_fraction: float = 0.1, patience: int = 20,
                 init=None, seed: int = 0, device: str = "auto", threads: int | None = None,
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
        self.seed = seed
        self.device = device
        self.threads = threads
        self.show_progress = show_progress

    # ------------------------------------------------------------------ params
    def get_params(self, deep: bool = False) -> dict:
        params = super().get_params(deep)
        if not deep and isinstance(params.get("init"), BaseAligner):
            params["init"] = None  # an aligner object is not saved; the fitted skip map carries it
        return params

    def _check_params(self):
        check_positive_int(self.hidden, "hidden")
        check_positive_int(self.depth, "depth")
        check_choice(self.norm, "norm", NORMS)
        check_positive_int(self.epochs, "epochs")
        check_positive_int(self.batch_size, "batch_size", minimum=2)
        check_positive_int(self.patience, "patience")
        if self.threads is not None:
            check_positive_int(self.threads, "threads")
        for name, lo, hi in (("dropout", 0, 1), ("val_fraction", 0, 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v < hi:
                raise ValidationError(f"{name} must be in [{lo}, {hi}); got {v!r}")
        for name in ("lr", "temperature"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v <= 0:
                raise ValidationError(f"{name} must be a number > 0; got {v!r}")
        if isinstance(self.weight_decay, bool) or not isinstance(self.weight_decay, (int, float)) \
                or self.weight_decay < 0:
            raise ValidationError(f"weight_decay must be a number >= 0; got {self.weight_decay!r}")
        if not (self.init is None or self.init in ("ridge", "procrustes") or isinstance(self.init, BaseAligner)):
            raise ValidationError(f"init must be None, 'ridge', 'procrustes' or an aligner; got {self.init!r}")
        return parse_loss(self.loss)

    # ------------------------------------------------------------------ fit
    def fit(self, X, Y):
        """X: (n, d_x), Y: (n, d_y), rows paired. Returns self."""
        terms = self._check_params()
        X, Y = self._check_fit_inputs(X, Y)
        if X.shape[0] < 2:
            raise ShapeError(f"MLPTranslator needs at least 2 pairs; got {X.shape[0]}")
        self.x_mean_, self.y_mean_ = X.mean(0), Y.mean(0)
        self.x_scale_ = _rms(X - self.x_mean_)
        self.y_scale_ = _rms(Y - self.y_mean_)
        dev = torch.device(resolve_device(self.device))
        rng = np.random.default_rng(self.seed)
        n = X.shape[0]
        n_val = int(round(n * self.val_fraction))
        perm = rng.permutation(n)
        val, train = (perm[:n_val], perm[n_val:]) if n_val >= 2 and n - n_val >= 2 else (perm[:0], perm)
        fork = [dev.index or 0] if dev.type == "cuda" else []
        with torch.random.fork_rng(devices=fork), torch_threads(self.threads):
            torch.manual_seed(self.seed)
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
        with torch.no_grad():
            net.skip.weight.copy_(torch.as_tensor(W.T, dtype=torch.float32))
            net.skip.bias.copy_(torch.as_tensor(c, dtype=torch.float32))
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
        from tqdm.auto import tqdm
        Xs, Ys = self._tensors(X, Y, dev)
        tr = torch.as_tensor(train, device=dev)
        va = torch.as_tensor(val, device=dev)
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        gen = torch.Generator(device="cpu").manual_seed(self.seed)
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
            self._check_params()
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
    """Run the block with ``n`` torch CPU threads (None: unchanged), then restore the old count."""
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
