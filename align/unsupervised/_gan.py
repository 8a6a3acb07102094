"""Pieces shared by the adversarial and cycle aligners: input scaling, a label-free criterion, an
MLP discriminator, warm starts from another aligner, and seeded torch state."""
from __future__ import annotations

import contextlib

import numpy as np
import torch

from .._validate import check_choice, check_positive_int
from ..encoders.base import resolve_device
from ..exceptions import ValidationError
from ..search import csls_knn
from ..supervised.procrustes import procrustes
from .refine import check_pairs


def standardise(A: np.ndarray):
    """Centre the rows and divide by the RMS row norm. Returns ``(A_std float32, mean (d,), scale)``.

    A global scale keeps the geometry (cosines, ratios of distances) and lets an orthogonal map
    carry one set onto the other when the two models use different norms.
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
    Higher is better; no labels are used. mapped: (n_x, d), Y: (n_y, d).
    """
    a = mapped if rows is None else mapped[:rows]
    b = Y if rows is None else Y[:rows]
    _, I = csls_knn(np.ascontiguousarray(a, np.float32), np.ascontiguousarray(b, np.float32), 1, csls_k=csls_k)
    an = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    bn = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return float((an * bn[I[:, 0]]).sum(1).mean())


def discriminator(d_in: int, hidden: int, layers: int, dropout: float) -> torch.nn.Sequential:
    """MUSE-style discriminator: input dropout, ``layers`` LeakyReLU(0.2) hidden layers, one logit."""
    mods = [torch.nn.Dropout(dropout)]
    width = d_in
    for _ in range(layers):
        mods += [torch.nn.Linear(width, hidden), torch.nn.LeakyReLU(0.2)]
        width = hidden
    mods.append(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(*mods)


def discriminator_loss(D, real: torch.Tensor, fake: torch.Tensor, smooth: float):
    """Binary cross-entropy of the discriminator on detached inputs: real → 1−smooth, fake → smooth."""
    logits = D(torch.cat([real.detach(), fake.detach()])).squeeze(1)
    labels = torch.cat([torch.full((real.shape[0],), 1.0 - smooth), torch.full((fake.shape[0],), smooth)])
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits))


def gan_losses(D, real: torch.Tensor, fake: torch.Tensor, smooth: float):
    """``(discriminator loss, generator loss)``; the generator's uses the flipped label 1−smooth and
    its gradients reach ``fake``."""
    return discriminator_loss(D, real, fake, smooth), generator_loss(D, fake, 1.0 - smooth)


def generator_loss(D, fake: torch.Tensor, target: float):
    """BCE pushing D(fake) towards the label ``target`` (gradients reach ``fake``)."""
    logits = D(fake).squeeze(1)
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def init_map(init, X: np.ndarray, Y: np.ndarray, Xs: np.ndarray, mean_y, scale_y) -> np.ndarray:
    """Orthogonal (d_x, d_y) map in standardised coordinates that best reproduces ``init``'s map.

    ``init`` is any aligner; an unfitted one is fitted on the same unpaired (X, Y). The map is the
    Procrustes fit of the standardised X onto init.transform(X) standardised with Y's statistics.
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
    """Validated seed pairs (m, 2) and the Procrustes map on them (standardised coordinates)."""
    pairs = check_pairs(seed_pairs, Xs.shape[0], Ys.shape[0])
    return pairs, procrustes(Xs[pairs[:, 0]], Ys[pairs[:, 1]])


def check_common(obj):
    """Checks shared by the two aligners' parameters."""
    check_positive_int(obj.seed, "seed", minimum=0)
    check_positive_int(obj.batch_size, "batch_size", minimum=2)
    check_positive_int(obj.csls_k, "csls_k")
    check_choice(obj.show_progress, "show_progress", (True, False))
    check_choice(obj.rescale, "rescale", (True, False))
    if not isinstance(obj.device, str):
        raise ValidationError(f"device must be a string such as 'auto', 'cpu' or 'cuda'; got {obj.device!r}")
    return torch.device(resolve_device(obj.device))


@contextlib.contextmanager
def seeded(seed: int, device: torch.device):
    """Fork torch's global RNG (CPU and, on CUDA, the current device), seed it, restore on exit:
    module initialisation and dropout become reproducible without touching the caller's state."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def check_weight(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not np.isfinite(value) or value < 0:
        raise ValidationError(f"{name} must be a finite number >= 0; got {value!r}")
    return float(value)
