"""Old import path of the Sinkhorn solvers, kept for user code: they live in :mod:`align.compute`."""
from .compute import SinkhornResult, sinkhorn, sinkhorn_matrix
from .compute.transport import METHODS

__all__ = ["sinkhorn", "sinkhorn_matrix", "SinkhornResult", "METHODS"]
