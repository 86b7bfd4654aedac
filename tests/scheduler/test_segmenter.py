"""The segmenter: jobs per batch, and k chosen from a memory budget with the measured table."""

from __future__ import annotations

import pytest

from tests.scheduler.helpers import make_batches
from zkpipe.errors import InvalidInput
from zkpipe.planner.measurements import load_default_measurements
from zkpipe.proving.segmenter import Segmenter, choose_segment_size


def test_jobs_cover_the_batch_in_order() -> None:
    state, (result,) = make_batches(1, txs=20)
    jobs = Segmenter(8).jobs(result)
    assert [j.index for j in jobs] == [0, 1, 2]
    assert jobs[0].expected.root_before == state.tree.root
    assert jobs[-1].expected.root_after == result.state.tree.root


def test_largest_size_that_fits_the_memory_budget() -> None:
    table = load_default_measurements()
    by_k = {2**row.log2_cycles: row.memory_bytes for row in table.segments}
    assert choose_segment_size(table, by_k[32]) == 32
    assert choose_segment_size(table, by_k[32] - 1) == 16
    assert Segmenter.for_memory_budget(10 * 2**30).k == max(by_k)


def test_least_cpu_for_a_small_batch() -> None:
    table = load_default_measurements()
    # 8 transactions: one k=8 segment beats one half-empty bigger segment.
    assert choose_segment_size(table, 10 * 2**30, batch_txs=8) == 8


def test_invalid_budget_below_every_size() -> None:
    with pytest.raises(InvalidInput):
        choose_segment_size(load_default_measurements(), 1)
    with pytest.raises(InvalidInput):
        Segmenter(7)
