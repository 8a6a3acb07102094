"""The compute wing's layout: old import paths are thin re-exports, CSLS is one computation seen
from several faces, and the Triton sources of cuda_kernels/ import from a plain checkout."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import align
import align.compute as C
import align.compute.cuda_kernels as kernel_sources
from align.compute import csls_both, csls_knn, csls_radius, csls_topk, dispatch, knn
from align.compute.transport import METHODS
from align.ot import METHODS as OLD_METHODS

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


OLD_PATHS = {
    "align.search": ["knn", "csls_knn", "knn_blocks", "topk_lowest_index", "merge_topk", "tile_topk", "METRICS",
                     "BACKENDS", "faiss_available", "csls_topk", "similarity_topk", "triton_usable"],
    "align.kernels": ["similarity_topk", "similarity_topk_reference", "csls_topk", "csls_topk_reference",
                      "lse_rows", "lse_rows_reference", "cost_aux", "cost_block", "COSTS", "MAX_TOPK",
                      "triton_available", "triton_usable", "interpreting", "knn_blocks", "row_sq"],
    "align.ot": ["sinkhorn", "sinkhorn_matrix", "SinkhornResult"],
}


@pytest.mark.parametrize("module", sorted(OLD_PATHS))
def test_old_paths_give_the_same_objects(module):
    mod = __import__(module, fromlist=["_"])
    for name in OLD_PATHS[module]:
        assert getattr(mod, name) is getattr(C, name), f"{module}.{name}"
    assert align.knn is C.knn
    assert OLD_METHODS is METHODS


@pytest.mark.parametrize("module", ["search", "kernels", "ot"])
def test_old_modules_are_thin(module):
    tree = ast.parse((ROOT / "align" / f"{module}.py").read_text(encoding="utf-8"))
    body = tree.body[1:]  # after the docstring
    assert all(isinstance(node, (ast.ImportFrom, ast.Assign)) for node in body)
    assert all(node.module.startswith("compute") for node in body if isinstance(node, ast.ImportFrom))


def test_one_interpreting():
    hits = [p for p in list((ROOT / "align").rglob("*.py")) + list((ROOT / "cuda_kernels").rglob("*.py"))
            if "def interpreting(" in p.read_text(encoding="utf-8")]
    assert hits == [Path(dispatch.__file__).resolve()]


def _faces_data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(70, 12)).astype(np.float32), rng.normal(size=(90, 12)).astype(np.float32)


def test_csls_faces_agree():
    A, B = _faces_data()
    (Df, If), (Db, Ib) = csls_both(A, B, 3, csls_k=5)
    for backend in ["torch", "faiss"] if C.faiss_available() else ["torch"]:
        D, I = csls_knn(A, B, 3, csls_k=5, backend=backend)
        np.testing.assert_array_equal(I, If)
        np.testing.assert_allclose(D, Df, atol=1e-6)
        D, I = csls_knn(B, A, 3, csls_k=5, backend=backend)
        np.testing.assert_array_equal(I, Ib)
    # the radius is the mean cosine to the csls_k nearest rows; numpy and torch faces agree
    r = csls_radius(A, B, 5)
    S = (A / np.linalg.norm(A, axis=1, keepdims=True)) @ (B / np.linalg.norm(B, axis=1, keepdims=True)).T
    np.testing.assert_allclose(r, -np.sort(-S, 1)[:, :5].mean(1), atol=1e-6)
    rt = csls_radius(torch.from_numpy(A), torch.from_numpy(B), 5, backend="torch")
    np.testing.assert_allclose(rt.numpy(), r, atol=1e-6)
    Dt, It = csls_topk(torch.from_numpy(A), torch.from_numpy(B), 3, csls_k=5, backend="torch")
    np.testing.assert_array_equal(It.numpy(), If)


def test_csls_both_is_bit_identical_to_its_definition():
    # the pre-redesign csls_both: numpy-mean radii, then knn_blocks of 2 cos − r_b, minus r_a
    A, B = _faces_data(1)
    r_a = knn(A, B, 4, metric="cosine")[0].mean(1).astype(np.float32)
    r_b = knn(B, A, 4, metric="cosine")[0].mean(1).astype(np.float32)
    D, I = C.knn_blocks(torch.from_numpy(A), torch.from_numpy(B), 2, metric="cosine",
                        column_bias=-torch.from_numpy(r_b), scale=2.0)
    (Df, If), _ = csls_both(A, B, 2, csls_k=4)
    np.testing.assert_array_equal(If, I.numpy())
    np.testing.assert_array_equal(Df, D.numpy() - r_a[:, None])


def test_kernel_sources_mount_from_the_checkout():
    assert [Path(p).resolve() for p in kernel_sources.__path__] == [ROOT / "cuda_kernels"]
    assert not (ROOT / "align" / "_kernels").exists()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    code = ("import importlib.util, align.compute.cuda_kernels as ck; "
            "assert importlib.util.find_spec('align.compute.cuda_kernels.topk').origin.endswith('cuda_kernels/topk.py')")
    subprocess.run([sys.executable, "-c", code], env=env, cwd="/", check=True, timeout=120)


def test_pyproject_installs_the_kernel_sources():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[tool.setuptools.package-dir]", 1)[1].split("\n[", 1)[0]
    assert '"align.compute.cuda_kernels" = "cuda_kernels"' in section
    assert {"__init__.py", "keys.py", "topk.py", "lse.py"} <= {p.name for p in (ROOT / "cuda_kernels").iterdir()}
