"""`zkpipe plan --validate`: live pipelines on this machine, each predicted from the cost table first.

For every grid point the planner predicts the KPIs and stage times from the node's configuration,
the offered load (a send schedule fixed beforehand) and the cost table — before the node starts.
Then a real node (embedded L1, local provers) runs: accounts are deposited and consolidated
first, so the measured window holds only the scheduled transfers; they are sent at their
scheduled times; the run ends when all are consolidated. The report gives each KPI's relative
error, and for a miss the per-stage predicted and measured times, so the model can be fixed
where it is wrong.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zkpipe.bench.contention import measure_contention, to_contention
from zkpipe.client import ZkClient
from zkpipe.demo import DemoSettings, _user_txs, node_config
from zkpipe.kpi.figures import KpiReport
from zkpipe.kpi.machine import describe_machine
from zkpipe.kpi.report import RunCosts, TxTimes, compute_kpi_report, compute_stage_samples
from zkpipe.modes import ArrivalKind
from zkpipe.node.config import NodeConfig
from zkpipe.node.run import BackgroundNode
from zkpipe.planner.measurements import Measurements
from zkpipe.planner.predict import STAGE_NAMES, Deployment, Prediction, Workload, predict
from zkpipe.workload import Accounts

__all__ = [
    "TARGETS",
    "VALIDATED_KPIS",
    "GridPoint",
    "PointResult",
    "deployment_of",
    "full_grid",
    "quick_grid",
    "run_point",
    "validate",
    "with_contention",
]

VALIDATED_KPIS = ("throughput", "delay_virtual_p50", "delay_consolidated_p50", "delay_consolidated_p95")
TARGETS = {
    "throughput": 0.15,
    "delay_virtual_p50": 0.15,
    "delay_consolidated_p50": 0.15,
    "delay_consolidated_p95": 0.25,
}
"""The issue's targets: relative error per KPI, every grid point."""
ACCOUNTS = 8


@dataclass(frozen=True)
class GridPoint:
    """One live run of the validation grid: provers, N, segment size and the traffic."""

    provers: int
    aggregation_n: int
    segment_size: int
    arrivals: ArrivalKind  # "deterministic" (steady) or "bursty"
    tx_rate: float = 4.0
    duration_s: float = 12.0
    block_time: float = 1.0
    batch_timeout_s: float = 2.0  # steady traffic fills a segment of 8 per batch
    seed: int = 1

    @property
    def name(self) -> str:
        """A short label: p2-n2-k8-steady."""
        traffic = "steady" if self.arrivals == "deterministic" else self.arrivals
        return f"p{self.provers}-n{self.aggregation_n}-k{self.segment_size}-{traffic}"

    def workload(self) -> Workload:
        """The send schedule, fixed before the run (bursts of 4× the rate, a fifth of the time)."""
        named = Workload(
            arrivals=self.arrivals,
            tx_rate=self.tx_rate,
            duration_s=self.duration_s,
            seed=self.seed,
            burst_factor=4.0,
            burst_share=0.2,
            mean_burst_s=3.0,
        )
        return named.schedule()

    def settings(self) -> DemoSettings:
        """The node's settings (the demo's node: embedded L1, local provers)."""
        return DemoSettings(
            accounts=ACCOUNTS,
            workers=self.provers,
            segment_size=self.segment_size,
            aggregation_n=self.aggregation_n,
            block_time=self.block_time,
            batch_timeout_s=self.batch_timeout_s,
            seed=self.seed,
        )


def quick_grid() -> tuple[GridPoint, ...]:
    """Two points: one prover with steady traffic, two provers with bursts."""
    return (GridPoint(1, 2, 8, "deterministic"), GridPoint(2, 2, 8, "bursty"))


def full_grid() -> tuple[GridPoint, ...]:
    """1 and 2 provers; N = 1, 2, 4; segments of 8 and 16; steady and bursty traffic."""
    return tuple(
        GridPoint(p, n, k, kind)
        for p in (1, 2)
        for n in (1, 2, 4)
        for k in (8, 16)
        for kind in ("deterministic", "bursty")
    )


