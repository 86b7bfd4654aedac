"""Prediction from a cost table: it sees the configuration, the offered load and the table, never a run."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import json
import math
import typing
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from tests.planner.helpers import exact_config
from zkpipe.kpi.runrecord import RunRecord as RecordedRun
from zkpipe.kpi.runrecord import StageSamples
from zkpipe.planner.calibrate import RunRecord, calibrate
from zkpipe.planner.errors import PlanInputError
from zkpipe.planner.measurements import Contention, Measurements, SegmentCost, load_default_measurements
from zkpipe.planner.predict import Deployment, Workload, predict
from zkpipe.planner.sim import ProverPool, ProvingSetup, RecordedArrivals, run_simulation
from zkpipe.sequencer.policy import MaxTxsPolicy

# Two one-transaction batches, one segment each: 10 s per segment, 5 s per join (test_sim_node).
TABLE = load_default_measurements().model_copy(
    update={
        "segments": (SegmentCost(log2_cycles=0, prove_seconds=10.0, memory_bytes=1),),
        "aggregate_pair_seconds": 5.0,
        "execute_seconds_per_tx": 0.0,
        "contention": None,
    }
)
TWO = Deployment(
    provers=2, segment_size=1, aggregation_n=2, batch_size=1, block_time=1.0, prove_from="trusted"
)
TWO_TXS = Workload(arrivals="recorded", tx_rate=2.0, duration_s=0.5, arrival_times_s=(0.0, 0.5))


def _model_types(model: type[BaseModel]) -> set[type]:
    """Every model type reachable from ``model``'s fields."""
    seen: set[type] = {model}
    for info in model.model_fields.values():
        for arg in _flatten(info.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel) and arg not in seen:
                seen |= _model_types(arg)
    return seen


def _flatten(annotation: object) -> list[object]:
    args = typing.get_args(annotation)
    return [annotation] if not args else [a for arg in args for a in _flatten(arg)]


def test_the_prediction_inputs_hold_no_run_data() -> None:
    hints = typing.get_type_hints(predict)
    inputs = [
        hints[name]
        for name in inspect.signature(predict).parameters
        if name in ("deployment", "workload", "measurements")
    ]
    assert inputs == [Deployment, Workload, Measurements]
    reachable = set().union(*(_model_types(t) for t in inputs))
    assert not reachable & {StageSamples, RecordedRun}
    # A run's measured samples and KPIs (block_time alone is also a setting: the L1's configured interval).
    run_fields = (set(StageSamples.model_fields) - {"block_time"}) | {"kpis", "stage_times"}
    names = {name for t in reachable for name in t.model_fields}
    assert not names & run_fields, names & run_fields


def _two_batches_record() -> dict[str, Any]:
    """test_sim_node's two batches on two provers, as a run record."""
    config = dataclasses.replace(
        exact_config(hours=1),
        arrivals=RecordedArrivals((0.0, 0.5)),
        duration_s=2.0,
        block_time=1.0,
        aggregation_n=2,
        proving=ProvingSetup(
            segment_log2=None,
            segment_prove_seconds=10.0,
            aggregate_pair_seconds=5.0,
            window_fold=True,
            segment_txs=1,
        ),
        pool=ProverPool(provers=2),
    )
    return run_simulation(config, MaxTxsPolicy(1)).to_run_json(config, batch_size=1, batch_timeout_s=None)


def test_a_run_with_doctored_job_times_predicts_the_same() -> None:
    record = _two_batches_record()
    doctored = copy.deepcopy(record)
    for name in ("segment_prove_time", "aggregate_pair_time", "prove_a_batch_time", "aggregation_time"):
        doctored["stage_times"][name] = [v * 3 for v in doctored["stage_times"][name]]
    doctored["kpis"]["throughput"] *= 3
    runs = [RunRecord.from_dict(r) for r in (record, doctored)]
    predictions = [predict(Deployment.from_setup(r.setup), Workload.from_setup(r.setup), TABLE) for r in runs]
    assert json.dumps(predictions[0].to_dict()) == json.dumps(predictions[1].to_dict())  # NaN-safe
    # The replay (calibration) does read the job times: doctoring them moves it.
    assert calibrate(runs[0]).simulated != calibrate(runs[1]).simulated


