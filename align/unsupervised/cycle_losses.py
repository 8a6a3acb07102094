"""Networks and losses of :class:`~align.unsupervised.CycleAligner` (vec2vec: Jha, Zhang,
Shmatikov and Morris, 2025, "Harnessing the Universal Geometry of Embeddings", arXiv 2505.12540).

Shapes: x (b, d_x), y (b, d_y), latents (b, d_latent). All losses are means over the batch.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..supervised.mlp_blocks import ResidualMLP  # noqa: F401 (also the old import name of this module)
from ._gan import gan_losses, generator_loss


def _adapter(d_in: int, d_out: int, hidden: int, depth: int) -> ResidualMLP:
    """``f(a) = a S + MLP(a)``: a bias-free linear skip S plus a SiLU MLP whose last layer starts at
    zero (the plain body of :class:`~align.supervised.mlp_blocks.ResidualMLP`)."""
    return ResidualMLP(d_in, d_out, hidden, depth, norm="none", activation="silu", residual_blocks=False,
                       skip_bias=False)


class CycleNet(nn.Module):
    """Input adapters A_x, A_y → shared latent MLP T → output adapters B_x, B_y.

    ``F_xy = B_y∘T∘A_x``, ``F_yx = B_x∘T∘A_y``. With ``vib`` the latent T also emits a
    log-variance; training samples ``z = μ + σ·ε`` and inference uses μ.

    Parameters
    ----------
    d_x, d_y, d_latent : int
        Widths of X, Y and the latent.
    hidden, depth : int
        Of every adapter (see :class:`~align.supervised.mlp_blocks.ResidualMLP`, plain body).
    vib : bool
        Variational information bottleneck on the latent.
    """

    def __init__(self, d_x: int, d_y: int, d_latent: int, hidden: int, depth: int, vib: bool):
        super().__init__()
        self.d_latent, self.vib = d_latent, vib
        self.A_x = _adapter(d_x, d_latent, hidden, depth)
        self.A_y = _adapter(d_y, d_latent, hidden, depth)
        self.T = _adapter(d_latent, d_latent, hidden, depth)
        self.B_x = _adapter(d_latent, d_x, hidden, depth)
        self.B_y = _adapter(d_latent, d_y, hidden, depth)
        self.logvar = nn.Linear(d_latent, d_latent) if vib else None
        if vib:  # start almost deterministic: σ ≈ 0.02
            nn.init.zeros_(self.logvar.weight)
            nn.init.constant_(self.logvar.bias, -8.0)

    def latent(self, a, side: str, sample: bool):
        """(b, d_side) → (z (b, d_latent), KL per row (b,) or None)."""
        mu = self.T((self.A_x if side == "x" else self.A_y)(a))
        if not self.vib:
            return mu, None
        logvar = self.logvar(mu).clamp(-12.0, 6.0)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1)
        if sample:
            mu = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        return mu, kl

    def decode(self, z, side: str):
        """Latent (b, d_latent) → side ``"x"`` or ``"y"``."""
        return (self.B_x if side == "x" else self.B_y)(z)

    def translate(self, a, src: str, dst: str):
        """Deterministic (μ) translation, e.g. ``translate(x, "x", "y")`` = F_xy(x)."""
        return self.decode(self.latent(a, src, sample=False)[0], dst)

    def warm_start(self, W: np.ndarray):
        """Set the skips so that F_xy(x) = x W, F_yx(y) = y Wᵀ and A_y, B_y embed Y's space in the
        latent (W: (d_x, d_y) in standardised coordinates; needs d_latent ≥ d_y)."""
        d_x, d_y = W.shape
        E = np.eye(d_y, self.d_latent)  # Y's coordinates → the first d_y latent coordinates
        self.A_y.set_linear(E)
        self.B_y.set_linear(E.T)
        self.A_x.set_linear(W @ E)
        self.B_x.set_linear(E.T @ W.T)
        self.T.set_linear(np.eye(self.d_latent))


def reconstruction_loss(a, rec):
    """Mean over rows of ‖a − rec‖² (rows are standardised to unit RMS norm).

    Parameters
    ----------
    a, rec : torch.Tensor (b, d)

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    return (a - rec).pow(2).sum(1).mean()


