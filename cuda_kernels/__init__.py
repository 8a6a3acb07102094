"""Triton sources of the fused GPU kernels, installed as :mod:`align.compute.cuda_kernels`.

Nothing here is imported unless a kernel runs: :mod:`align.compute.kernels` is the loader that
chooses between these kernels and their pure-torch twins (:mod:`align.compute.dispatch` decides).
See README.md in this folder for what each kernel does.

- :mod:`.keys`: order-preserving packing of (fp32 score, int32 index) into one int64 key, in Triton
  and in torch (the top-k kernels compare keys, which makes ties go to the lower index exactly).
- :mod:`.topk`: fused similarity + running top-k (inner product, cosine, L2 via a column bias).
- :mod:`.tiles`: the tile GEMM both kernels start from.
- :mod:`.lse`: one online log-sum-exp pass over cost tiles (the half-iteration of log-domain
  Sinkhorn), optionally with the transport cost and plan @ V accumulated in the same pass.

Under ``TRITON_INTERPRET=1`` (set before Triton is imported) the kernels run on CPU tensors, which
is how the tests check them on machines without a GPU.
"""
