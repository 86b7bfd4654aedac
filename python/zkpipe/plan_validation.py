"""`zkpipe plan --validate`: live pipelines on this machine, each predicted from the cost table first.

For every grid point the planner predicts the KPIs and stage times from the node's configuration,
the offered load (a send schedule fixed beforehand) and the cost table — before the node starts.
Then a real node (embedded L1, local provers) runs: accounts are deposited and consolidated
first, so the measured window holds only the scheduled transfers; they are sent at their
scheduled times; the run ends when all are consolidated. The report gives each KPI's relative
error, and for a miss the per-stage predicted and measured times, so the model can be fixed
where it is wrong.

Every live run's raw measurements (KPIs, stage times, job work, CPU seconds, load) are saved to a
JSON file (schema ``zkpipe.validation/1``) as soon as the run ends; `rescore` re-predicts those
runs from the current model and cost table (config and offered load only) without re-running
them, and `markdown_table` writes the docs' table from such a report.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from zkpipe.bench.contention import measure_contention, to_contention
from zkpipe.client import ZkClient
from zkpipe.demo import DemoSettings, _user_txs, node_config
from zkpipe.kpi.figures import KpiReport
from zkpipe.kpi.machine import describe_machine
from zkpipe.kpi.report import RunCosts, TxTimes, compute_kpi_report, compute_stage_samples
from zkpipe.modes import ArrivalKind
from zkpipe.node.config import NodeConfig
from zkpipe.node.proving import JOBS_DB
from zkpipe.node.run import BackgroundNode
from zkpipe.planner.errors import PlanInputError
from zkpipe.planner.measurements import Measurements, read_json_file
from zkpipe.planner.predict import STAGE_NAMES, Deployment, Prediction, Workload, predict
from zkpipe.proving.jobs.store import JobStore
from zkpipe.proving.proof import Proof
from zkpipe.workload import Accounts

__all__ = [
    "TARGETS",
    "VALIDATED_KPIS",
    "VALIDATION_SCHEMA",
    "GridPoint",
    "LiveRun",
    "PointResult",
    "deployment_of",
    "full_grid",
    "grid_named",
    "load_saved",
    "markdown_table",
    "predict_point",
    "quick_grid",
    "rescore",
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
VALIDATION_SCHEMA: Final = "zkpipe.validation/1"
"""The saved file of live runs: each run's grid point and raw measurements (no prediction needed)."""
GridName = Literal["quick", "full"]


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

    @classmethod
    def from_dict(cls, data: object) -> GridPoint:
        """Reads ``dataclasses.asdict(point)`` back; PlanInputError if malformed."""
        if not isinstance(data, Mapping):
            raise PlanInputError("a saved run's point must be a JSON object")
        names = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in names})
        except TypeError as e:
            raise PlanInputError(f"a saved run's point is incomplete: {e}") from None

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


FULL_RATE, FULL_DURATION_S = 3.5, 14.0
"""The full grid's traffic: 48 steady transactions a point (7–8 per 2 s batch, one segment of 8)
and 37 bursty ones (seed 1); the 24 points' predicted spans, 20 % longer as the live jobs ran,
plus 25 s a point for start-up and deposits, add up to ~40 min on an idle 2-core machine."""


def full_grid() -> tuple[GridPoint, ...]:
    """1 and 2 provers; N = 1, 2, 4; segments of 8 and 16; steady and bursty traffic."""
    return tuple(
        GridPoint(p, n, k, kind, tx_rate=FULL_RATE, duration_s=FULL_DURATION_S)
        for p in (1, 2)
        for n in (1, 2, 4)
        for k in (8, 16)
        for kind in ("deterministic", "bursty")
    )


