"""Registry of offline encoders: ``name → EncoderInfo + factory``.

>>> from align.encoders import list_encoders, load_encoder
>>> [e.name for e in list_encoders() if e.installed]            # doctest: +SKIP
>>> enc = load_encoder("minilm-l6"); X = enc.encode(["a sentence"])   # doctest: +SKIP
"""
from __future__ import annotations

from functools import partial

from ..exceptions import ModelNotAvailableError
from .base import Encoder, EncoderInfo, resolve_device
from .e5 import E5_SMALL, E5_SMALL_ENPT, E5Encoder
from .hf import GEMMA3, SMOLLM2, SMOLLM2_RANDOM, GGUFDecoder, locate_gemma3, locate_smollm2
from .sentence import (MINILM_L3_ONNX, MINILM_L6, MPNET, OnnxMiniLMEncoder, SentenceTransformerEncoder,
                       locate_minilm_l6, locate_mpnet)
from .static import FASTTEXT_FR, GLOVE_EN, StaticEncoder, read_fasttext_fr, read_glove

_REGISTRY = {
    MINILM_L6.name: (MINILM_L6, partial(SentenceTransformerEncoder, locate=locate_minilm_l6)),
    MINILM_L3_ONNX.name: (MINILM_L3_ONNX, OnnxMiniLMEncoder),
    E5_SMALL.name: (E5_SMALL, E5Encoder),
    E5_SMALL_ENPT.name: (E5_SMALL_ENPT, partial(E5Encoder, variant="enpt")),
    MPNET.name: (MPNET, partial(SentenceTransformerEncoder, locate=locate_mpnet)),
    SMOLLM2.name: (SMOLLM2, partial(GGUFDecoder, locate=locate_smollm2)),
    SMOLLM2_RANDOM.name: (SMOLLM2_RANDOM, partial(GGUFDecoder, locate=locate_smollm2, random_init_seed=0)),
    GEMMA3.name: (GEMMA3, partial(GGUFDecoder, locate=locate_gemma3)),
    GLOVE_EN.name: (GLOVE_EN, partial(StaticEncoder, reader=read_glove, lowercase=True)),
    FASTTEXT_FR.name: (FASTTEXT_FR, partial(StaticEncoder, reader=read_fasttext_fr, lowercase=False)),
}


def list_encoders() -> list[EncoderInfo]:
    """Every registered encoder (installed or not); see ``EncoderInfo.installed``."""
    return [info for info, _ in _REGISTRY.values()]


def get_info(name: str) -> EncoderInfo:
    """Registry entry of encoder ``name`` (nothing is loaded).

    Parameters
    ----------
    name : str
        A registered encoder name (``align models``).

    Returns
    -------
    EncoderInfo

    Raises
    ------
    ModelNotAvailableError
        For an unknown name.
    """
    try:
        return _REGISTRY[name][0]
    except (KeyError, TypeError):
        raise ModelNotAvailableError(
            f"unknown encoder {name!r}; known: {', '.join(_REGISTRY)}") from None


def load_encoder(name: str, *, device: str = "auto", batch_size: int | None = None) -> Encoder:
    """An encoder object for ``name``; weights load on first use. Raises ModelNotAvailableError."""
    info = get_info(name)
    factory = _REGISTRY[name][1]
    kwargs = {"device": device}
    if batch_size is not None:
        kwargs["batch_size"] = batch_size
    return factory(info, **kwargs)


__all__ = ["Encoder", "EncoderInfo", "list_encoders", "get_info", "load_encoder", "resolve_device"]
