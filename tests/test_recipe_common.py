"""Shared recipe helpers: one timer, one thread cap."""
import torch

from align.recipes.common import limit_threads, timer


def test_timer_records_wall_and_optionally_cpu_time():
    store = {}
    with timer(store, "stats_s"):
        pass
    assert list(store) == ["stats_s"] and store["stats_s"] >= 0
    with timer(store, "embed_m_s", cpu=True):
        sum(range(1000))
    assert list(store) == ["stats_s", "embed_m_s", "embed_m_cpu_s"] and store["embed_m_cpu_s"] >= 0


def test_limit_threads_caps_torch_inside_the_block_only():
    before = torch.get_num_threads()
    with limit_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with limit_threads(0):
        assert torch.get_num_threads() == before
