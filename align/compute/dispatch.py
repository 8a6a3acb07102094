"""Backend dispatch of the compute wing, written once: which engine runs a search or a kernel.

Two levels share these answers:

- :func:`resolve_backend` turns the user-facing ``backend="auto"`` of :func:`align.compute.knn`
  and :func:`align.compute.csls_knn` into ``"triton"`` (CUDA with Triton), ``"faiss"`` (CPU,
  float32, faiss installed) or ``"torch"``.
- :func:`use_triton` decides, per call, whether a fused kernel of ``cuda_kernels/`` runs
  (:func:`triton_usable` on the tensors' device and a dtype the kernels take) or its torch twin.

The Triton path also runs on CPU tensors under ``TRITON_INTERPRET=1`` (set before Triton is
imported): :func:`interpreting`, which is how the tests check the kernels without a GPU.
"""
from __future__ import annotations

import functools
import os

import torch

from .._validate import is_torch, resolve_device

BACKENDS = ("auto", "torch", "faiss", "triton")
TRITON_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def interpreting() -> bool:
    """Whether Triton runs in its CPU interpreter.

    Returns
    -------
    bool
        True when the ``TRITON_INTERPRET`` environment variable is set to anything but ``""``/``"0"``.
    """
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


@functools.lru_cache(maxsize=1)
def triton_available() -> bool:
    """Whether the ``triton`` package imports (cached for the process).

    Returns
    -------
    bool
    """
    try:
        import triton  # lazy: optional dependency  # noqa: F401
        return True
    except Exception:  # ImportError, or a broken install
        return False


def faiss_available() -> bool:
    """Whether the ``faiss`` package imports.

    Returns
    -------
    bool
    """
    try:
        import faiss  # lazy: optional dependency  # noqa: F401
        return True
    except ImportError:
        return False


def triton_usable(device) -> bool:
    """Whether the Triton kernels can run on ``device`` here.

    Parameters
    ----------
    device : str or torch.device

    Returns
    -------
    bool
        True for a CUDA device with Triton installed, or a CPU device under the interpreter.
    """
    dev = torch.device(device)
    return triton_available() and (dev.type == "cuda" or (interpreting() and dev.type == "cpu"))


def use_triton(backend: str, *tensors) -> bool:
    """Whether a fused kernel runs for ``tensors`` under a kernel-level ``backend``.

    Parameters
    ----------
    backend : {"auto", "triton", "torch"}
        ``"torch"`` forces the torch implementation; the others use Triton where it is usable.
    *tensors : torch.Tensor
        The kernel's inputs; the first one's device decides.

    Returns
    -------
    bool
    """
    if backend == "torch":
        return False
    return all(t.dtype in TRITON_DTYPES for t in tensors) and triton_usable(tensors[0].device)


def device_of(x, device) -> torch.device:
    """Where a search over ``x`` runs: a tensor's own device, else ``device`` ("auto": CUDA if present).

    Parameters
    ----------
    x : numpy.ndarray or torch.Tensor
    device : str

    Returns
    -------
    torch.device
    """
    if is_torch(x):
        return x.device
    return torch.device(resolve_device(device))


def resolve_backend(backend: str, Q, device) -> str:
    """Resolve a search ``backend`` (``"auto"``: triton on CUDA, faiss on CPU for float32, else torch).

    Parameters
    ----------
    backend : {"auto", "torch", "faiss", "triton"}
        Anything but ``"auto"`` is returned unchanged.
    Q : numpy.ndarray or torch.Tensor
        The (validated) queries: their kind, dtype and device decide.
    device : str
        As in :func:`align.compute.knn`.

    Returns
    -------
    str
        ``"triton"``, ``"faiss"`` or ``"torch"``.
    """
    if backend != "auto":
        return backend
    dev = device_of(Q, device)
    if dev.type == "cuda" and triton_usable(dev):
        return "triton"
    f32 = (Q.dtype == torch.float32) if is_torch(Q) else True
    if dev.type == "cpu" and f32 and faiss_available():
        return "faiss"
    return "torch"


__all__ = ["BACKENDS", "TRITON_DTYPES", "interpreting", "triton_available", "faiss_available", "triton_usable",
           "use_triton", "device_of", "resolve_backend"]
