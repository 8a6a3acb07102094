"""The compute wing: exact search, top-k, CSLS, Sinkhorn and the Triton kernels' dispatch."""
from .csls import csls_both, csls_radius

__all__ = ["csls_both", "csls_radius"]
