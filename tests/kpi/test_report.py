"""The KPI report: delays and throughput from timestamps, stage samples, the table and the timeline."""

from __future__ import annotations

import math
from pathlib import Path

from rich.console import Console

from zkpipe.kpi.report import (
    BatchTimes,
    RunCosts,
    TxTimes,
    compute_kpi_report,
    plot_timeline,
    render_kpi_table,
)


def batches() -> list[BatchTimes]:
    return [
        BatchTimes(1, 2, 0.0, 1.0, 3.0, 3.0, 8.0, 10.0, 12.0),
        BatchTimes(2, 2, 1.0, 2.0, 3.0, 3.0, 9.0, 10.0, 12.0),
        BatchTimes(3, 1, 2.0, 3.0, 5.0, None, None, None, None),
    ]


def txs() -> list[TxTimes]:
    return [
        TxTimes(0.0, 0.01, 3.0, 12.0),
        TxTimes(0.5, 0.51, 3.0, 12.0),
        TxTimes(1.0, 1.02, 3.0, 12.0),
        TxTimes(1.5, 1.51, 3.0, 12.0),
        TxTimes(2.0, 2.01, 5.0, None),
    ]


COSTS = RunCosts(sequence_gas=50_000, sequenced_txs=5, verify_gas=[70_000], prover_busy_seconds=20.0,
                 threads_per_prover=1, block_intervals=[2.0, 2.0])  # fmt: skip


def test_delays_throughput_and_stage_times_follow_the_timestamps() -> None:
    report = compute_kpi_report(txs(), batches(), COSTS)
    assert report.transactions == 4 and report.batches == 2
    assert report.delay_consolidated.p50 == 11.25  # median of 12, 11.5, 11, 10.5
    assert math.isclose(report.delay_trusted.p99, 0.0196, rel_tol=1e-6)
    assert report.throughput == 4 / 12.0
    assert report.close_a_batch_time == 1.0
    assert report.prove_a_batch_time == 5.5  # (8-3 + 9-3) / 2
    assert report.aggregation_time == 1.5  # (10-8 + 10-9) / 2
    assert report.block_time == 2.0
    assert report.l1_gas_per_tx == 10_000 and report.l1_gas_per_aggregated_proof == 70_000
    assert report.prover_cpu_seconds_per_tx == 5.0


def test_nothing_consolidated_yet_gives_empty_figures_not_errors() -> None:
    report = compute_kpi_report([TxTimes(0.0, 0.1, None, None)], batches()[2:], COSTS)
    assert report.transactions == 0 and report.throughput == 0.0
    assert math.isnan(report.delay_consolidated.p50)


def test_table_and_timeline_render(tmp_path: Path) -> None:
    console = Console(record=True, width=120)
    console.print(render_kpi_table(compute_kpi_report(txs(), batches(), COSTS)))
    assert "delay_consolidated" in console.export_text()
    png = plot_timeline(batches(), tmp_path / "timeline.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
