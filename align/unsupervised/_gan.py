"""Pieces shared by the adversarial and cycle aligners: the common ``fit`` prologue (parameter and
input checks, device, standardisation, seed pairs, warm start), their shared parameter constraints,
a label-free criterion, an MLP discriminator and seeded torch state."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch

from .._params import HasMethods, Interval
from .._validate import resolve_device
from ..exceptions import ValidationError
from ..compute import csls_knn
from ..supervised.procrustes import procrustes
from .dictionary import check_pairs
from .selection import unit_rows

#: Constraints of the parameters both GAN aligners have (each class adds its own).
GAN_CONSTRAINTS = {
    "random_state": [Interval(int, 0, None)], "batch_size": [Interval(int, 2, None)],
    "csls_k": [Interval(int, 1, None)], "show_progress": ["boolean"], "rescale": ["boolean"],
    "device": [str], "init": [None, HasMethods("transform")], "n_epochs": [Interval(int, 0, None)],
    "n_refine": [Interval(int, 0, None)], "criterion_rows": [Interval(int, 1, None)],
    "dis_hidden": [Interval(int, 1, None)], "dis_layers": [Interval(int, 0, None)],
    "dis_dropout": [Interval(float, 0, 1)], "dis_smooth": [Interval(float, 0, 0.5)],
    "lr": [Interval(float, 0, None)], "seed_weight": [Interval(float, 0, None)],
}


@dataclass
class GanStart:
    """What :func:`prepare_fit` hands to a GAN aligner's training loop.

    Attributes
    ----------
    X, Y : ndarray
        The checked inputs (float32).
    Xs, Ys : ndarray float32
        Standardised inputs (:func:`standardise`).
    seed : ndarray (m, 2) int64 or None
        Validated seed pairs.
    W0 : ndarray (d_x, d_y) float64
        The warm-start map in standardised coordinates.
    device : torch.device
    """

    X: np.ndarray
    Y: np.ndarray
    Xs: np.ndarray
    Ys: np.ndarray
    seed: np.ndarray | None
    W0: np.ndarray
    device: torch.device


def prepare_fit(model, X, Y, seed_pairs, *, init_over_seed: bool) -> GanStart:
    """The ``fit`` prologue of the adversarial and cycle aligners.

    Validates the parameters and inputs, resolves the device, standardises both sets (storing
    ``mean_x_``, ``scale_x_``, ``mean_y_``, ``scale_y_`` on ``model``) and picks the warm start:
    Procrustes on ``seed_pairs`` when given, the map of ``model.init`` when set (it wins over the
    seed pairs' map when ``init_over_seed``), else the (truncated) identity.

    Parameters
    ----------
    model : AdversarialAligner or CycleAligner
    X : array (n_x, d_x)
    Y : array (n_y, d_y)
    seed_pairs : array (m, 2) or None
    init_over_seed : bool

    Returns
    -------
    GanStart
    """
    model._validate_params()
    X, Y = model._check_fit_inputs(X, Y)
    dev = torch.device(resolve_device(model.device))
    Xs, model.mean_x_, model.scale_x_ = standardise(X)
    Ys, model.mean_y_, model.scale_y_ = standardise(Y)
    seed = W0 = None
    if seed_pairs is not None:
        seed, W0 = seed_map(seed_pairs, Xs, Ys)
    if model.init is not None and (W0 is None or init_over_seed):
        W0 = init_map(model.init, X, Y, Xs, model.mean_y_, model.scale_y_)
    if W0 is None:
        W0 = np.eye(X.shape[1], Y.shape[1])  # MUSE starts from the identity
    return GanStart(X, Y, Xs, Ys, seed, W0, dev)


def standardise(A: np.ndarray):
    """Centre the rows and divide by the RMS row norm.

    A global scale keeps the geometry (cosines, ratios of distances) and lets an orthogonal map
    carry one set onto the other when the two models use different norms.

    Parameters
    ----------
    A : ndarray (n, d)

    Returns
    -------
    A_std : ndarray (n, d) float32
    mean : ndarray (d,) float64
    scale : float
    """
    mean = A.mean(0, dtype=np.float64)
    C = A - mean
    scale = float(np.sqrt((C.astype(np.float64) ** 2).sum(1).mean()))
    scale = scale if scale > 0 else 1.0
    return (C / scale).astype(np.float32), mean, scale


def mean_csls_cosine(mapped: np.ndarray, Y: np.ndarray, *, rows: int | None = 10000, csls_k: int = 10) -> float:
    """MUSE's unsupervised model-selection criterion (Conneau et al., 2018, arXiv 1710.04087, §3.5).

    Translate the first ``rows`` mapped source rows to their CSLS-nearest target among the first
    ``rows`` target rows and return the mean cosine between each source and its translation.
    Higher is better; no labels are used. CSLS itself is :func:`align.search.csls_knn`.

    Parameters
    ----------
    mapped : ndarray (n_x, d)
        Source rows already mapped into Y's space.
    Y : ndarray (n_y, d)
    rows : int or None, default 10000
        Rows of each side used (None = all).
    csls_k : int, default 10

    Returns
    -------
    float
    """
    a = mapped if rows is None else mapped[:rows]
    b = Y if rows is None else Y[:rows]
    _, I = csls_knn(np.ascontiguousarray(a, np.float32), np.ascontiguousarray(b, np.float32), 1, csls_k=csls_k)
    an, bn = unit_rows(a), unit_rows(b)
    return float((an * bn[I[:, 0]]).sum(1).mean())


def discriminator(d_in: int, hidden: int, layers: int, dropout: float) -> torch.nn.Sequential:
    """MUSE-style discriminator: input dropout, ``layers`` LeakyReLU(0.2) hidden layers, one logit.

    Parameters
    ----------
    d_in, hidden, layers : int
    dropout : float
        Input dropout.

    Returns
    -------
    torch.nn.Sequential
        (b, d_in) → (b, 1) logits.
    """
    mods = [torch.nn.Dropout(dropout)]
    width = d_in
    for _ in range(layers):
        mods += [torch.nn.Linear(width, hidden), torch.nn.LeakyReLU(0.2)]
        width = hidden
    mods.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*mods)


def discriminator_loss(D, real: torch.Tensor, fake: torch.Tensor, smooth: float):
    """Binary cross-entropy of the discriminator on detached inputs: real → 1−smooth, fake → smooth.

    Parameters
    ----------
    D : torch.nn.Module
        (b, d) → (b, 1) logits.
    real, fake : torch.Tensor (b, d)
    smooth : float
        Label smoothing.

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    logits = D(torch.cat([real.detach(), fake.detach()])).squeeze(1)
    labels = torch.cat([torch.full((real.shape[0],), 1.0 - smooth), torch.full((fake.shape[0],), smooth)])
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits))