def deployment_of(config: NodeConfig) -> Deployment:
    """The node configuration as the planner sees it (the very values the node runs with)."""
    return Deployment(
        provers=config.proving.workers,
        threads_per_prover=max(1, config.proving.threads_per_prover),
        segment_size=config.proving.segment_size,
        aggregation_n=config.proving.aggregation_n,
        aggregation_timeout_s=config.proving.aggregation_timeout_s,
        batch_size=config.batch.max_txs,
        batch_timeout_s=config.batch.timeout_s,
        batch_check_s=0.005,  # the sequencer re-checks an open batch every 5 ms (sequencer/core.py)
        block_time=config.l1.block_time,
        send_margin_s=config.l1.send_margin_s,
        prove_from=config.proving.prove_from,
        l1=config.l1.kind,
    )


@dataclass(frozen=True)
class PointResult:
    """One grid point: what was predicted before the run, what was measured, and the errors."""

    point: GridPoint
    prediction: Prediction
    measured: KpiReport
    measured_stages: dict[str, float]
    transactions: int
    consolidated: int
    wall_s: float
    load: tuple[float, float]  # load average (1 min) before and after

    def errors(self, predicted: KpiReport | None = None) -> dict[str, float]:
        """Relative error per validated KPI of the simulation's prediction (or ``predicted``)."""
        p = predicted or self.prediction.kpis
        return {name: _relative(_kpi(p, name), _kpi(self.measured, name)) for name in VALIDATED_KPIS}

    def misses(self) -> list[str]:
        """KPIs whose error exceeds the target."""
        return [name for name, e in self.errors().items() if not e <= TARGETS[name]]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: errors, both KPI sets, and per-stage times (with errors) for a miss."""
        stages = {
            name: {
                "predicted": _round(self.prediction.stages[name]),
                "measured": _round(self.measured_stages.get(name, math.nan)),
                "error": _round(
                    _relative(self.prediction.stages[name], self.measured_stages.get(name, math.nan))
                ),
            }
            for name in STAGE_NAMES
        }
        return {
            "point": self.point.name,
            "provers": self.point.provers,
            "aggregation_n": self.point.aggregation_n,
            "segment_size": self.point.segment_size,
            "arrivals": self.point.arrivals,
            "tx_rate": self.point.tx_rate,
            "transactions": self.transactions,
            "consolidated": self.consolidated,
            "errors": {k: _round(v) for k, v in self.errors().items()},
            "model_errors": {k: _round(v) for k, v in self.errors(self.prediction.model).items()},
            "predicted": {k: _round(_kpi(self.prediction.kpis, k)) for k in VALIDATED_KPIS},
            "model": {k: _round(_kpi(self.prediction.model, k)) for k in VALIDATED_KPIS},
            "measured": {k: _round(_kpi(self.measured, k)) for k in VALIDATED_KPIS},
            "misses": self.misses(),
            "stages": stages,
            "wall_s": round(self.wall_s, 1),
            "load_before_after": list(self.load),
        }


def run_point(
    point: GridPoint,
    measurements: Measurements,
    *,
    timeout_s: float = 600.0,
    progress: Callable[[str], None] = lambda _: None,
    workdir: Path | None = None,
) -> PointResult:
    """Predicts ``point`` from the cost table, then runs it live and measures it."""
    began, load0 = time.monotonic(), os.getloadavg()[0]
    settings = point.settings()
    directory = workdir or Path(tempfile.mkdtemp(prefix="zkpipe-validate-"))
    config = node_config(settings, directory)
    workload = point.workload()
    prediction = predict(deployment_of(config), workload, measurements)  # before the node exists
    keys = Accounts.generate(settings.accounts, seed=settings.seed)
    sends = workload.arrival_times_s or ()
    txs = _user_txs(dataclasses.replace(settings, txs=len(sends)), keys, random.Random(point.seed))
    background = BackgroundNode(config)
    background.start()
    client = ZkClient(background.url)
    try:
        node = background.node
        assert node is not None and node.proving is not None
        progress(f"{point.name}: depositing {keys.users} accounts")
        for i in range(1, keys.users + 1):
            client.dev_deposit(i, keys.public(i), 10**12)
        deadline = time.monotonic() + timeout_s
        _wait(node.reader.tx_times, keys.users, deadline)
        work = node.proving.job_work_seconds()
        skip = {kind: len(v) for kind, v in work.items()}
        progress(f"{point.name}: sending {len(txs)} transactions over {workload.span_s():.1f} s")
        t0 = time.time()
        for tx, at in zip(txs, sends, strict=True):
            time.sleep(max(0.0, t0 + at - time.time()))
            client.send_transaction(tx)
        _wait(node.reader.tx_times, keys.users + len(txs), deadline)
        rows = [TxTimes(*row) for row in node.reader.tx_times() if row[0] >= t0 - 1e-3]
        batches = [b for b in node.proving.batch_times() if b.opened >= t0 - 1e-3]
        # Only delays, throughput and stage times are validated; L1 costs are not compared here.
        costs = RunCosts(
            sequence_gas=0, sequenced_txs=0, verify_gas=[], prover_busy_seconds=0.0, threads_per_prover=1,
            block_intervals=[point.block_time],
        )  # fmt: skip
        measured = compute_kpi_report(rows, batches, costs)
        work = node.proving.job_work_seconds()
        samples = compute_stage_samples(batches)
        stages = {name: _mean(samples[name]) for name in STAGE_NAMES if name in samples}
        stages["segment_prove_time"] = _mean(work["segment"][skip["segment"] :])
        stages["aggregate_pair_time"] = _mean(work["aggregate"][skip["aggregate"] :])
        consolidated = sum(1 for r in rows if r.consolidated is not None)
    finally:
        client.close()
        background.stop()
    return PointResult(
        point=point,
        prediction=prediction,
        measured=measured,
        measured_stages=stages,
        transactions=len(rows),
        consolidated=consolidated,
        wall_s=time.monotonic() - began,
        load=(round(load0, 2), round(os.getloadavg()[0], 2)),
    )


def with_contention(
    measurements: Measurements, *, progress: Callable[[str], None] = lambda _: None
) -> tuple[Measurements, str]:
    """The table with contention: its own, or measured now on this machine (no run involved)."""
    if measurements.contention is not None:
        return measurements, "the cost table"
    progress("measuring contention first (zkpipe bench proving's contention step, k = 8)")
    measured = to_contention(measure_contention(8, progress=progress))
    return (
        measurements.model_copy(update={"contention": measured}),
        "measured before the runs by zkpipe bench proving's contention step (k = 8)",
    )


def validate(
    grid: tuple[GridPoint, ...],
    measurements: Measurements,
    *,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Runs the grid and reports every point and the largest error per KPI.

    A table without contention gets it measured first (`zkpipe bench proving`'s contention step,
    provers alone on this machine, before any run), so the report says what the model was fed.
    """
    measurements, contention_source = with_contention(measurements, progress=progress)
    results = []
    for i, point in enumerate(grid, 1):
        progress(f"[{i}/{len(grid)}] {point.name}: predicting, then running live")
        result = run_point(point, measurements, progress=progress)
        progress(f"[{i}/{len(grid)}] {point.name}: errors {_fmt(result.errors())}")
        results.append(result)
    return {
        "max_error": {k: _round(max(r.errors()[k] for r in results)) for k in VALIDATED_KPIS},
        "model_max_error": {
            k: _round(max(r.errors(r.prediction.model)[k] for r in results)) for k in VALIDATED_KPIS
        },
        "targets": TARGETS,
        "within_targets": all(not r.misses() for r in results),
        "points": [r.to_dict() for r in results],
        "measurements_source": measurements.source,
        "contention": None if measurements.contention is None else measurements.contention.model_dump(),
        "contention_source": contention_source,
        "machine": describe_machine(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _all_consolidated(rows: list[tuple[float, float, float | None, float | None]], count: int) -> bool:
    return len(rows) >= count and all(r[3] is not None for r in rows)


def _wait(
    rows: Callable[[], list[tuple[float, float, float | None, float | None]]], count: int, deadline: float
) -> None:
    """Until ``count`` stored transactions are all consolidated; TimeoutError saying how far it got."""
    while not _all_consolidated(got := rows(), count):
        if time.monotonic() > deadline:
            done = sum(1 for r in got if r[3] is not None)
            raise TimeoutError(f"the validation run consolidated {done} of {count} transactions in time")
        time.sleep(0.2)


def _kpi(report: KpiReport, name: str) -> float:
    if name == "throughput":
        return report.throughput
    state, q = name.removeprefix("delay_").rsplit("_", 1)
    return float(getattr(getattr(report, f"delay_{state}"), q))


def _relative(predicted: float, measured: float) -> float:
    if not (math.isfinite(predicted) and math.isfinite(measured)) or measured == 0:
        return math.inf if predicted != measured else 0.0
    return abs(predicted - measured) / abs(measured)


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def _round(value: float) -> float | None:
    return round(value, 4) if math.isfinite(value) else None


def _fmt(errors: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1%}" for k, v in errors.items())