def test_prediction_from_the_table_follows_the_node_rules() -> None:
    # seg 0: 0→10, seg 1: 0.5→10.5, join: 10.5→15.5; verified at the first block after 15.5.
    p = predict(TWO, TWO_TXS, TABLE, throughput_window="steady", phases=1)
    assert p.stages["segment_prove_time"] == pytest.approx(10.0)
    assert p.stages["aggregate_pair_time"] == pytest.approx(5.0)
    assert p.kpis.delay_consolidated.p50 == pytest.approx(15.75)
    # Averaged over where blocks fall, consolidation waits half a block on average.
    assert predict(TWO, TWO_TXS, TABLE, phases=8).kpis.delay_consolidated.p50 == pytest.approx(15.75, abs=0.5)


def test_contention_slows_jobs_that_share_the_cores() -> None:
    shared = TABLE.model_copy(update={"contention": Contention(cores=2, prover_slowdown=(1.0, 1.5))})
    alone = predict(TWO, TWO_TXS, shared, phases=1)
    # Processor sharing: seg 0 alone for 0.5 s, then both at 1/1.5 speed; seg 0 ends at
    # 0.5 + 9.5·1.5 = 14.75, seg 1 has 0.5 s of work left and ends alone at 15.25 (14.75 s after
    # its start); the join runs alone (5 s).
    assert alone.stages["segment_prove_time"] == pytest.approx(14.75)
    assert alone.stages["aggregate_pair_time"] == pytest.approx(5.0)
    one = predict(TWO.model_copy(update={"provers": 1}), TWO_TXS, shared, phases=1)
    assert one.stages["segment_prove_time"] == pytest.approx(10.0)
    # Provers on hosts of their own do not contend.
    apart = predict(TWO.model_copy(update={"co_located": False}), TWO_TXS, shared, phases=1)
    assert apart.stages["segment_prove_time"] == pytest.approx(10.0)


def test_a_batch_due_as_the_window_times_out_joins_it() -> None:
    # The node takes newly provable batches before it closes windows in each step: batch 1,
    # provable at the very moment batch 0 has waited the timeout, joins its window (one join).
    deployment = TWO.model_copy(update={"aggregation_timeout_s": 2.0})
    at_the_timeout = Workload(arrivals="recorded", tx_rate=1.0, duration_s=2.0, arrival_times_s=(0.0, 2.0))
    joined = predict(deployment, at_the_timeout, TABLE, phases=1)
    assert joined.stages["aggregate_pair_time"] == pytest.approx(5.0)
    late = Workload(arrivals="recorded", tx_rate=1.0, duration_s=2.1, arrival_times_s=(0.0, 2.1))
    assert math.isnan(predict(deployment, late, TABLE, phases=1).stages["aggregate_pair_time"])  # alone


def test_contention_extrapolates_past_the_measured_provers() -> None:
    c = Contention(cores=2, prover_slowdown=(1.0, 1.2), sequencer_slowdown=1.5)
    assert c.compute_slowdown(1, 0.0) == 1.0
    assert c.compute_slowdown(4, 0.0) == pytest.approx(2.4)  # twice the provers per core
    assert c.compute_slowdown(1, 0.5) == pytest.approx(1.25)


