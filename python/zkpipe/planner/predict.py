"""Prediction from a cost table: a deployment's KPIs and stage times before it runs.

`predict(deployment, workload, measurements)` sees only what an operator knows beforehand: the
configuration (`Deployment`), the offered load (`Workload`) and costs measured independently by
`zkpipe bench proving --measurements-out` (`Measurements`). None of these types holds a run's
job times, so a prediction cannot lean on the run it predicts (replaying one is `--calibrate`,
a diagnostic of the simulator's mechanics).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from zkpipe.kpi.figures import KpiReport, Percentiles
from zkpipe.kpi.runrecord import RunSetup
from zkpipe.modes import ArrivalKind, L1Kind, ProveFrom, ThroughputWindow
from zkpipe.planner.errors import PlanInputError
from zkpipe.planner.measurements import Contention, Measurements
from zkpipe.planner.model import StageTimes, compute_aggregation_levels, compute_model_report
from zkpipe.planner.sim import (
    Arrivals,
    BurstyArrivals,
    DeterministicArrivals,
    PoissonArrivals,
    ProverPool,
    ProvingSetup,
    RecordedArrivals,
    SimConfig,
    SimResult,
    generate_arrivals,
    run_simulation,
)
from zkpipe.sequencer.policy import AnyOf, BatchPolicy, MaxTxsPolicy, TimeoutPolicy

__all__ = ["STAGE_NAMES", "Deployment", "Prediction", "Workload", "predict"]

_MODEL = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, use_attribute_docstrings=True)
STAGE_NAMES = (
    "close_a_batch_time",
    "prove_a_batch_time",
    "aggregation_time",
    "segment_prove_time",
    "aggregate_pair_time",
)
"""The per-stage times a prediction states and a validation compares (mean seconds)."""


class Deployment(BaseModel):
    """What an operator configures: provers, proving, batching, aggregation and L1 (nothing measured)."""

    model_config = _MODEL

    provers: int = Field(gt=0)
    threads_per_prover: int = Field(default=1, gt=0)
    segment_size: int = Field(gt=0)
    """Transactions per segment (the node's proving.segment_size, a power of two)."""
    aggregation_n: int = Field(gt=0)
    aggregation_timeout_s: float | None = Field(default=None, gt=0)
    batch_size: int | None = Field(default=None, gt=0)
    batch_timeout_s: float | None = Field(default=None, gt=0)
    batch_check_s: float = Field(default=0.005, gt=0)
    """How often the sequencer re-checks the open batch's policy."""
    block_time: float = Field(gt=0)
    send_margin_s: float = Field(default=0.0, ge=0)
    """The sequence sender posts this long before a block."""
    prove_from: ProveFrom = "virtual"
    l1: L1Kind = "embedded"
    co_located: bool = True
    """Provers and the sequencer share one host's cores (the cost table's contention applies)."""
    honest_fraction: float = Field(default=1.0, gt=0, le=1)
    """Share of provers that return valid proofs."""
    redundancy: int = Field(default=1, gt=0)
    """Copies of each segment job issued at once (5 for one honest prover in five)."""

    @model_validator(mode="after")
    def _complete(self) -> Deployment:
        if self.batch_size is None and self.batch_timeout_s is None:
            raise ValueError("needs batch_size or batch_timeout_s (the batch policy)")
        if self.segment_size & (self.segment_size - 1):
            raise ValueError(f"segment_size must be a power of two, got {self.segment_size}")
        return self

    @classmethod
    def from_setup(cls, setup: RunSetup) -> Deployment:
        """The configuration part of a recorded run's setup (its measured samples are not read)."""
        if setup.segment_size is None:
            raise PlanInputError("the run does not record its segment size")
        return cls(
            provers=setup.provers,
            segment_size=setup.segment_size,
            aggregation_n=setup.aggregation_n,
            aggregation_timeout_s=setup.aggregation_timeout_s,
            batch_size=setup.batch_size,
            batch_timeout_s=setup.batch_timeout_s,
            batch_check_s=setup.batch_check_s or 0.005,
            block_time=setup.block_time,
            send_margin_s=setup.send_margin_s,
            prove_from=setup.prove_from,
        )

    def policy(self) -> BatchPolicy:
        """A fresh batch policy object, as the node builds it."""
        parts: list[BatchPolicy] = []
        if self.batch_size is not None:
            parts.append(MaxTxsPolicy(self.batch_size))
        if self.batch_timeout_s is not None:
            parts.append(TimeoutPolicy(self.batch_timeout_s))
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))


