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
from pydantic import ValidationError

from zkpipe.kpi.figures import STAGE_TIME_NAMES, KpiReport
from zkpipe.kpi.runrecord import RunRecord as RecordedRun
from zkpipe.kpi.runrecord import RunSetup
from zkpipe.planner.errors import PlanInputError
from zkpipe.planner.measurements import default_assumption
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
    run_simulation,
)
from zkpipe.sequencer.policy import AnyOf, BatchPolicy, MaxTxsPolicy, TimeoutPolicy
from zkpipe.validation import describe_validation_error

__all__ = ["CHECKED_KPIS", "CalibrationReport", "RunRecord", "calibrate", "load_run"]

# The KPIs a calibration must predict within tolerance (the acceptance criterion).
CHECKED_KPIS = ("throughput", "delay_virtual.p50", "delay_consolidated.p50")
_ARRIVALS: dict[str, type[DeterministicArrivals] | type[PoissonArrivals] | type[BurstyArrivals]] = {
    "deterministic": DeterministicArrivals,
    "poisson": PoissonArrivals,
    "bursty": BurstyArrivals,
}
# Per-job work (seconds a prover was held by each accepted job), written by the live node: with
# them calibration simulates the node's proving (segments on the provers, windows folded there).
_WORK_STAGES = ("segment_prove_time", "aggregate_pair_time")
_OPTIONAL_STAGES = (*_WORK_STAGES, "witness_time")


@dataclass(frozen=True)
class RunRecord:
    """A recorded run as the planner uses it: the validated record (`kpi.runrecord`), KPIs parsed."""

    record: RecordedRun
    kpis: KpiReport

    @property
    def setup(self) -> RunSetup:
        """How the run was set up (the record's `config`)."""
        return self.record.config

    @property
    def stage_times(self) -> dict[str, tuple[float, ...]]:
        """Samples per stage-time name, seconds (the stages the run recorded)."""
        stages = self.record.stage_times.model_dump(exclude_none=True)
        return {name: tuple(values) for name, values in stages.items()}

    @property
    def has_job_work(self) -> bool:
        """True if the run recorded per-job work (the node's segments and joins)."""
        return all(self.stage_times.get(name) for name in _WORK_STAGES)

    @classmethod
    def from_dict(cls, data: object) -> RunRecord:
        """Reads the JSON form; raises PlanInputError naming each bad field."""
        if not isinstance(data, Mapping):
            raise PlanInputError("a run must be a JSON object")
        try:
            record = RecordedRun.model_validate(data)
        except ValidationError as err:
            raise PlanInputError(describe_validation_error(err, "run")) from None
        return cls(record, KpiReport.from_dict(record.kpis))

    def arrivals_spec(self) -> Arrivals:
        """The run's traffic: its own arrival times if recorded, else the named process."""
        if self.setup.arrival_times_s is not None and self.setup.arrivals == "recorded":
            return RecordedArrivals(tuple(self.setup.arrival_times_s))
        return _ARRIVALS[self.setup.arrivals](self.setup.tx_rate)

    def sim_duration_s(self) -> float:
        """The simulated arrival window: recorded arrivals, plus the time their last batch may stay open."""
        if self.setup.arrival_times_s is None or self.setup.arrivals != "recorded":
            return self.setup.duration_s
        return max(self.setup.arrival_times_s) + (self.setup.batch_timeout_s or 0.0) + 1.0

    def policy(self) -> BatchPolicy:
        """The run's batch policy, rebuilt from its parameters."""
        parts: list[BatchPolicy] = []
        if self.setup.batch_size is not None:
            parts.append(MaxTxsPolicy(self.setup.batch_size))
        if self.setup.batch_timeout_s is not None:
            parts.append(TimeoutPolicy(self.setup.batch_timeout_s))
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
    levels = compute_aggregation_levels(run.setup.aggregation_n)
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
            segment_txs=run.setup.segment_size,
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
        aggregation_n=run.setup.aggregation_n,
        proving=proving,
        pool=ProverPool(provers=run.setup.provers),
        gas=default_assumption().gas,
        execute_seconds_per_tx=run.setup.execute_seconds_per_tx,
        seed=seed,
        block_phase_s=run.setup.block_phase_s % means.block_time,
        send_margin_s=run.setup.send_margin_s,
        send_lag_s=run.setup.send_lag_s,
        prove_from=run.setup.prove_from,
        witness_seconds=float(np.mean(witness)) if witness else 0.0,
        aggregation_timeout_s=run.setup.aggregation_timeout_s,
    )
    if run.setup.batch_check_s is not None:
        # A batch closes when the batcher notices; a coarser check moves the boundary transaction.
        config = dataclasses.replace(config, tick_s=run.setup.batch_check_s)
    simulated = _comparable(run_simulation(config, run.policy(), progress=progress), run)
    m = run.kpis
    batch_size = max(1, round(m.transactions / m.batches)) if m.batches else (run.setup.batch_size or 1)
    model = compute_model_report(
        means,
        n=run.setup.aggregation_n,
        provers=run.setup.provers,
        batch_size=batch_size,
        execute_seconds_per_tx=run.setup.execute_seconds_per_tx,
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
    if run.setup.throughput_window == "run":
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
