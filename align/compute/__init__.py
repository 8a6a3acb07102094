"""The compute wing: exact search, top-k, CSLS, Sinkhorn and the Triton kernels' dispatch.

=====================  ==================================================================
``search``             :func:`knn` (faiss-like, backends torch / faiss / triton)
``topk``               blocked exact top-k in torch, merges, the lowest-index tie rule
``csls``               CSLS once: :func:`csls_radius`, :func:`csls_topk`, :func:`csls_knn`,
                       :func:`csls_both`
``transport``          entropic OT: :func:`sinkhorn` (point clouds), :func:`sinkhorn_matrix`
                       (a given cost matrix, POT's ``ot.sinkhorn``); iterations in
                       ``sinkhorn_iterations``, the result object in ``sinkhorn_result``
``kernels``            loader of the Triton kernels with torch fallbacks
                       (:func:`similarity_topk`, :func:`lse_rows`, cost helpers)
``dispatch``           ``backend="auto"``, :func:`triton_usable`, :func:`faiss_available`,
                       :func:`interpreting`
``cuda_kernels``       the Triton sources (top-level ``cuda_kernels/`` folder)
=====================  ==================================================================
"""
from .csls import csls_both, csls_knn, csls_radius, csls_topk, csls_topk_reference
from .dispatch import BACKENDS, faiss_available, interpreting, resolve_backend, triton_available, triton_usable
from .kernels import (COSTS, MAX_TOPK, cost_aux, cost_block, lse_rows, lse_rows_reference, similarity_topk,
                      similarity_topk_reference)
from .search import METRICS, knn
from .sinkhorn_result import SinkhornResult
from .topk import knn_blocks, merge_topk, row_sq, tile_topk, topk_lowest_index
from .transport import sinkhorn, sinkhorn_matrix

__all__ = ["knn", "csls_knn", "csls_both", "csls_radius", "csls_topk", "csls_topk_reference",
           "knn_blocks", "merge_topk", "row_sq", "tile_topk", "topk_lowest_index",
           "sinkhorn", "sinkhorn_matrix", "SinkhornResult",
           "similarity_topk", "similarity_topk_reference", "lse_rows", "lse_rows_reference", "cost_aux",
           "cost_block", "COSTS", "MAX_TOPK", "METRICS", "BACKENDS",
           "faiss_available", "interpreting", "resolve_backend", "triton_available", "triton_usable"]
