"""The one residual MLP of align: a linear skip map plus a non-linear correction that starts at zero.

Used by :class:`~align.supervised.MLPTranslator` (pre-norm residual blocks, GELU, dropout) and by
the adapters of :class:`~align.unsupervised.CycleAligner` (a plain SiLU stack without skip bias, as
in vec2vec: Jha, Zhang, Shmatikov and Morris, 2025, arXiv 2505.12540). Both start as exactly their
linear ``skip`` map, so a warm start (ridge, Procrustes, an unsupervised aligner) can be placed
there and training adds the non-linear part only where the losses ask for it.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

NORMS = ("layer", "batch", "none")
ACTIVATIONS = {"gelu": nn.GELU, "silu": nn.SiLU}


def make_norm(kind: str, width: int) -> nn.Module:
    """A normalisation layer.

    Parameters
    ----------
    kind : {"layer", "batch", "none"}
        LayerNorm, BatchNorm1d or Identity.
    width : int
        Features.

    Returns
    -------
    torch.nn.Module
    """
    return {"layer": lambda: nn.LayerNorm(width), "batch": lambda: nn.BatchNorm1d(width),
            "none": nn.Identity}[kind]()


class ResidualBlock(nn.Module):
    """Pre-norm residual block: ``h + W₂ · dropout(GELU(W₁ · norm(h)))``.

    Parameters
    ----------
    width : int
        Features in and out.
    norm : {"layer", "batch", "none"}
    dropout : float
    """

    def __init__(self, width, norm, dropout):
        super().__init__()
        self.norm = make_norm(norm, width)
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)
        self.drop = nn.Dropout(dropout)

    def forward(self, h):
        """(b, width) → (b, width)."""
        return h + self.fc2(self.drop(nn.functional.gelu(self.fc1(self.norm(h)))))


class ResidualMLP(nn.Module):
    """``f(x) = skip(x) + correction(x)``, the correction's last layer initialised at zero.

    Two bodies share the skip and the zero start:

    - ``residual_blocks=True`` (the translator): ``out(dropout(norm(blocks(GELU(inp(x))))))`` with
      ``depth`` hidden layers of width ``hidden`` (1 = one hidden layer; each extra layer is a
      :class:`ResidualBlock`).
    - ``residual_blocks=False`` (the cycle adapters): ``depth − 1`` layers ``Linear → activation``
      then a Linear to ``d_out``; ``depth=0`` is the skip alone (a linear map).

    Parameters
    ----------
    d_in, d_out, hidden, depth : int
        Input, output and hidden widths; number of hidden layers.
    norm : {"layer", "batch", "none"}, default "layer"
        Normalisation of the residual body (ignored by the plain body).
    dropout : float, default 0.0
        Dropout of the residual body (ignored by the plain body).
    activation : {"gelu", "silu"}, default "gelu"
        Activation of the plain body (the residual body uses GELU).
    residual_blocks : bool, default True
        Which body (above).
    skip_bias : bool, default True
        Whether the linear skip has a bias.
    """

    def __init__(self, d_in, d_out, hidden, depth, norm="layer", dropout=0.0, *, activation="gelu",
                 residual_blocks=True, skip_bias=True):
        super().__init__()
        self.residual_blocks = residual_blocks
        self.skip = nn.Linear(d_in, d_out, bias=skip_bias)
        if residual_blocks:
            self.inp = nn.Linear(d_in, hidden)
            self.blocks = nn.ModuleList([ResidualBlock(hidden, norm, dropout) for _ in range(depth - 1)])
            self.norm = make_norm(norm, hidden)
            self.drop = nn.Dropout(dropout)
            self.out = nn.Linear(hidden, d_out)
            last = self.out
        else:
            layers, width = [], d_in
            for _ in range(max(depth - 1, 0)):
                layers += [nn.Linear(width, hidden), ACTIVATIONS[activation]()]
                width = hidden
            self.mlp = nn.Sequential(*layers, nn.Linear(width, d_out)) if depth > 0 else None
            last = None if self.mlp is None else self.mlp[-1]
        if last is not None:
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def forward(self, x):
        """(b, d_in) → (b, d_out)."""
        if self.residual_blocks:
            h = nn.functional.gelu(self.inp(x))
            for block in self.blocks:
                h = block(h)
            return self.skip(x) + self.out(self.drop(self.norm(h)))
        out = self.skip(x)
        return out if self.mlp is None else out + self.mlp(x)

    def set_linear(self, M: np.ndarray, bias: np.ndarray | None = None) -> None:
        """Make the skip compute ``x @ M (+ bias)``.

        Parameters
        ----------
        M : ndarray (d_in, d_out)
        bias : ndarray (d_out,) or None
            Needs ``skip_bias=True``.
        """
        with torch.no_grad():
            self.skip.weight.copy_(torch.as_tensor(M.T, dtype=self.skip.weight.dtype))
            if bias is not None:
                self.skip.bias.copy_(torch.as_tensor(bias, dtype=self.skip.bias.dtype))