def grid_named(name: GridName) -> tuple[GridPoint, ...]:
    """The grid `--grid NAME` runs."""
    return quick_grid() if name == "quick" else full_grid()


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
class LiveRun:
    """What one live run measured (nothing predicted): what `--validate` saves and `--rescore` reads."""

    point: GridPoint
    measured: KpiReport
    measured_stages: dict[str, float]
    job_work_s: dict[str, list[float]]
    """Seconds each accepted job held a worker, by kind (segment, aggregate), in start order."""
    transactions: int
    consolidated: int
    wall_s: float
    load: tuple[float, float]  # load average (1 min) before and after
    cpu_s: dict[str, float] = field(default_factory=dict)
    """CPU seconds: ``node`` (this process, the sending window to the last consolidation);
    ``this_process``, ``workers`` (the prover processes) and ``host`` (every process, from
    /proc/stat) from node start to stop; ``other_cores``: the cores other work on the host kept
    busy on average meanwhile (host − this process − workers, over the span): the load the
    prediction does not know about."""
    job_wall_cpu_s: dict[str, list[list[float]]] = field(default_factory=dict)
    """Each accepted proof's (wall, CPU) seconds in its worker, by kind: CPU below wall means the
    job waited for a core; both above the table means each core ran slower."""
    started_utc: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The saved form (JSON-ready; NaN stays NaN)."""
        return {
            "point": dataclasses.asdict(self.point),
            "name": self.point.name,
            "measured": self.measured.to_dict(),
            "measured_stages": self.measured_stages,
            "job_work_s": self.job_work_s,
            "transactions": self.transactions,
            "consolidated": self.consolidated,
            "wall_s": round(self.wall_s, 1),
            "load_before_after": list(self.load),
            "cpu_s": self.cpu_s,
            "job_wall_cpu_s": self.job_wall_cpu_s,
            "started_utc": self.started_utc,
        }

    @classmethod
    def from_dict(cls, data: object) -> LiveRun:
        """Reads a saved run; PlanInputError if malformed."""
        if not isinstance(data, Mapping):
            raise PlanInputError("a saved run must be a JSON object")
        try:
            load = data.get("load_before_after", [math.nan, math.nan])
            return cls(
                point=GridPoint.from_dict(data["point"]),
                measured=KpiReport.from_dict(data["measured"]),
                measured_stages={str(k): float(v) for k, v in data["measured_stages"].items()},
                job_work_s={str(k): [float(x) for x in v] for k, v in data.get("job_work_s", {}).items()},
                transactions=int(data["transactions"]),
                consolidated=int(data["consolidated"]),
                wall_s=float(data["wall_s"]),
                load=(float(load[0]), float(load[1])),
                cpu_s={str(k): float(v) for k, v in data.get("cpu_s", {}).items()},
                job_wall_cpu_s={
                    str(k): [[float(x) for x in pair] for pair in v]
                    for k, v in data.get("job_wall_cpu_s", {}).items()
                },
                started_utc=str(data.get("started_utc", "")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise PlanInputError(f"a saved run is malformed: {e!r}") from None


@dataclass(frozen=True)
class PointResult:
    """One grid point: what was predicted (before the run, or now from its config), what was measured."""

    live: LiveRun
    prediction: Prediction

    @property
    def point(self) -> GridPoint:
        """The grid point."""
        return self.live.point

    @property
    def measured(self) -> KpiReport:
        """The live run's KPIs."""
        return self.live.measured

    def errors(self, predicted: KpiReport | None = None) -> dict[str, float]:
        """Relative error per validated KPI of the simulation's prediction (or ``predicted``)."""
        p = predicted or self.prediction.kpis
        return {name: _relative(_kpi(p, name), _kpi(self.measured, name)) for name in VALIDATED_KPIS}

    def misses(self) -> list[str]:
        """KPIs whose error exceeds the target."""
        return [name for name, e in self.errors().items() if not e <= TARGETS[name]]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: errors, both KPI sets, and per-stage times (with errors) for a miss."""
        measured_stages = self.live.measured_stages
        stages = {
            name: {
                "predicted": _round(self.prediction.stages[name]),
                "measured": _round(measured_stages.get(name, math.nan)),
                "error": _round(_relative(self.prediction.stages[name], measured_stages.get(name, math.nan))),
            }
            for name in STAGE_NAMES
        }
        point = self.point
        return {
            "point": point.name,
            "provers": point.provers,
            "aggregation_n": point.aggregation_n,
            "segment_size": point.segment_size,
            "arrivals": point.arrivals,
            "tx_rate": point.tx_rate,
            "transactions": self.live.transactions,
            "consolidated": self.live.consolidated,
            "errors": {k: _round(v) for k, v in self.errors().items()},
            "model_errors": {k: _round(v) for k, v in self.errors(self.prediction.model).items()},
            "predicted": {k: _round(_kpi(self.prediction.kpis, k)) for k in VALIDATED_KPIS},
            "model": {k: _round(_kpi(self.prediction.model, k)) for k in VALIDATED_KPIS},
            "measured": {k: _round(_kpi(self.measured, k)) for k in VALIDATED_KPIS},
            "misses": self.misses(),
            "stages": stages,
            "node_cpu_share": _round(self.prediction.node_cpu_share),
            "measured_cpu_s": self.live.cpu_s,
            "segment_cpu_over_wall": _round(_cpu_over_wall(self.live.job_wall_cpu_s.get("segment", []))),
            "wall_s": round(self.live.wall_s, 1),
            "load_before_after": list(self.live.load),
            "started_utc": self.live.started_utc,
        }


def predict_point(point: GridPoint, measurements: Measurements) -> Prediction:
    """The prediction of ``point`` from its node configuration, its send schedule and the table."""
    with tempfile.TemporaryDirectory(prefix="zkpipe-plan-") as directory:
        config = node_config(point.settings(), Path(directory))  # the config only: no node starts
    return predict(deployment_of(config), point.workload(), measurements)


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
    started_utc = datetime.now(UTC).isoformat(timespec="seconds")
    settings = point.settings()
    directory = workdir or Path(tempfile.mkdtemp(prefix="zkpipe-validate-"))
    config = node_config(settings, directory)
    workload = point.workload()
    prediction = predict(deployment_of(config), workload, measurements)  # before the node exists
    keys = Accounts.generate(settings.accounts, seed=settings.seed)
    sends = workload.arrival_times_s or ()
    txs = _user_txs(dataclasses.replace(settings, txs=len(sends)), keys, random.Random(point.seed))
    children0, self0, host0, wall0 = (
        _cpu(resource.RUSAGE_CHILDREN), _cpu(resource.RUSAGE_SELF), _host_busy(), time.monotonic(),
    )  # fmt: skip
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
        t0, node_cpu0 = time.time(), _cpu(resource.RUSAGE_SELF)
        for tx, at in zip(txs, sends, strict=True):
            time.sleep(max(0.0, t0 + at - time.time()))
            client.send_transaction(tx)
        _wait(node.reader.tx_times, keys.users + len(txs), deadline)
        node_cpu = _cpu(resource.RUSAGE_SELF) - node_cpu0
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
        job_work = {kind: work[kind][skip[kind] :] for kind in ("segment", "aggregate")}
        stages = {name: _mean(samples[name]) for name in STAGE_NAMES if name in samples}
        stages["segment_prove_time"] = _mean(job_work["segment"])
        stages["aggregate_pair_time"] = _mean(job_work["aggregate"])
        consolidated = sum(1 for r in rows if r.consolidated is not None)
    finally:
        client.close()
        background.stop()
    workers, own = _cpu(resource.RUSAGE_CHILDREN) - children0, _cpu(resource.RUSAGE_SELF) - self0
    host, span = _host_busy() - host0, time.monotonic() - wall0
    wall_cpu = _job_wall_cpu(directory / JOBS_DB, since=t0)
    live = LiveRun(
        point=point,
        measured=measured,
        measured_stages=stages,
        job_work_s={k: [round(x, 4) for x in v] for k, v in job_work.items()},
        transactions=len(rows),
        consolidated=consolidated,
        wall_s=time.monotonic() - began,
        load=(round(load0, 2), round(os.getloadavg()[0], 2)),
        cpu_s={
            "node": round(node_cpu, 3),
            "this_process": round(own, 3),
            "workers": round(workers, 3),
            "host": round(host, 3),
            "other_cores": round(max(0.0, host - own - workers) / span, 3)
            if math.isfinite(host)
            else math.nan,
        },
        job_wall_cpu_s=wall_cpu,
        started_utc=started_utc,
    )
    return PointResult(live=live, prediction=prediction)


def _job_wall_cpu(path: Path, *, since: float) -> dict[str, list[list[float]]]:
    """(wall, CPU) seconds of every proof accepted after ``since``, by kind, from the node's job store."""
    out: dict[str, list[list[float]]] = {"segment": [], "aggregate": []}
    store = JobStore(path)
    try:
        for record in store.records():
            proof = record.proof
            if not isinstance(proof, Proof) or proof.provenance.created_at < since:
                continue
            cpu = proof.provenance.extra.get("cpu_seconds")
            kind = "aggregate" if proof.is_aggregate else "segment"
            wall = proof.provenance.wall_seconds
            out[kind].append([wall, float(cpu) if isinstance(cpu, int | float) else math.nan])
    finally:
        store.close()
    return out


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
    save: Path | None = None,
    resume: bool = False,
    grid_name: str = "custom",
) -> dict[str, Any]:
    """Runs the grid and reports every point and the largest error per KPI.

    A table without contention gets it measured first (`zkpipe bench proving`'s contention step,
    provers alone on this machine, before any run), so the report says what the model was fed.
    Each run's raw measurements go to ``save`` as soon as it ends; with ``resume``, points already
    in ``save`` are not run again (their saved measurements are scored with today's prediction).
    """
    measurements, contention_source = with_contention(measurements, progress=progress)
    saved = load_saved(save)["runs"] if resume and save is not None and save.exists() else []
    done = {json.dumps(r.to_dict()["point"], sort_keys=True): r for r in saved}
    runs: list[LiveRun] = []
    results = []
    for i, point in enumerate(grid, 1):
        key = json.dumps(dataclasses.asdict(point), sort_keys=True)
        if key in done:
            progress(f"[{i}/{len(grid)}] {point.name}: measured already in {save}, re-predicted")
            result = PointResult(live=done[key], prediction=predict_point(point, measurements))
        else:
            progress(f"[{i}/{len(grid)}] {point.name}: predicting, then running live")
            result = run_point(point, measurements, progress=progress)
        progress(f"[{i}/{len(grid)}] {point.name}: errors {_fmt(result.errors())}")
        results.append(result)
        runs.append(result.live)
        if save is not None:
            _save(save, runs, grid_name, measurements.source)
    report = _report(results, measurements, contention_source)
    if save is not None:
        report["saved_to"] = str(save)
    return report