def test_the_node_shares_the_cores_and_noise_is_no_speed_up() -> None:
    c = Contention(cores=2, prover_slowdown=(1.0, 0.9))
    assert c.compute_slowdown(2, 0.0) == 1.0  # a measured 0.9 is noise: two provers are not faster
    # Processor sharing: two provers and half a core of node work on two cores: 2.5 / 2.
    assert c.compute_slowdown(2, 0.5) == pytest.approx(1.25)
    assert c.compute_slowdown(1, 0.5) == 1.0  # a free core absorbs the node
    priced = Contention(cores=2, prover_slowdown=(1.0,), node_seconds_per_segment=2.0)
    assert priced.node_cpu_seconds(txs=4, segments=3, aggregates=2) == pytest.approx(6.0)
    # In a prediction the node's CPU per segment job is load that slows co-located provers.
    table = TABLE.model_copy(update={"contention": priced})
    slow = predict(TWO, TWO_TXS, table, phases=1)
    assert slow.node_cpu_share > 0
    assert slow.stages["segment_prove_time"] > 10.0
    unpriced = TABLE.model_copy(update={"contention": Contention(cores=2, prover_slowdown=(1.0,))})
    free = predict(TWO, TWO_TXS, unpriced, phases=1)
    assert free.node_cpu_share == 0 and free.stages["segment_prove_time"] == pytest.approx(10.0)


def test_invalid_predictions_are_refused() -> None:
    with pytest.raises(ValidationError, match="power of two"):
        Deployment.model_validate(TWO.model_dump() | {"segment_size": 3})
    with pytest.raises(PlanInputError, match="one-thread"):
        predict(TWO.model_copy(update={"threads_per_prover": 2}), TWO_TXS, TABLE)
    with pytest.raises(PlanInputError, match="no measurement for segments of 2\\^3"):
        predict(TWO.model_copy(update={"segment_size": 8}), TWO_TXS, TABLE)
    with pytest.raises(ValidationError, match="arrival_times_s"):
        Workload(arrivals="recorded", tx_rate=1.0, duration_s=1.0)


def test_the_proving_bench_writes_contention_into_the_table() -> None:
    from zkpipe.bench.proving import to_measurements

    segment = {"k": 8, "threads": 1, "prove_s": 4.0, "peak_rss_mib": 400.0}
    result = {
        "command": "zkpipe bench proving --json",
        "machine": {"cpu": "test cpu", "cores": 2},
        "segments": [segment],
        "aggregation": {"aggregation_layer_s": 3.0},
        "contention": {
            "k": 8,
            "cores": 2,
            "prover_slowdown": [1.0, 1.6],
            "sequencer_slowdown": 1.2,
            "sequencer_seconds_per_tx": 0.002,
        },
    }
    table = Measurements.from_dict(to_measurements(result).to_dict())  # through its JSON form
    assert table.contention == Contention(
        cores=2, prover_slowdown=(1.0, 1.6), sequencer_slowdown=1.2, sequencer_seconds_per_tx=0.002
    )
    result["contention"] |= {
        "prover_slowdown": [1.0, 0.85],
        "node_seconds_per_segment": 0.4,
        "node_seconds_per_aggregate": 0.01,
    }
    noisy = to_measurements(result).contention
    assert noisy is not None and noisy.prover_slowdown == (1.0, 1.0)  # below 1 is noise
    assert (noisy.node_seconds_per_segment, noisy.node_seconds_per_aggregate) == (0.4, 0.01)
    assert table.segment_cost(3).prove_seconds == 4.0
    del result["contention"]  # an older benchmark result: no contention, no slowdown
    assert to_measurements(result).contention is None


def test_at_scale_rows_price_the_load_from_the_table() -> None:
    from zkpipe.planner.scale import compute_at_scale

    rows = compute_at_scale(load_default_measurements(), duration_s=900.0, provers_list=(10,))
    assert [(r["provers"], r["arrivals"]) for r in rows] == [(10, "poisson"), (10, "bursty")]
    steady = rows[0]
    # 70 % of the provers' priced capacity: every offered transaction is consolidated (long enough
    # that the last window's drain, a minute or more with sound segments, is a small share).
    assert steady["simulated"]["throughput"] == pytest.approx(steady["offered_tps"], rel=0.2)
    assert steady["simulated"]["delay_consolidated_p95"] >= steady["simulated"]["delay_consolidated_p50"]
