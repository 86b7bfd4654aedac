"""The pipeline simulator: exact where the model is exact, and faithful to pools that misbehave."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tests.planner.helpers import EXACT_BATCH, EXACT_N, EXACT_PROVERS, EXACT_STAGES, exact_config
from zkpipe.planner.errors import PlanInputError
from zkpipe.planner.measurements import default_assumption
from zkpipe.planner.model import StageTimes, compute_aggregated, compute_model_report
from zkpipe.planner.sim import (
    BurstyArrivals,
    DeterministicArrivals,
    PoissonArrivals,
    ProverPool,
    ProvingSetup,
    SimConfig,
    generate_arrivals,
    run_simulation,
)
from zkpipe.sequencer.policy import AdaptivePolicy, AnyOf, MaxTxsPolicy, TimeoutPolicy


def test_simulation_matches_the_model_where_the_model_is_exact() -> None:
    sim = run_simulation(exact_config(), MaxTxsPolicy(EXACT_BATCH)).report
    model = compute_model_report(
        EXACT_STAGES,
        n=EXACT_N,
        provers=EXACT_PROVERS,
        batch_size=EXACT_BATCH,
        execute_seconds_per_tx=0.0,
        l1_gas_per_tx=0.0,
        l1_gas_per_aggregated_proof=0.0,
        prover_cpu_seconds_per_tx=0.0,
    )
    assert sim.source == "simulation"
    for name in ("close_a_batch_time", "prove_a_batch_time", "block_time", "aggregation_time"):
        assert getattr(sim, name) == pytest.approx(getattr(model, name))
    assert sim.throughput == pytest.approx(model.throughput, rel=1e-3)
    assert sim.throughput_batches == pytest.approx(model.throughput_batches, rel=1e-9)
    for state in ("delay_virtual", "delay_consolidated"):
        for q in ("p50", "p95", "p99"):
            # The model is the fluid limit; discrete arrivals differ by at most one inter-arrival gap.
            assert getattr(getattr(sim, state), q) == pytest.approx(
                getattr(getattr(model, state), q), abs=0.1
            )
    assert sim.transactions == 4 * 3600 * 10 - 1


def test_l1_block_time_caps_naive_throughput() -> None:
    # N = 1: one verification per block, batches closing every 6 s: half of them queue.
    config = exact_config(aggregation_n=1, arrivals=DeterministicArrivals(20.0), drain_s=0.0)
    sim = run_simulation(config, MaxTxsPolicy(EXACT_BATCH)).report
    expected = compute_aggregated(StageTimes(6.0, 120.0, 12.0, 0.0), 1, EXACT_PROVERS)
    assert expected.bottleneck == "block_time"
    assert sim.throughput_batches == pytest.approx(expected.throughput_batches, rel=1e-3)


def test_too_few_provers_cap_throughput_at_provers_over_prove_time() -> None:
    config = exact_config(pool=ProverPool(provers=4), drain_s=0.0)
    sim = run_simulation(config, MaxTxsPolicy(EXACT_BATCH)).report
    assert sim.throughput_batches == pytest.approx(4 / 120, rel=0.01)
    lead_time = 4 * 12 + 120 + 12 + 12
    assert sim.delay_consolidated.p50 > 10 * lead_time  # the prover queue grew all run long


def test_redundancy_proves_everything_with_one_honest_prover_in_five() -> None:
    pool = ProverPool(provers=5 * EXACT_PROVERS, honest_fraction=0.2, redundancy=5)
    honest = run_simulation(exact_config(hours=2), MaxTxsPolicy(EXACT_BATCH))
    p2p = run_simulation(exact_config(hours=2, pool=pool), MaxTxsPolicy(EXACT_BATCH))
    assert p2p.unconsolidated_txs == 0
    assert p2p.report.transactions == honest.report.transactions
    # Every job burns five provers' time, and random assignment sometimes needs a second round.
    assert p2p.report.prover_cpu_seconds_per_tx > 4 * honest.report.prover_cpu_seconds_per_tx
    assert p2p.report.prove_a_batch_time >= honest.report.prove_a_batch_time


def test_failures_and_stragglers_slow_proving_but_lose_nothing() -> None:
    pool = ProverPool(
        provers=64, speed_sigma=0.3, straggler_probability=0.1, straggler_factor=4.0, failure_probability=0.1
    )
    clean = run_simulation(exact_config(hours=2), MaxTxsPolicy(EXACT_BATCH)).report
    noisy = run_simulation(exact_config(hours=2, pool=pool), MaxTxsPolicy(EXACT_BATCH))
    assert noisy.unconsolidated_txs == 0
    assert noisy.report.prove_a_batch_time > clean.prove_a_batch_time
    assert max(noisy.prove_times) > 2 * EXACT_STAGES.prove_a_batch_time  # a straggler or a retry


def test_segments_are_proven_in_parallel_and_folded() -> None:
    # 120 txs of 2^12 cycles in segments of 2^16 cycles: 8 segments, 3 fold levels of 6 s.
    proving = ProvingSetup(
        segment_log2=16, segment_prove_seconds=30.0, aggregate_pair_seconds=6.0, cycles_per_tx=4096
    )
    config = exact_config(hours=1, proving=proving, pool=ProverPool(provers=64))
    result = run_simulation(config, MaxTxsPolicy(EXACT_BATCH))
    assert result.report.prove_a_batch_time == pytest.approx(30.0 + 3 * 6.0)


def test_a_day_of_traffic_on_2000_provers_consolidates_everything() -> None:
    # How fast this runs is a benchmark figure (`zkpipe plan --simulate --json` prints wall_seconds),
    # not a test: a wall-clock bound here failed whenever the shared machine was loaded.
    m = default_assumption()
    config = SimConfig(
        arrivals=PoissonArrivals(10.0),
        duration_s=86_400.0,
        block_time=12.0,
        aggregation_n=8,
        proving=ProvingSetup(
            segment_log2=19,
            segment_prove_seconds=m.segment_cost(19).prove_seconds,
            aggregate_pair_seconds=m.aggregate_pair_seconds,
            cycles_per_tx=m.cycles_per_tx,
            batch_overhead_cycles=m.batch_overhead_cycles,
        ),
        pool=ProverPool(provers=2000, honest_fraction=0.2, redundancy=5, speed_sigma=0.2),
        gas=m.gas,
        execute_seconds_per_tx=m.execute_seconds_per_tx,
    )
    result = run_simulation(config, AnyOf((MaxTxsPolicy(128), TimeoutPolicy(30.0))), progress=True)
    assert result.report.transactions > 800_000
    assert result.unconsolidated_txs == 0
    assert result.report.throughput == pytest.approx(10.0, rel=0.05)


def test_bursty_traffic_keeps_its_mean_rate_and_hurts_tail_delays() -> None:
    rng = np.random.default_rng(1)
    times = generate_arrivals(BurstyArrivals(10.0), 86_400.0, rng)
    assert times.size / 86_400.0 == pytest.approx(10.0, rel=0.1)
    assert np.all(np.diff(times) >= 0)
    policy = AnyOf((MaxTxsPolicy(240), TimeoutPolicy(24.0)))
    poisson = run_simulation(exact_config(arrivals=PoissonArrivals(10.0)), policy).report
    bursty = run_simulation(exact_config(arrivals=BurstyArrivals(10.0)), policy).report
    assert bursty.delay_consolidated.p99 > poisson.delay_consolidated.p99


def test_the_adaptive_policy_grows_batches_when_provers_lag() -> None:
    policy = AdaptivePolicy(min_txs=30, max_txs=480, max_wait_s=60.0, target_latency_s=130.0)
    config = exact_config(hours=2, pool=ProverPool(provers=6))
    run_simulation(config, policy)
    assert policy.target_txs > 30


def test_the_run_json_round_trips_through_the_calibration_schema() -> None:
    from zkpipe.planner.calibrate import RunRecord

    config = exact_config(hours=1)
    result = run_simulation(config, MaxTxsPolicy(EXACT_BATCH))
    record = RunRecord.from_dict(result.to_run_json(config, batch_size=EXACT_BATCH, batch_timeout_s=None))
    assert record.kpis == result.report
    assert record.setup.provers == EXACT_PROVERS


@pytest.mark.parametrize(
    "changes",
    [
        {"duration_s": 0.0},
        {"block_time": -1.0},
        {"aggregation_n": 0},
        {"pool": ProverPool(provers=0)},
        {"pool": ProverPool(provers=4, redundancy=5)},
        {"pool": ProverPool(provers=4, honest_fraction=0.0)},
        {"pool": ProverPool(provers=4, failure_probability=1.0)},
        {"arrivals": PoissonArrivals(0.0)},
        {"arrivals": BurstyArrivals(1.0, burst_factor=20.0, burst_share=0.5)},
        {"tick_s": 0.0},
    ],
)
def test_invalid_configs_are_rejected(changes: dict[str, object]) -> None:
    config = dataclasses.replace(exact_config(hours=0.1), **changes)  # type: ignore[arg-type]
    with pytest.raises(PlanInputError):
        run_simulation(config, MaxTxsPolicy(EXACT_BATCH))