def rescore(path: Path, measurements: Measurements) -> dict[str, Any]:
    """Re-predicts the saved live runs from the current model and ``measurements``, and scores them.

    The predictions read each run's grid point (configuration and send schedule) only; the
    measured side is the saved live figures, labelled with when and under what load they ran.
    """
    saved = load_saved(path)
    # No contention measurement here (a rescore runs nothing): a table without one models none.
    contention_source = "the cost table" if measurements.contention is not None else "none in the table"
    results = [PointResult(live=r, prediction=predict_point(r.point, measurements)) for r in saved["runs"]]
    if not results:
        raise PlanInputError(f"{path} holds no run")
    report = _report(results, measurements, contention_source)
    report["live"] = {
        "file": str(path),
        "grid": saved["grid"],
        "machine": saved["machine"],
        "note": "measured live when recorded (started_utc, load_before_after per point); "
        "predictions re-made now from the cost table named in measurements_source",
    }
    report["machine"] = saved["machine"]
    return report


def load_saved(path: Path | None) -> dict[str, Any]:
    """A saved validation file: its grid name, machine and runs; PlanInputError if unreadable."""
    if path is None:
        raise PlanInputError("no validation file given")
    data = read_json_file(path, "validation")
    if not isinstance(data, Mapping) or data.get("schema") != VALIDATION_SCHEMA:
        raise PlanInputError(f"{path} is not a validation file (schema {VALIDATION_SCHEMA})")
    runs = data.get("runs")
    if not isinstance(runs, list):
        raise PlanInputError(f"{path}: runs must be a list")
    return {
        "grid": str(data.get("grid", "")),
        "machine": data.get("machine", {}),
        "runs": [LiveRun.from_dict(r) for r in runs],
    }