def vsp_loss(a, translated):
    """Vector-space preservation: mean |cos(a_i, a_j) − cos(F(a_i), F(a_j))| over the batch's pairs.

    Parameters
    ----------
    a : torch.Tensor (b, d_a)
    translated : torch.Tensor (b, d_t)
        F(a).

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    an, tn = F.normalize(a, dim=1), F.normalize(translated, dim=1)
    return (an @ an.T - tn @ tn.T).abs().mean()


def generator_step(net, discs, x, y, w: dict, smooth: float, seed_batch=None):
    """All losses of one batch.

    Parameters
    ----------
    net : CycleNet
    discs : dict
        Optional ``"x"``, ``"y"``, ``"latent"`` discriminators.
    x : torch.Tensor (b, d_x)
    y : torch.Tensor (b, d_y)
    w : dict
        Loss weights (``adv``, ``latent``, ``rec``, ``cycle``, ``vsp``, ``vib``, ``seed``); a zero
        weight skips the term.
    smooth : float
        Label smoothing.
    seed_batch : (torch.Tensor, torch.Tensor) or None
        Paired seed rows of X and Y.

    Returns
    -------
    (torch.Tensor, torch.Tensor, dict)
        Generator loss, discriminator loss, and each term.
    """
    z_x, kl_x = net.latent(x, "x", sample=True)
    z_y, kl_y = net.latent(y, "y", sample=True)
    y_hat, x_hat = net.decode(z_x, "y"), net.decode(z_y, "x")
    parts, d_total = {}, x.new_zeros(())
    g_total = x.new_zeros(())
    if w["adv"] > 0:
        d1, g1 = gan_losses(discs["y"], y, y_hat, smooth)
        d2, g2 = gan_losses(discs["x"], x, x_hat, smooth)
        parts["adv"] = (g1 + g2) / 2
        d_total = d_total + (d1 + d2) / 2
        g_total = g_total + w["adv"] * parts["adv"]
    if w["latent"] > 0:  # latents of X should be indistinguishable from latents of Y
        d3, g3a = gan_losses(discs["latent"], z_y, z_x, smooth)
        g3b = generator_loss(discs["latent"], z_y, smooth)  # flipped label for the "real" side too
        parts["latent"] = (g3a + g3b) / 2
        d_total = d_total + d3
        g_total = g_total + w["latent"] * parts["latent"]
    if w["rec"] > 0:
        parts["rec"] = (reconstruction_loss(x, net.decode(z_x, "x")) + reconstruction_loss(y, net.decode(z_y, "y"))) / 2
        g_total = g_total + w["rec"] * parts["rec"]
    if w["cycle"] > 0:
        x_cyc = net.decode(net.latent(y_hat, "y", sample=True)[0], "x")
        y_cyc = net.decode(net.latent(x_hat, "x", sample=True)[0], "y")
        parts["cycle"] = (reconstruction_loss(x, x_cyc) + reconstruction_loss(y, y_cyc)) / 2
        g_total = g_total + w["cycle"] * parts["cycle"]
    if w["vsp"] > 0:
        parts["vsp"] = (vsp_loss(x, y_hat) + vsp_loss(y, x_hat)) / 2
        g_total = g_total + w["vsp"] * parts["vsp"]
    if kl_x is not None and w["vib"] > 0:
        parts["vib"] = (kl_x.mean() + kl_y.mean()) / 2
        g_total = g_total + w["vib"] * parts["vib"]
    if seed_batch is not None and w["seed"] > 0:
        sx, sy = seed_batch
        parts["seed"] = (reconstruction_loss(sy, net.translate(sx, "x", "y"))
                         + reconstruction_loss(sx, net.translate(sy, "y", "x"))) / 2
        g_total = g_total + w["seed"] * parts["seed"]
    return g_total, d_total, parts
