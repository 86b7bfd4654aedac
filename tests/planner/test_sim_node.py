"""The simulator's window_fold mode follows the node's proving rules, event by event."""

from __future__ import annotations

import dataclasses
import math

import pytest

from tests.planner.helpers import exact_config
from zkpipe.planner.calibrate import RunRecord, calibrate
from zkpipe.planner.errors import PlanInputError
from zkpipe.planner.sim import (
    PoissonArrivals,
    ProverPool,
    ProvingSetup,
    RecordedArrivals,
    SimConfig,
    SimResult,
    run_simulation,
)
from zkpipe.sequencer.policy import AnyOf, MaxTxsPolicy, TimeoutPolicy


def two_batches(provers: int, arrivals: tuple[float, ...] = (0.0, 0.5), **changes: object) -> SimResult:
    """Two one-transaction batches (closed at 0.0 and 0.5), one segment each: 10 s per segment, 5 s per
    join, 1 s blocks, N = 2, proving from the close."""
    config = dataclasses.replace(
        exact_config(hours=1),
        arrivals=RecordedArrivals(arrivals),
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
        pool=ProverPool(provers=provers),
        **changes,
    )
    return run_simulation(config, MaxTxsPolicy(1))


def test_one_prover_proves_both_segments_then_the_join() -> None:
    # seg 0: 0→10, seg 1: 10→20, join: 20→25, verified in the block at 26.
    result = two_batches(1)
    assert result.prove_times == (10.0, 19.5)  # queued → proven, queueing included
    assert result.report.delay_consolidated.p50 == pytest.approx(25.75)  # 26 − 0, 26 − 0.5
    assert result.aggregation_times == (15.0, 5.0)  # batch proven → its window's aggregate
    assert result.segment_times == (10.0, 10.0) and result.aggregate_pair_times == (5.0,)
    assert result.report.prover_cpu_seconds_per_tx == pytest.approx(12.5)


def test_two_provers_prove_the_segments_at_once_and_fold_on_a_prover() -> None:
    # seg 0: 0→10, seg 1: 0.5→10.5, join: 10.5→15.5, verified at 16.
    result = two_batches(2)
    assert result.report.delay_consolidated.p50 == pytest.approx(15.75)
    assert result.report.delay_virtual.p50 == pytest.approx(0.75)  # both in the block at 1


def test_the_aggregation_timeout_closes_windows_of_fewer_than_n_batches() -> None:
    # Each batch waits 0.3 s alone: two windows of one segment, verified one per block at 11, 12.
    result = two_batches(2, aggregation_timeout_s=0.3)
    assert result.aggregate_pair_times == ()
    assert result.report.delay_consolidated.p50 == pytest.approx(11.25)  # 11 − 0, 12 − 0.5


def test_block_phase_send_margin_and_proving_from_virtual() -> None:
    # Blocks at 0.4 + k, sends 0.3 s before each: batch 0 (closed 0.0) rides the block at 0.4, batch 1
    # (closed 0.5) the one at 1.4.
    result = two_batches(2, block_phase_s=0.4, send_margin_s=0.3, prove_from="virtual")
    assert result.report.delay_virtual.p50 == pytest.approx((0.4 + 0.9) / 2)
    # Proving starts at 0.4 and 1.4: segments end at 10.4, 11.4, the join at 16.4, verified at 16.4 + 1.
    assert result.report.delay_consolidated.p50 == pytest.approx(17.4 - 0.25)
    with pytest.raises(PlanInputError, match="prove_from"):
        two_batches(2, prove_from="sometime")


@pytest.mark.parametrize(
    ("arrivals", "lag", "virtual"),
    [
        ((0.0, 0.5), 0.0, (1.0, 1.0)),  # both closed before the post due at 0.7: block 1
        ((0.0, 0.8), 0.0, (1.0, 2.0)),  # the second after it: the next interval's post, block 2
        ((0.9, 1.5), 0.0, (1.0, 2.0)),  # the first post of an interval is sent at once
        ((0.9, 1.5), 0.15, (2.0, 2.0)),  # unless the close reaches the sender after the block
    ],
)
def test_the_sender_posts_once_per_block_margin_before_it(
    arrivals: tuple[float, ...], lag: float, virtual: tuple[float, float]
) -> None:
    result = two_batches(2, arrivals, send_margin_s=0.3, send_lag_s=lag)
    delays = sorted(v - a for v, a in zip(virtual, arrivals, strict=True))
    assert result.report.delay_virtual.p50 == pytest.approx(sum(delays) / 2)


def test_a_sim_recorded_node_run_is_re_predicted_within_15_percent() -> None:
    config: SimConfig = dataclasses.replace(
        exact_config(hours=1),
        arrivals=PoissonArrivals(10.0),
        aggregation_n=4,
        aggregation_timeout_s=60.0,
        prove_from="virtual",
        send_margin_s=2.0,
        proving=ProvingSetup(
            segment_log2=None,
            segment_prove_seconds=20.0,
            aggregate_pair_seconds=4.0,
            window_fold=True,
            segment_txs=32,
        ),
        pool=ProverPool(provers=48, speed_sigma=0.2),
        seed=3,
    )
    policy = AnyOf((MaxTxsPolicy(120), TimeoutPolicy(12.0)))
    run = run_simulation(config, policy).to_run_json(config, batch_size=120, batch_timeout_s=12.0)
    record = RunRecord.from_dict(run)
    assert record.has_job_work and record.setup.segment_size == 32 and record.setup.prove_from == "virtual"
    for in_order in (True, False):
        report = calibrate(record, seed=11, in_order=in_order)
        assert report.within_tolerance, (in_order, report.errors)
        assert math.isfinite(report.simulated.delay_consolidated.p50)