class Workload(BaseModel):
    """The offered load: a named arrival process, or a schedule of send times fixed beforehand."""

    model_config = _MODEL

    arrivals: ArrivalKind
    tx_rate: float = Field(gt=0)
    """Mean offered load, tx/s."""
    duration_s: float = Field(gt=0)
    """Seconds during which transactions arrive."""
    arrival_times_s: tuple[float, ...] | None = None
    """With "recorded": each transaction's send time, seconds from the first."""
    seed: int = 0
    burst_factor: float = Field(default=5.0, ge=1)
    burst_share: float = Field(default=0.1, gt=0, lt=1)
    mean_burst_s: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _complete(self) -> Workload:
        if self.arrivals == "recorded" and not self.arrival_times_s:
            raise ValueError("recorded arrivals need arrival_times_s")
        return self

    def schedule(self) -> Workload:
        """This named process's send times, drawn now (from ``seed``), so a live run sends at exactly them."""
        if self.arrivals == "recorded":
            return self
        times = generate_arrivals(self.arrivals_spec(), self.duration_s, np.random.default_rng(self.seed))
        if times.size == 0:
            raise PlanInputError("the workload schedules no transaction")
        times = times - times[0]
        return self.model_copy(update={"arrivals": "recorded", "arrival_times_s": tuple(times.tolist())})

    @classmethod
    def from_setup(cls, setup: RunSetup) -> Workload:
        """The offered load of a recorded run's setup."""
        times = tuple(setup.arrival_times_s) if setup.arrival_times_s is not None else None
        return cls(
            arrivals=setup.arrivals, tx_rate=setup.tx_rate, duration_s=setup.duration_s, arrival_times_s=times
        )

    def arrivals_spec(self) -> Arrivals:
        """The simulator's arrival process."""
        if self.arrivals == "recorded":
            return RecordedArrivals(self.arrival_times_s or ())
        if self.arrivals == "deterministic":
            return DeterministicArrivals(self.tx_rate)
        if self.arrivals == "poisson":
            return PoissonArrivals(self.tx_rate)
        return BurstyArrivals(self.tx_rate, self.burst_factor, self.burst_share, self.mean_burst_s)

    def span_s(self) -> float:
        """From the first arrival to the last (the named processes: the duration)."""
        if self.arrivals == "recorded" and self.arrival_times_s:
            return max(self.arrival_times_s) - min(self.arrival_times_s)
        return self.duration_s


