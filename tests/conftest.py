"""Test configuration: offline, an isolated cache per session, GPU tests skipped without CUDA."""
import os
import sys

# test oracles (naive_similarity.py, ...) sit next to the tests
sys.path.insert(0, os.path.dirname(__file__))

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Tests never read or write the user's embedding cache."""
    old = os.environ.get("ALIGN_CACHE")
    os.environ["ALIGN_CACHE"] = str(tmp_path_factory.mktemp("align-cache"))
    yield
    if old is None:
        os.environ.pop("ALIGN_CACHE", None)
    else:
        os.environ["ALIGN_CACHE"] = old


def pytest_collection_modifyitems(config, items):
    try:
        has_cuda = torch.cuda.is_available()
    except Exception:
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def one_torch_thread():
    """Tiny problems: a 2-thread pool on a busy machine costs ~100x more than the work itself."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
