"""Old import path of the search functions, kept for user code: they live in :mod:`align.compute`."""
from .compute import (BACKENDS, METRICS, csls_knn, csls_topk, faiss_available, knn, knn_blocks,  # noqa: F401
                      merge_topk, similarity_topk, tile_topk, topk_lowest_index, triton_usable)

__all__ = ["knn", "csls_knn", "knn_blocks", "topk_lowest_index", "merge_topk", "tile_topk", "METRICS", "BACKENDS",
           "faiss_available"]
