"""Mount point of the top-level ``cuda_kernels/`` folder (the Triton sources) in a source checkout.

An installed ``align`` ships that folder's files here (setuptools ``package-dir`` maps
``align.compute.cuda_kernels`` to ``cuda_kernels/``), so this file only exists in the source tree:
it points the package's search path at the real folder, which makes ``import
align.compute.cuda_kernels.topk`` work from a plain checkout (``PYTHONPATH=<checkout>``) and from
an editable install alike. Nothing here imports Triton.
"""
from pathlib import Path

__path__ = [str(Path(__file__).resolve().parents[3] / "cuda_kernels")]
