"""Calibration: re-predict a recorded run (live or simulated) and measure the prediction error."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from zkpipe.kpi.figures import STAGE_TIME_NAMES, KpiReport
from zkpipe.modes import ProveFrom
from zkpipe.planner.errors import PlanInputError
from zkpipe.planner.measurements import default_assumption
from zkpipe.planner.model import StageTimes, compute_aggregation_levels, compute_model_report
from zkpipe.planner.sim import (
    RUN_SCHEMA,
    Arrivals,
    BurstyArrivals,
    DeterministicArrivals,
    PoissonArrivals,
    ProverPool,
    ProvingSetup,
    RecordedArrivals,
    SimConfig,
    SimResult,
    run_simulation,
)
from zkpipe.sequencer.policy import AnyOf, BatchPolicy, MaxTxsPolicy, TimeoutPolicy

__all__ = ["CHECKED_KPIS", "CalibrationReport", "RunRecord", "calibrate", "load_run"]

# The KPIs a calibration must predict within tolerance (the acceptance criterion).
CHECKED_KPIS = ("throughput", "delay_virtual.p50", "delay_consolidated.p50")
_ARRIVALS: dict[str, type[DeterministicArrivals] | type[PoissonArrivals] | type[BurstyArrivals]] = {
    "deterministic": DeterministicArrivals,
    "poisson": PoissonArrivals,
    "bursty": BurstyArrivals,
}
_RECORDED = "recorded"  # config.arrival_times_s: the run's own arrival times, replayed
# Per-job work (seconds a prover was held by each accepted job), written by the live node: with
# them calibration simulates the node's proving (segments on the provers, windows folded there).
_WORK_STAGES = ("segment_prove_time", "aggregate_pair_time")
_OPTIONAL_STAGES = (*_WORK_STAGES, "witness_time")


@dataclass(frozen=True)
class RunRecord:
    """A recorded run in the ``zkpipe.run/1`` schema: its setup, stage-time samples and KPIs."""

    source: str
    arrivals: str  # "deterministic", "poisson" or "bursty"
    tx_rate: float  # offered load, tx/s
    duration_s: float  # seconds during which transactions arrived
    batch_size: int | None  # the policy's max_txs, if any
    batch_timeout_s: float | None  # the policy's timeout, if any
    provers: int
    aggregation_n: int
    block_time: float
    execute_seconds_per_tx: float
    stage_times: dict[str, tuple[float, ...]]  # samples per stage-time name, seconds
    kpis: KpiReport
    arrival_times: tuple[float, ...] | None = None  # "recorded" arrivals, seconds from the first
    aggregation_timeout_s: float | None = None  # a window closes after this with fewer than N batches
    block_phase_s: float = 0.0  # L1 blocks at block_phase_s + k·block_time (from the first arrival)
    send_margin_s: float = 0.0  # the sequence sender posts this long before a block
    send_lag_s: float = 0.0  # from a batch's close to the sender being able to post it
    prove_from: ProveFrom = "trusted"  # when a batch's segments are queued
    segment_size: int | None = None  # transactions per segment (node runs)
    throughput_window: str = "steady"  # "steady" (simulator) or "run" (live node), see docs
    batch_check_s: float | None = None  # how often the batcher re-checks its policy (SimConfig.tick_s)

    @property
    def has_job_work(self) -> bool:
        """True if the run recorded per-job work (the node's segments and joins)."""
        return all(self.stage_times.get(name) for name in _WORK_STAGES)

    @classmethod
    def from_dict(cls, data: object) -> RunRecord:
        """Reads the JSON form; raises PlanInputError naming the first bad field."""
        if not isinstance(data, Mapping):
            raise PlanInputError("a run must be a JSON object")
        if data.get("schema") != RUN_SCHEMA:
            raise PlanInputError(f"run.schema must be {RUN_SCHEMA!r}, got {data.get('schema')!r}")
        config, stages = data.get("config"), data.get("stage_times")
        if not isinstance(config, Mapping) or not isinstance(stages, Mapping):
            raise PlanInputError("a run needs 'config' and 'stage_times' objects")
        arrivals = config.get("arrivals")
        if arrivals not in _ARRIVALS and arrivals != _RECORDED:
            kinds = sorted([*_ARRIVALS, _RECORDED])
            raise PlanInputError(f"config.arrivals must be one of {kinds}, got {arrivals!r}")
        times = config.get("arrival_times_s")
        if arrivals == _RECORDED and (
            not isinstance(times, list) or not times or not all(_is_number(t) and t >= 0 for t in times)
        ):
            raise PlanInputError("config.arrival_times_s must be a non-empty list of seconds >= 0")
        samples: dict[str, tuple[float, ...]] = {}
        for name in STAGE_TIME_NAMES:
            values = stages.get(name)
            if not isinstance(values, list) or not values:
                raise PlanInputError(f"stage_times.{name} must be a non-empty list of seconds")
            if not all(_is_number(v) and v >= 0 for v in values):
                raise PlanInputError(f"stage_times.{name} must hold numbers >= 0")
            samples[name] = tuple(float(v) for v in values)
        for name in _OPTIONAL_STAGES:
            values = stages.get(name)
            if values is None:
                continue
            if not isinstance(values, list) or not all(_is_number(v) and v >= 0 for v in values):
                raise PlanInputError(f"stage_times.{name} must be a list of numbers >= 0")
            samples[name] = tuple(float(v) for v in values)
        window = config.get("throughput_window", "steady")
        if window not in ("steady", "run"):
            raise PlanInputError(f"config.throughput_window must be steady or run, got {window!r}")
        prove_from = config.get("prove_from", "trusted")
        if prove_from not in ("closed", "virtual", "trusted"):  # "closed": older records' "trusted"
            raise PlanInputError(f"config.prove_from must be trusted or virtual, got {prove_from!r}")
        agg_timeout, segment_size = config.get("aggregation_timeout_s"), config.get("segment_size")
        batch_size, timeout = config.get("batch_size"), config.get("batch_timeout_s")
        if batch_size is None and timeout is None:
            raise PlanInputError("config needs batch_size or batch_timeout_s (the batch policy)")
        return cls(
            source=str(data.get("source", "measured")),
            arrivals=str(arrivals),
            tx_rate=_positive(config, "tx_rate"),
            duration_s=_positive(config, "duration_s"),
            batch_size=None if batch_size is None else int(_positive(config, "batch_size")),
            batch_timeout_s=None if timeout is None else _positive(config, "batch_timeout_s"),
            provers=int(_positive(config, "provers")),
            aggregation_n=int(_positive(config, "aggregation_n")),
            block_time=_positive(config, "block_time"),
            execute_seconds_per_tx=float(config.get("execute_seconds_per_tx", 0.0)),
            stage_times=samples,
            kpis=KpiReport.from_dict(data.get("kpis")),
            arrival_times=tuple(float(t) for t in times) if arrivals == _RECORDED else None,  # type: ignore[union-attr]
            aggregation_timeout_s=None if agg_timeout is None else _positive(config, "aggregation_timeout_s"),
            block_phase_s=_non_negative(config, "block_phase_s"),
            send_margin_s=_non_negative(config, "send_margin_s"),
            send_lag_s=_non_negative(config, "send_lag_s"),
            # The node's "trusted" proves a batch as soon as it is closed.
            prove_from="virtual" if prove_from == "virtual" else "trusted",
            segment_size=None if segment_size is None else int(_positive(config, "segment_size")),
            throughput_window=str(window),
            batch_check_s=_positive(config, "batch_check_s") if "batch_check_s" in config else None,
        )

    def arrivals_spec(self) -> Arrivals:
        """The run's traffic: its own arrival times if recorded, else the named process."""
        if self.arrival_times is not None:
            return RecordedArrivals(self.arrival_times)
        return _ARRIVALS[self.arrivals](self.tx_rate)

    def sim_duration_s(self) -> float:
        """The simulated arrival window: recorded arrivals, plus the time their last batch may stay open."""
        if self.arrival_times is None:
            return self.duration_s
        return max(self.arrival_times) + (self.batch_timeout_s or 0.0) + 1.0

    def policy(self) -> BatchPolicy:
        """The run's batch policy, rebuilt from its parameters."""
        parts: list[BatchPolicy] = []
        if self.batch_size is not None:
            parts.append(MaxTxsPolicy(self.batch_size))
        if self.batch_timeout_s is not None:
            parts.append(TimeoutPolicy(self.batch_timeout_s))
        return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))

    def mean_stage_times(self) -> StageTimes:
        """The stage times' means."""
        means = {name: float(np.mean(self.stage_times[name])) for name in STAGE_TIME_NAMES}
        return StageTimes(**means)


