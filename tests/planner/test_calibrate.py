"""Calibration: a recorded run is re-predicted from its stage times, KPI by KPI."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.planner.helpers import EXACT_BATCH, exact_config
from zkpipe.planner.calibrate import CHECKED_KPIS, RunRecord, calibrate, load_run
from zkpipe.planner.errors import PlanInputError
from zkpipe.planner.sim import PoissonArrivals, ProverPool, run_simulation
from zkpipe.sequencer.policy import AnyOf, MaxTxsPolicy, TimeoutPolicy


def recorded_run(**changes: object) -> dict[str, Any]:
    """A synthetic run in the zkpipe.run/1 schema, written by the simulator."""
    config = exact_config(hours=2, **changes)
    result = run_simulation(config, MaxTxsPolicy(EXACT_BATCH))
    return result.to_run_json(config, batch_size=EXACT_BATCH, batch_timeout_s=None)


def test_calibration_is_exact_where_the_model_is_exact() -> None:
    report = calibrate(RunRecord.from_dict(recorded_run()))
    assert set(report.errors) == set(CHECKED_KPIS)
    assert report.within_tolerance
    assert report.max_error < 0.01
    assert max(report.model_errors.values()) < 0.01


def test_calibration_of_a_noisy_poisson_run_is_within_15_percent() -> None:
    config = exact_config(
        hours=3,
        arrivals=PoissonArrivals(10.0),
        pool=ProverPool(
            provers=24,
            speed_sigma=0.2,
            straggler_probability=0.02,
            straggler_factor=2.0,
            failure_probability=0.02,
        ),
        seed=7,
    )
    policy = AnyOf((MaxTxsPolicy(EXACT_BATCH), TimeoutPolicy(24.0)))
    run = run_simulation(config, policy).to_run_json(config, batch_size=EXACT_BATCH, batch_timeout_s=24.0)
    report = calibrate(RunRecord.from_dict(run), seed=1)  # another seed: a prediction, not a replay
    assert report.within_tolerance, report.errors


@pytest.mark.slow
def test_calibration_against_a_live_pipeline_is_within_15_percent(tmp_path: Path) -> None:
    """Runs a small live pipeline, calibrates, and requires 15 % on throughput and median delays."""
    from zkpipe.demo import DemoSettings, run_demo

    # Waves every ~0.5 s and batches closing 0.75 s after their first transaction: no wave lands on
    # a batch boundary, where a few milliseconds of scheduling would move it (and a segment).
    settings = DemoSettings(
        accounts=8, txs=48, waves=6, block_time=1.0, batch_timeout_s=0.75, aggregation_n=2, timeout_s=300.0
    )
    record = run_demo(settings, out=tmp_path / "demo")
    assert record["lost"] == 0 and record["proving_failed"] is None
    assert record["user_consolidated"] == record["user_txs"] == 48
    path = tmp_path / "run.json"
    path.write_text(json.dumps(record))  # as `zkpipe demo --json > run.json` writes it
    run = load_run(path)
    assert run.has_job_work and run.setup.arrival_times_s is not None
    report = calibrate(run)
    assert set(report.errors) == set(CHECKED_KPIS)
    assert report.within_tolerance, (report.errors, report.measured, report.simulated)


def test_load_run_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(recorded_run()))
    assert load_run(path).setup.aggregation_n == 4
    with pytest.raises(PlanInputError, match="cannot read"):
        load_run(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("[")
    with pytest.raises(PlanInputError, match="not JSON"):
        load_run(tmp_path / "bad.json")


def _drop(key: str) -> Any:
    def mutate(d: dict[str, Any]) -> None:
        section, _, field = key.partition(".")
        if field:
            d[section].pop(field)
        else:
            d.pop(section)

    return mutate


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(schema="zkpipe.run/0"), "schema"),
        (_drop("config"), "config"),
        (_drop("kpis"), "kpis"),
        (_drop("kpis.throughput"), "kpis.throughput"),
        (lambda d: d["kpis"].update(delay_virtual={"p50": 1.0}), "p95"),
        (lambda d: d["kpis"].update(throughput="fast"), "kpis.throughput"),
        (lambda d: d["stage_times"].update(prove_a_batch_time=[]), "prove_a_batch_time"),
        (lambda d: d["stage_times"].update(close_a_batch_time=[-1.0]), "close_a_batch_time"),
        (lambda d: d["config"].update(arrivals="sometimes"), "arrivals"),
        (lambda d: d["config"].update(provers=0), "provers"),
        (lambda d: d["config"].update(batch_size=None, batch_timeout_s=None), "batch policy"),
        (lambda d: d["config"].update(arrivals="recorded"), "arrival_times_s"),
        (lambda d: d["config"].update(arrivals="recorded", arrival_times_s=[-1.0]), "arrival_times_s"),
        (lambda d: d["config"].update(throughput_window="forever"), "throughput_window"),
        (lambda d: d["config"].update(prove_from="later"), "prove_from"),
        (lambda d: d["config"].update(send_margin_s=-0.3), "send_margin_s"),
        (lambda d: d["stage_times"].update(segment_prove_time=[-2.0]), "segment_prove_time"),
    ],
)
def test_malformed_runs_are_rejected(mutate: Any, message: str) -> None:
    data = copy.deepcopy(_RUN)
    mutate(data)
    with pytest.raises(PlanInputError, match=message):
        RunRecord.from_dict(data)


_RUN = recorded_run()