def gan_losses(D, real: torch.Tensor, fake: torch.Tensor, smooth: float):
    """Both GAN losses of one batch; the generator's uses the flipped label 1−smooth and its
    gradients reach ``fake``.

    Parameters
    ----------
    D : torch.nn.Module
    real, fake : torch.Tensor (b, d)
    smooth : float

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        Discriminator loss, generator loss.
    """
    return discriminator_loss(D, real, fake, smooth), generator_loss(D, fake, 1.0 - smooth)


def generator_loss(D, fake: torch.Tensor, target: float):
    """BCE pushing D(fake) towards the label ``target`` (gradients reach ``fake``).

    Parameters
    ----------
    D : torch.nn.Module
    fake : torch.Tensor (b, d)
    target : float
        The label.

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    logits = D(fake).squeeze(1)
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def init_map(init, X: np.ndarray, Y: np.ndarray, Xs: np.ndarray, mean_y, scale_y) -> np.ndarray:
    """Orthogonal (d_x, d_y) map in standardised coordinates that best reproduces ``init``'s map.

    The map is the Procrustes fit of the standardised X onto init.transform(X) standardised with
    Y's statistics.

    Parameters
    ----------
    init : aligner
        Any aligner; an unfitted one is fitted on the same unpaired (X, Y).
    X : ndarray (n_x, d_x)
    Y : ndarray (n_y, d_y)
    Xs : ndarray (n_x, d_x)
        Standardised X.
    mean_y : ndarray (d_y,)
    scale_y : float
        Y's standardisation.

    Returns
    -------
    ndarray (d_x, d_y)

    Raises
    ------
    ValidationError
        When ``init`` has no ``transform`` or maps X to the wrong shape.
    """
    if not hasattr(init, "transform"):
        raise ValidationError(f"init must be an aligner with fit/transform; got {type(init).__name__}")
    if not getattr(init, "is_fitted", True):
        init.fit(X, Y)
    target = (np.asarray(init.transform(X), np.float64) - mean_y) / scale_y
    if target.shape != (X.shape[0], Y.shape[1]):
        raise ValidationError(f"init maps X to shape {target.shape}; expected {(X.shape[0], Y.shape[1])}")
    return procrustes(Xs, target)


def seed_map(seed_pairs, Xs, Ys):
    """Validated seed pairs and the Procrustes map on them (standardised coordinates).

    Parameters
    ----------
    seed_pairs : array (m, 2)
        (row of X, row of Y).
    Xs : ndarray (n_x, d_x)
    Ys : ndarray (n_y, d_y)

    Returns
    -------
    pairs : ndarray (m, 2) int64
    W : ndarray (d_x, d_y)
    """
    pairs = check_pairs(seed_pairs, Xs.shape[0], Ys.shape[0])
    return pairs, procrustes(Xs[pairs[:, 0]], Ys[pairs[:, 1]])


@contextlib.contextmanager
def seeded(seed: int, device: torch.device):
    """Fork torch's global RNG (CPU and, on CUDA, the current device), seed it, restore on exit:
    module initialisation and dropout become reproducible without touching the caller's state.

    Parameters
    ----------
    seed : int
    device : torch.device
    """
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
