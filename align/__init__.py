"""align: translate, compare and align the representation spaces of different models."""
from .cache import embed, embed_layers
from .embeddings import EmbeddingSet
from .encoders import list_encoders, load_encoder
from .exceptions import (AlignError, CorruptFileError, DataNotAvailableError, ModelNotAvailableError, NotFittedError,
                         ShapeError, ValidationError)
from .compute import knn

__version__ = "0.1.0"
__all__ = ["EmbeddingSet", "embed", "embed_layers", "list_encoders", "load_encoder", "knn",
           "AlignError", "CorruptFileError", "DataNotAvailableError", "ModelNotAvailableError", "NotFittedError",
           "ShapeError", "ValidationError"]