@dataclass(frozen=True)
class Prediction:
    """A deployment's predicted KPIs (simulation and analytic model) and per-stage mean times."""

    kpis: KpiReport
    model: KpiReport
    stages: dict[str, float]
    """Mean seconds per stage (STAGE_NAMES): batch intervals, elapsed proving and aggregation, job work."""
    measurements_source: str
    phases: int
    node_cpu_share: float = 0.0
    """Cores the node keeps busy on average (its CPU seconds for the run over the run's span)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "kpis": self.kpis.to_dict(),
            "model": self.model.to_dict(),
            "stages": self.stages,
            "measurements_source": self.measurements_source,
            "block_phases_averaged": self.phases,
            "node_cpu_share": self.node_cpu_share,
        }


def predict(
    deployment: Deployment,
    workload: Workload,
    measurements: Measurements,
    *,
    throughput_window: ThroughputWindow = "run",
    phases: int = 8,
) -> Prediction:
    """Predicts ``deployment`` under ``workload`` from the cost table alone.

    Where L1 blocks fall relative to the first transaction is not known beforehand, so the
    simulation is averaged over ``phases`` evenly spaced block phases. ``throughput_window``
    "run" states throughput as a live run measures it (first submission → last consolidation).
    """
    if deployment.threads_per_prover != 1:
        raise PlanInputError("the cost table has one-thread rows only: threads_per_prover must be 1")
    k = deployment.segment_size.bit_length() - 1
    segment_s = measurements.segment_cost(k).prove_seconds
    contention = measurements.contention if deployment.co_located else None
    proving = ProvingSetup(
        segment_log2=None,
        segment_prove_seconds=segment_s,
        aggregate_pair_seconds=measurements.aggregate_pair_seconds,
        window_fold=True,
        segment_txs=deployment.segment_size,
    )
    timeout = deployment.batch_timeout_s or 0.0
    base = SimConfig(
        arrivals=workload.arrivals_spec(),
        duration_s=workload.span_s() + timeout + 1.0
        if workload.arrivals == "recorded"
        else workload.duration_s,
        block_time=deployment.block_time,
        aggregation_n=deployment.aggregation_n,
        proving=proving,
        pool=ProverPool(
            provers=deployment.provers,
            honest_fraction=deployment.honest_fraction,
            redundancy=deployment.redundancy,
            contention=contention,
        ),
        gas=measurements.gas,
        tx_bytes=measurements.tx_bytes,
        execute_seconds_per_tx=measurements.execute_seconds_per_tx,
        tick_s=deployment.batch_check_s,
        seed=workload.seed,
        send_margin_s=deployment.send_margin_s,
        prove_from=deployment.prove_from,
        aggregation_timeout_s=deployment.aggregation_timeout_s,
    )
    load = 0.0
    if contention is not None:
        # The node's CPU is priced per transaction, segment job and join job; how many jobs a run
        # makes and how long it lasts come from a first simulation with the node's load unknown,
        # then two more steps to settle (the load slows the jobs, which lengthens the run).
        for _ in range(3):
            pilot = run_simulation(_with_load(base, load), deployment.policy())
            load = _node_load(pilot, contention)
        base = _with_load(base, load)
    results = [
        run_simulation(
            dataclasses.replace(base, block_phase_s=deployment.block_time * i / phases), deployment.policy()
        )
        for i in range(phases)
    ]
    reports = [_windowed(r, throughput_window) for r in results]
    kpis = _mean_report(reports)
    stages = {
        "close_a_batch_time": _mean([float(np.mean(r.close_intervals)) for r in results]),
        "prove_a_batch_time": _mean([float(np.mean(r.prove_times)) for r in results if r.prove_times]),
        "aggregation_time": _mean(
            [float(np.mean(r.aggregation_times)) for r in results if r.aggregation_times]
        ),
        "segment_prove_time": _mean([float(np.mean(r.segment_times)) for r in results if r.segment_times]),
        "aggregate_pair_time": _mean(
            [float(np.mean(r.aggregate_pair_times)) for r in results if r.aggregate_pair_times]
        ),
    }
    model = _model(deployment, workload, measurements, kpis, stages, load)
    return Prediction(
        kpis=kpis,
        model=model,
        stages=stages,
        measurements_source=measurements.source,
        phases=phases,
        node_cpu_share=load,
    )


def _with_load(config: SimConfig, load: float) -> SimConfig:
    return dataclasses.replace(config, pool=dataclasses.replace(config.pool, node_load=load))


def _node_load(result: SimResult, contention: Contention) -> float:
    """Cores the node keeps busy on average over the simulated run (first arrival → last consolidation)."""
    txs = result.report.transactions
    if not txs or not result.run_throughput > 0:
        return 0.0
    span = txs / result.run_throughput
    seconds = contention.node_cpu_seconds(txs, len(result.segment_times), len(result.aggregate_pair_times))
    return seconds / span


def _windowed(result: SimResult, window: ThroughputWindow) -> KpiReport:
    if window == "run":
        return dataclasses.replace(
            result.report, throughput=result.run_throughput, throughput_batches=result.run_throughput_batches
        )
    return result.report


def _model(
    d: Deployment,
    w: Workload,
    m: Measurements,
    simulated: KpiReport,
    stages: dict[str, float],
    node_load: float,
) -> KpiReport:
    """The analytic model fed the cost table (the batch interval from the policy, not a run)."""
    fill = d.batch_size / w.tx_rate if d.batch_size is not None else math.inf
    close = min(fill, d.batch_timeout_s if d.batch_timeout_s is not None else math.inf)
    batch = max(1, round(close * w.tx_rate))
    if d.batch_size is not None:
        batch = min(batch, d.batch_size)
    segments = math.ceil(batch / d.segment_size)
    seg_s = m.segment_cost(d.segment_size.bit_length() - 1).prove_seconds
    if m.contention is not None and d.co_located:
        seg_s *= m.contention.compute_slowdown(min(d.provers, segments), node_load)
    prove = math.ceil(segments / max(1, d.provers // d.redundancy)) * seg_s
    aggregation = compute_aggregation_levels(segments * d.aggregation_n) * m.aggregate_pair_seconds
    times = StageTimes(
        close_a_batch_time=close,
        prove_a_batch_time=prove,
        block_time=d.block_time,
        aggregation_time=aggregation,
    )
    return compute_model_report(
        times,
        n=d.aggregation_n,
        provers=d.provers,
        batch_size=batch,
        execute_seconds_per_tx=m.execute_seconds_per_tx,
        l1_gas_per_tx=simulated.l1_gas_per_tx,
        l1_gas_per_aggregated_proof=simulated.l1_gas_per_aggregated_proof,
        prover_cpu_seconds_per_tx=segments * seg_s / batch,
    )


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def _mean_report(reports: list[KpiReport]) -> KpiReport:
    """Field by field mean of simulated reports (counts rounded)."""

    def pct(name: str) -> Percentiles:
        ps = [getattr(r, name) for r in reports]
        return Percentiles(*(_mean([getattr(p, q) for p in ps]) for q in ("p50", "p95", "p99")))

    first = reports[0]
    numbers: dict[str, Any] = {
        f.name: _mean([float(getattr(r, f.name)) for r in reports])
        for f in dataclasses.fields(first)
        if isinstance(getattr(first, f.name), float)
    }
    return dataclasses.replace(
        first,
        **numbers,
        transactions=round(_mean([r.transactions for r in reports])),
        batches=round(_mean([r.batches for r in reports])),
        delay_trusted=pct("delay_trusted"),
        delay_virtual=pct("delay_virtual"),
        delay_consolidated=pct("delay_consolidated"),
    )
