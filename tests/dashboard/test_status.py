"""The dashboard's status document stays bounded and follows the timestamps."""

from __future__ import annotations

import json

from zkpipe.kpi.dashboard import MAX_BATCHES, OpenBatch, PipelineSnapshot, compute_status
from zkpipe.kpi.dashboard.status import SERIES_POINTS, compute_state_series
from zkpipe.kpi.report import BatchTimes, RunCosts, TxTimes, compute_kpi_report

COSTS = RunCosts(sequence_gas=0, sequenced_txs=0, verify_gas=[], prover_busy_seconds=0.0,
                 threads_per_prover=1, block_intervals=[])  # fmt: skip


def test_state_series_counts_each_state_at_each_instant() -> None:
    txs = [TxTimes(0.0, 1.0, 3.0, 9.0), TxTimes(2.0, 2.5, None, None)]
    series = compute_state_series(txs, [(4.0, 1)], now=10.0, points=11)
    assert series["t"][0] == 0.0 and series["t"][-1] == 10.0
    at = series["t"].index(3.0)
    assert (series["trusted"][at], series["virtual"][at], series["consolidated"][at]) == (2, 1, 0)
    assert series["pending"][series["t"].index(2.0)] == 1  # the second arrived, not yet trusted
    assert series["consolidated"][-1] == 1 and series["rejected"][at] == 0 and series["rejected"][-1] == 1


def test_a_long_run_gives_a_status_of_bounded_size() -> None:
    txs = [TxTimes(float(i), i + 0.1, i + 1.0, i + 5.0) for i in range(50_000)]
    batches = [BatchTimes(n, 10, 10.0 * n, 10.0 * n + 9, *[None] * 5) for n in range(1, 2001)]
    snapshot = PipelineSnapshot(
        taken_at=60_000.0, started_at=0.0, chain={"mempool_size": 3}, health={"ok": True, "failures": {}},
        txs=txs, rejected=2, open_batch=OpenBatch(2001, 0, None), batches=batches,
        kpis=compute_kpi_report(txs, batches, COSTS), pool=None, aggregation_n=2, last_aggregate=None,
    )  # fmt: skip
    status = compute_status(snapshot, [(1.0, 2)])
    assert len(status["series"]["trusted"]) == SERIES_POINTS
    assert len(status["batches"]) == MAX_BATCHES and status["batches"][-1]["number"] == 2000
    assert status["counts"] == {"pending": 3, "trusted": 50_000, "virtual": 50_000, "consolidated": 50_000,
                                "rejected": 2}  # fmt: skip
    assert len(json.dumps(status)) < 64_000
