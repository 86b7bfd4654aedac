"""The KPI report of a live run: delays, throughput, stage times and costs; as a table and a timeline."""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from zkpipe.kpi.figures import KpiReport, compute_percentiles


@dataclass(frozen=True, slots=True)
class TxTimes:
    """When one transaction reached each state (Unix seconds; None if it has not)."""

    submitted: float
    trusted: float | None
    virtual: float | None
    consolidated: float | None


@dataclass(frozen=True, slots=True)
class BatchTimes:
    """When one batch went through each stage (Unix seconds; None if it has not)."""

    number: int
    txs: int
    opened: float
    """Arrival of its first transaction."""
    closed: float
    virtual: float | None
    proving_started: float | None
    proven: float | None
    """Every segment of the batch proven and accepted."""
    aggregated: float | None
    """The aggregate covering the batch accepted."""
    consolidated: float | None


@dataclass(frozen=True, slots=True)
class RunCosts:
    """What the run cost: L1 gas, prover time, L1 block intervals."""

    sequence_gas: int
    """Gas of every sequenceBatches transaction."""
    sequenced_txs: int
    verify_gas: Sequence[int]
    """Gas of each verifyBatches transaction (one per aggregate)."""
    prover_busy_seconds: float
    """Seconds workers spent proving, summed over workers."""
    threads_per_prover: int
    block_intervals: Sequence[float]
    network_bytes: int = 0
    """Bytes the scheduler sent to and received from its provers (every copy of every job)."""


