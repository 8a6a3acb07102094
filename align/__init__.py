"""align: translate, compare and align the representation spaces of different models.

The user-facing names load on first use (PEP 562), so ``import align`` — and the ``align`` command's
``--help`` — does not import torch.
"""
import importlib

from .exceptions import (AlignError, CorruptFileError, DataNotAvailableError, DegenerateFitWarning, ModelNotAvailableError,
                         NotFittedError, ShapeError, ValidationError)

__version__ = "0.1.0"
_LAZY = {"EmbeddingSet": "embeddings", "embed": "cache", "embed_layers": "cache", "list_encoders": "encoders",
         "load_encoder": "encoders", "knn": "compute"}
__all__ = ["EmbeddingSet", "embed", "embed_layers", "list_encoders", "load_encoder", "knn",
           "AlignError", "CorruptFileError", "DataNotAvailableError", "DegenerateFitWarning", "ModelNotAvailableError",
           "NotFittedError", "ShapeError", "ValidationError"]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'align' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