def _save(path: Path, runs: list[LiveRun], grid: str, table_source: str) -> None:
    """Writes the runs so far (atomically: a crash mid-grid keeps the runs before it)."""
    body = {
        "schema": VALIDATION_SCHEMA,
        "grid": grid,
        "machine": describe_machine(),
        "table_source_at_run": table_source,
        "runs": [r.to_dict() for r in runs],
    }
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(body, indent=1))
    partial.replace(path)


def _report(results: list[PointResult], measurements: Measurements, contention_source: str) -> dict[str, Any]:
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


def markdown_table(report: Mapping[str, Any]) -> str:
    """The docs' tables from a validation report: errors per point and KPI, then per-stage times."""
    starts = ", ".join(sorted({str(p.get("started_utc", "")) for p in report["points"]}))
    live = report.get("live")
    where = f"saved in {live['file']}" if isinstance(live, Mapping) else "run by this command"
    out = [
        f"Live (measured): the runs {where}, started {starts or 'at an unrecorded time'} (load per "
        "point below). Predicted: from the configuration and send schedule only, with the table "
        f"{report['measurements_source']}",
        "",
    ]
    out += [
        "| point | txs | load | throughput | virtual p50 | consolidated p50 | consolidated p95 "
        "| model (thr / c50) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in report["points"]:
        e, m = p["errors"], p["model_errors"]
        load = "–".join(f"{x:.1f}" for x in p["load_before_after"])
        cells = " | ".join(_pct(e[k]) for k in VALIDATED_KPIS)
        model = f"{_pct(m['throughput'])} / {_pct(m['delay_consolidated_p50'])}"
        out.append(f"| {p['point']} | {p['transactions']} | {load} | {cells} | {model} |")
    worst = report["max_error"]
    out.append(f"| **max** | | | {' | '.join(f'**{_pct(worst[k])}**' for k in VALIDATED_KPIS)} | |")
    out += [
        "",
        "Per-stage mean times, predicted / measured (s):",
        "",
        "| point | batch interval | segment job | pair job | prove a batch | aggregation "
        "| segment CPU / wall |",
        "|---|---|---|---|---|---|---|",
    ]
    order = (
        "close_a_batch_time",
        "segment_prove_time",
        "aggregate_pair_time",
        "prove_a_batch_time",
        "aggregation_time",
    )
    for p in report["points"]:
        cells = " | ".join(
            f"{_num(p['stages'][k]['predicted'])} / {_num(p['stages'][k]['measured'])}" for k in order
        )
        ratio = p.get("segment_cpu_over_wall")
        out.append(f"| {p['point']} | {cells} | {_num(ratio)} |")
    return "\n".join(out) + "\n"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _cpu_over_wall(pairs: list[list[float]]) -> float:
    """Summed CPU over summed wall seconds of proofs (below 1: they waited for a core)."""
    wall = sum(w for w, c in pairs if math.isfinite(c))
    return sum(c for _, c in pairs if math.isfinite(c)) / wall if wall > 0 else math.nan


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _host_busy() -> float:
    """CPU seconds every process on the host has used since boot (/proc/stat; NaN elsewhere)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return math.nan
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


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
