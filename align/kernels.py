"""Old import path of the kernel loader, kept for user code: it lives in :mod:`align.compute.kernels`."""
from .compute import (COSTS, MAX_TOPK, cost_aux, cost_block, csls_topk, csls_topk_reference,  # noqa: F401
                      interpreting, knn_blocks, lse_rows, lse_rows_reference, row_sq, similarity_topk,
                      similarity_topk_reference, triton_available, triton_usable)

__all__ = ["similarity_topk", "similarity_topk_reference", "csls_topk", "csls_topk_reference", "lse_rows",
           "lse_rows_reference", "cost_aux", "cost_block", "COSTS", "MAX_TOPK", "triton_available",
           "triton_usable", "interpreting"]