@dataclass(frozen=True)
class CalibrationReport:
    """A run's measured KPIs against the simulator's and the model's re-predictions."""

    measured: KpiReport
    simulated: KpiReport
    model: KpiReport
    errors: dict[str, float]  # simulation's relative error per checked KPI
    model_errors: dict[str, float]  # the analytic model's relative error per checked KPI
    tolerance: float

    @property
    def max_error(self) -> float:
        """The simulation's largest relative error over the checked KPIs."""
        return max(self.errors.values())

    @property
    def within_tolerance(self) -> bool:
        """True if every checked KPI is predicted within the tolerance."""
        return self.max_error <= self.tolerance

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "within_tolerance": self.within_tolerance,
            "tolerance": self.tolerance,
            "max_error": self.max_error,
            "errors": self.errors,
            "model_errors": self.model_errors,
            "measured": self.measured.to_dict(),
            "simulated": self.simulated.to_dict(),
            "model": self.model.to_dict(),
        }


def load_run(path: str | Path) -> RunRecord:
    """Reads a run JSON file (the output of ``zkpipe bench pipeline --json`` or ``zkpipe demo --json``)."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as e:
        raise PlanInputError(f"cannot read run file {path}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise PlanInputError(f"run file {path} is not JSON: {e}") from e
    return RunRecord.from_dict(data)


def calibrate(
    run: RunRecord, *, seed: int = 0, tolerance: float = 0.15, progress: bool = False, in_order: bool = True
) -> CalibrationReport:
    """Re-predicts ``run`` from its stage-time distributions and compares KPI by KPI.

    For a node run (per-job work recorded), ``in_order`` deals the jobs' work in the order the run
    started them (trace-driven); False draws it as a shuffled deck (the distribution only).
    """
    means = run.mean_stage_times()
    levels = compute_aggregation_levels(run.aggregation_n)
    if run.has_job_work:
        # A node run: the simulator does what the node does, from per-job work (no queueing in it).
        segments, pairs = run.stage_times["segment_prove_time"], run.stage_times["aggregate_pair_time"]
        proving = ProvingSetup(
            segment_log2=None,
            segment_prove_seconds=float(np.mean(segments)),
            aggregate_pair_seconds=float(np.mean(pairs)),
            prove_time_samples=segments,
            window_fold=True,
            samples_in_order=in_order,
            segment_txs=run.segment_size,
            aggregate_time_samples=pairs,
        )
    else:
        # The measured prove_a_batch_time is the whole batch; draw each batch's time from it.
        proving = ProvingSetup(
            segment_log2=None,
            segment_prove_seconds=means.prove_a_batch_time,
            aggregate_pair_seconds=means.aggregation_time / levels if levels else 0.0,
            prove_time_samples=run.stage_times["prove_a_batch_time"],
        )
    witness = run.stage_times.get("witness_time")
    config = SimConfig(
        arrivals=run.arrivals_spec(),
        duration_s=run.sim_duration_s(),
        block_time=means.block_time,
        aggregation_n=run.aggregation_n,
        proving=proving,
        pool=ProverPool(provers=run.provers),
        gas=default_assumption().gas,
        execute_seconds_per_tx=run.execute_seconds_per_tx,
        seed=seed,
        block_phase_s=run.block_phase_s % means.block_time,
        send_margin_s=run.send_margin_s,
        send_lag_s=run.send_lag_s,
        prove_from=run.prove_from,
        witness_seconds=float(np.mean(witness)) if witness else 0.0,
        aggregation_timeout_s=run.aggregation_timeout_s,
    )
    if run.batch_check_s is not None:
        # A batch closes when the batcher notices; a coarser check moves the boundary transaction.
        config = dataclasses.replace(config, tick_s=run.batch_check_s)
    simulated = _comparable(run_simulation(config, run.policy(), progress=progress), run)
    m = run.kpis
    batch_size = max(1, round(m.transactions / m.batches)) if m.batches else (run.batch_size or 1)
    model = compute_model_report(
        means,
        n=run.aggregation_n,
        provers=run.provers,
        batch_size=batch_size,
        execute_seconds_per_tx=run.execute_seconds_per_tx,
        l1_gas_per_tx=m.l1_gas_per_tx,
        l1_gas_per_aggregated_proof=m.l1_gas_per_aggregated_proof,
        prover_cpu_seconds_per_tx=m.prover_cpu_seconds_per_tx,
    )
    return CalibrationReport(
        measured=m,
        simulated=simulated,
        model=model,
        errors=_errors(simulated, m),
        model_errors=_errors(model, m),
        tolerance=tolerance,
    )


def _comparable(result: SimResult, run: RunRecord) -> KpiReport:
    """The simulated report, with throughput measured over the same window as the run's."""
    if run.throughput_window == "run":
        return dataclasses.replace(
            result.report, throughput=result.run_throughput, throughput_batches=result.run_throughput_batches
        )
    return result.report


def _errors(predicted: KpiReport, measured: KpiReport) -> dict[str, float]:
    out = {}
    for name in CHECKED_KPIS:
        p, q = _kpi(predicted, name), _kpi(measured, name)
        out[name] = abs(p - q) / abs(q) if q else (0.0 if p == q else math.inf)
    return out


def _kpi(report: KpiReport, dotted: str) -> float:
    value: Any = report
    for part in dotted.split("."):
        value = getattr(value, part)
    return float(value)


def _is_number(v: object) -> bool:
    return not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v)


def _non_negative(config: Mapping[str, Any], key: str) -> float:
    value = config.get(key, 0.0)
    if not _is_number(value) or value < 0:
        raise PlanInputError(f"config.{key} must be a number >= 0, got {value!r}")
    return float(value)


def _positive(config: Mapping[str, Any], key: str) -> float:
    value = config.get(key)
    if not _is_number(value) or value <= 0:  # type: ignore[operator]
        raise PlanInputError(f"config.{key} must be a number > 0, got {value!r}")
    return float(value)  # type: ignore[arg-type]
