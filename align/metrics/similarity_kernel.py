"""Old name of :mod:`align.metrics.similarity_global` (CKA, SVCCA, RSA), kept so imports keep working.

"kernel" here meant kernel methods (Gram matrices), which read as the Triton kernels of
:mod:`align.compute`; the module was renamed for that reason.
"""
from .similarity_global import cka, rsa, rsa_pairs, svcca, unbiased_cka, unbiased_hsic_terms  # noqa: F401