def json_safe(value: Any) -> Any:
    """`value` with NaN and infinities (no sample yet) as None, through dicts and lists: valid JSON."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def compute_stage_samples(batches: Sequence[BatchTimes]) -> dict[str, list[float]]:
    """Per-batch samples of the stage times (`block_time` comes from the chain, not from batches).

    - ``close_a_batch_time``: time between two consecutive batch closes (the first batch: its
      filling time), the interval the KPI model and the simulator call ``c``;
    - ``prove_a_batch_time``: elapsed from the batch's segment jobs being queued to the last of
      them accepted (queueing behind other batches on the shared provers included);
    - ``aggregation_time``: elapsed from the batch proven to its window's aggregate accepted;
    - ``witness_time``: from the batch being virtual to its segment jobs being queued (the node
      re-applies the batch with the spec first).
    """
    closes = sorted(b.closed for b in batches)
    intervals = [later - earlier for earlier, later in itertools.pairwise(closes)]
    first = min(batches, key=lambda b: b.closed, default=None)
    return {
        "close_a_batch_time": ([first.closed - first.opened] if first is not None else []) + intervals,
        "prove_a_batch_time": [
            b.proven - b.proving_started
            for b in batches
            if b.proven is not None and b.proving_started is not None
        ],
        "aggregation_time": [
            b.aggregated - b.proven for b in batches if b.aggregated is not None and b.proven is not None
        ],
        "witness_time": [
            max(0.0, b.proving_started - b.virtual)
            for b in batches
            if b.proving_started is not None and b.virtual is not None
        ],
    }


def compute_kpi_report(txs: Sequence[TxTimes], batches: Sequence[BatchTimes], costs: RunCosts) -> KpiReport:
    """The measured KPI report of a run."""
    done = [t for t in txs if t.consolidated is not None]
    done_batches = [b for b in batches if b.consolidated is not None]
    if done:
        span = max(t.consolidated for t in done if t.consolidated is not None) - min(t.submitted for t in txs)
    else:
        span = math.nan
    samples = compute_stage_samples(batches)
    return KpiReport(
        source="measured",
        transactions=len(done),
        batches=len(done_batches),
        delay_trusted=compute_percentiles([t.trusted - t.submitted for t in txs if t.trusted is not None]),
        delay_virtual=compute_percentiles([t.virtual - t.submitted for t in txs if t.virtual is not None]),
        delay_consolidated=compute_percentiles(
            [t.consolidated - t.submitted for t in done if t.consolidated]
        ),
        throughput=len(done) / span if span and span > 0 else 0.0,
        throughput_batches=len(done_batches) / span if span and span > 0 else 0.0,
        close_a_batch_time=_mean(samples["close_a_batch_time"]),
        prove_a_batch_time=_mean(samples["prove_a_batch_time"]),
        block_time=_mean(costs.block_intervals),
        aggregation_time=_mean(samples["aggregation_time"]),
        l1_gas_per_tx=costs.sequence_gas / costs.sequenced_txs if costs.sequenced_txs else math.nan,
        l1_gas_per_aggregated_proof=_mean([float(g) for g in costs.verify_gas]),
        prover_cpu_seconds_per_tx=(
            costs.prover_busy_seconds * costs.threads_per_prover / len(done) if done else math.nan
        ),
        network_bytes_per_tx=costs.network_bytes / len(done) if done else math.nan,
    )


def compute_bottleneck(stage_times: Mapping[str, float | None], *, provers: int, aggregation_n: int) -> str:
    """The stage that limits consolidated throughput, per the model: the largest of
    prove_a_batch_time / provers, N · close_a_batch_time, block_time and aggregation_time
    (a stage with no sample yet counts as 0)."""

    def seconds(name: str) -> float:
        value = stage_times.get(name)
        return value if value is not None and math.isfinite(value) else 0.0

    loads = {
        "prove_a_batch_time": seconds("prove_a_batch_time") / max(1, provers),
        "close_a_batch_time": aggregation_n * seconds("close_a_batch_time"),
        "block_time": seconds("block_time"),
        "aggregation_time": seconds("aggregation_time"),
    }
    return max(loads, key=lambda name: loads[name])


def render_kpi_table(report: KpiReport) -> Table:
    """The report as a rich table (delays as p50 / p95 / p99)."""
    table = Table(
        title=f"KPIs ({report.source}): {report.transactions} txs in {report.batches} batches consolidated"
    )
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for name in ("delay_trusted", "delay_virtual", "delay_consolidated"):
        p = getattr(report, name)
        table.add_row(f"{name} p50 / p95 / p99", f"{p.p50:.3f} / {p.p95:.3f} / {p.p99:.3f} s")
    table.add_row("throughput", f"{report.throughput:.2f} tx/s, {report.throughput_batches:.3f} batches/s")
    for name in ("close_a_batch_time", "prove_a_batch_time", "block_time", "aggregation_time"):
        table.add_row(name, f"{getattr(report, name):.2f} s")
    table.add_row("l1_gas_per_tx (sequencing)", f"{report.l1_gas_per_tx:,.0f}")
    table.add_row("l1_gas_per_aggregated_proof", f"{report.l1_gas_per_aggregated_proof:,.0f}")
    table.add_row("prover_cpu_seconds_per_tx", f"{report.prover_cpu_seconds_per_tx:.3f}")
    table.add_row("network_bytes_per_tx (scheduler ⇄ provers)", f"{report.network_bytes_per_tx:,.0f}")
    return table


STAGE_COLOURS = (
    ("filling", "#bbbbbb"),
    ("to virtual", "#4c72b0"),
    ("proving", "#dd8452"),
    ("aggregating", "#8172b3"),
    ("to consolidated", "#55a868"),
)


def plot_timeline(batches: Sequence[BatchTimes], path: str | Path) -> Path:
    """A PNG of every batch moving through the states: one row per batch, one colour per stage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = min((b.opened for b in batches), default=0.0)
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.32 * max(len(batches), 1)))
    for row, b in enumerate(batches):
        # Each stage runs from the previous mark to the next one that exists.
        marks = [b.opened, b.closed, b.virtual, b.proven, b.aggregated, b.consolidated]
        for (label, colour), begin, end in zip(STAGE_COLOURS, marks, marks[1:], strict=False):
            if begin is None or end is None:
                continue
            ax.broken_barh(
                [(begin - start, max(end - begin, 0.0))], (row - 0.4, 0.8), color=colour, label=label
            )
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_yticks(range(len(batches)), [str(b.number) for b in batches])
    ax.set_xlabel("seconds since the first transaction")
    ax.set_ylabel("batch")
    ax.set_title("Batches through the states: trusted → virtual → proven → consolidated")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    out = Path(path)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
