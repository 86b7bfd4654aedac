"""The simulator's inputs and outputs: arrivals, provers, proving setup, the config and the result."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from zkpipe.kpi.figures import KpiReport
from zkpipe.kpi.runrecord import RUN_SCHEMA, RunRecord
from zkpipe.modes import ProveFrom
from zkpipe.planner.errors import PlanInputError
from zkpipe.planner.measurements import Contention, GasTable

FloatArray = npt.NDArray[np.float64]
EPS = 1e-9  # seconds; absorbs float error when an event lands exactly on a block boundary


@dataclass(frozen=True)
class DeterministicArrivals:
    """One transaction every 1/rate seconds (the analytic model's fluid traffic)."""

    rate: float  # tx/s
    kind: str = field(default="deterministic", init=False)


@dataclass(frozen=True)
class PoissonArrivals:
    """Poisson arrivals at ``rate`` tx/s."""

    rate: float  # tx/s
    kind: str = field(default="poisson", init=False)


@dataclass(frozen=True)
class BurstyArrivals:
    """Poisson arrivals whose rate switches between bursts and lulls, averaging ``rate`` tx/s.

    Bursts (``burst_factor`` × rate) cover ``burst_share`` of the time and last
    ``mean_burst_s`` on average; lulls make up the rest of the mean rate.
    """

    rate: float  # mean tx/s
    burst_factor: float = 5.0
    burst_share: float = 0.1
    mean_burst_s: float = 60.0
    kind: str = field(default="bursty", init=False)


@dataclass(frozen=True)
class RecordedArrivals:
    """The arrival times of a recorded run (seconds from its first transaction), replayed as they were."""

    times: tuple[float, ...]
    kind: str = field(default="recorded", init=False)

    @property
    def rate(self) -> float:
        """The mean rate over the arrival window, tx/s."""
        span = max(self.times, default=0.0) - min(self.times, default=0.0)
        return len(self.times) / span if span > 0 else float(len(self.times))


Arrivals = DeterministicArrivals | PoissonArrivals | BurstyArrivals | RecordedArrivals


@dataclass(frozen=True)
class ProverPool:
    """The prover workers: heterogeneous, possibly dishonest, failing or straggling."""

    provers: int
    honest_fraction: float = 1.0  # share of provers that return valid proofs; the rest waste time
    redundancy: int = 1  # copies of each segment job issued at once (5 for "1 honest in 5")
    speed_sigma: float = 0.0  # log-normal sigma of per-prover speed (0: identical provers)
    straggler_probability: float = 0.0  # chance a job runs straggler_factor times slower
    straggler_factor: float = 4.0
    failure_probability: float = 0.0  # chance a job crashes; noticed when it would have finished
    # Provers sharing one host's cores (with each other and the node, which keeps `node_load` cores
    # busy on average): every running copy progresses at 1 / contention.compute_slowdown(copies
    # running, node_load), re-timed at each start and end (processor sharing).
    contention: Contention | None = None
    node_load: float = 0.0


@dataclass(frozen=True)
class ProvingSetup:
    """How a batch is proven: segments, per-segment time and aggregation."""

    segment_log2: int | None  # segments of 2^k cycles; None proves each batch as one segment
    segment_prove_seconds: float  # one segment on a speed-1 prover
    aggregate_pair_seconds: float  # one recursive aggregation of two proofs
    cycles_per_tx: float = 1.0
    batch_overhead_cycles: float = 0.0
    segment_overhead_fraction: float = 0.0
    prove_time_samples: tuple[float, ...] = ()  # if set, each job's time is drawn from these
    # The node's proving (``node/proving.py``) instead of one fold per batch and a separate
    # aggregator: a batch's segments are queued when it may be proven; a window of N batches (or
    # fewer after ``SimConfig.aggregation_timeout_s``) is folded pairwise over all its segment
    # proofs, each join a job on the same provers, queued with the batch of its first segment.
    window_fold: bool = False
    segment_txs: int | None = None  # segments of this many transactions (the node's segment_size)
    aggregate_time_samples: tuple[float, ...] = ()  # window_fold: each join's time drawn from these
    # window_fold: deal the samples in their recorded order first (a trace-driven re-prediction:
    # the k-th job started gets the run's k-th job's work), then as a shuffled deck.
    samples_in_order: bool = False


@dataclass(frozen=True)
class SimConfig:
    """One simulated deployment and workload."""

    arrivals: Arrivals
    duration_s: float  # transactions arrive during [0, duration_s)
    block_time: float
    aggregation_n: int
    proving: ProvingSetup
    pool: ProverPool
    gas: GasTable
    tx_bytes: int = 120
    execute_seconds_per_tx: float = 0.0
    tick_s: float = 0.1  # how often the batcher re-checks its policy between arrivals
    drain_s: float = 3600.0  # simulated time allowed after the last arrival for the backlog
    seed: int = 0
    block_phase_s: float = 0.0  # L1 blocks at block_phase_s + k·block_time
    # The sequence sender posts once per block interval, send_margin_s before the next block (or at
    # the first close after that moment); a batch closed after its interval's post waits a block more.
    send_margin_s: float = 0.0
    send_lag_s: float = 0.0  # from a batch's close to the sender being able to post it (store, wake-up)
    prove_from: ProveFrom = "trusted"  # when a batch's segments may be queued
    witness_seconds: float = 0.0  # from that moment to the segments being queued (re-applying the batch)
    aggregation_timeout_s: float | None = None  # window_fold: a window closes after this with < N batches


@dataclass(frozen=True)
class SimResult:
    """The KPI report of a simulated run, with the stage-time samples behind it."""

    report: KpiReport
    close_intervals: tuple[float, ...]
    prove_times: tuple[float, ...]
    aggregation_times: tuple[float, ...]
    unconsolidated_txs: int
    wall_seconds: float
    run_throughput: float = math.nan  # consolidated tx/s from the first arrival to the last consolidation
    run_throughput_batches: float = math.nan  # the same in batches/s
    segment_times: tuple[float, ...] = ()  # window_fold: seconds of each accepted segment copy, by start
    aggregate_pair_times: tuple[float, ...] = ()  # window_fold: the same for each join

    def to_run_json(
        self, config: SimConfig, *, batch_size: int | None, batch_timeout_s: float | None
    ) -> dict[str, Any]:
        """The run in the calibration schema (``zkpipe.run/1``), as a live run would write it."""
        record = RunRecord.model_validate(
            {
                "schema": RUN_SCHEMA,
                "source": "simulation",
                "config": {
                    "arrivals": config.arrivals.kind,
                    "tx_rate": config.arrivals.rate,
                    "duration_s": config.duration_s,
                    "batch_size": batch_size,
                    "batch_timeout_s": batch_timeout_s,
                    "provers": config.pool.provers,
                    "aggregation_n": config.aggregation_n,
                    "block_time": config.block_time,
                    "execute_seconds_per_tx": config.execute_seconds_per_tx,
                    "batch_check_s": config.tick_s,
                    "aggregation_timeout_s": config.aggregation_timeout_s,
                    "block_phase_s": config.block_phase_s,
                    "send_margin_s": config.send_margin_s,
                    "send_lag_s": config.send_lag_s,
                    "prove_from": config.prove_from,
                    "segment_size": config.proving.segment_txs,
                    "throughput_window": "steady",
                    **(
                        {"arrival_times_s": list(config.arrivals.times)}
                        if isinstance(config.arrivals, RecordedArrivals)
                        else {}
                    ),
                },
                "stage_times": {
                    "close_a_batch_time": list(self.close_intervals),
                    "prove_a_batch_time": list(self.prove_times),
                    "aggregation_time": list(self.aggregation_times),
                    "block_time": [config.block_time],
                    **(
                        {
                            "segment_prove_time": list(self.segment_times),
                            "aggregate_pair_time": list(self.aggregate_pair_times),
                        }
                        if config.proving.window_fold
                        else {}
                    ),
                },
                "kpis": self.report.to_dict(),
            }
        )
        return record.model_dump(by_alias=True, exclude_none=True)


def generate_arrivals(spec: Arrivals, duration_s: float, rng: np.random.Generator) -> FloatArray:
    """Sorted arrival times in [0, duration_s)."""
    if isinstance(spec, RecordedArrivals):
        times = np.sort(np.asarray(spec.times, dtype=np.float64))
        if times.size and (not np.isfinite(times).all() or times[0] < 0):
            raise PlanInputError("recorded arrival times must be finite and >= 0")
        return times[times < duration_s]
    if not (math.isfinite(spec.rate) and spec.rate > 0):
        raise PlanInputError(f"arrival rate must be > 0 tx/s, got {spec.rate}")
    if isinstance(spec, DeterministicArrivals):
        count = math.ceil(duration_s * spec.rate - EPS) - 1
        return np.arange(1, max(count, 0) + 1, dtype=np.float64) / spec.rate
    if isinstance(spec, PoissonArrivals):
        return _poisson_times(spec.rate, 0.0, duration_s, rng)
    return _bursty_times(spec, duration_s, rng)


def _poisson_times(rate: float, start: float, end: float, rng: np.random.Generator) -> FloatArray:
    count = rng.poisson(rate * (end - start))
    return np.sort(rng.uniform(start, end, count))


def _bursty_times(spec: BurstyArrivals, duration_s: float, rng: np.random.Generator) -> FloatArray:
    if not (
        spec.burst_factor >= 1 and 0 < spec.burst_share < 1 and spec.burst_share * spec.burst_factor <= 1
    ):
        raise PlanInputError("bursty arrivals need burst_factor >= 1, 0 < burst_share < 1, share·factor <= 1")
    burst_rate = spec.rate * spec.burst_factor
    lull_rate = spec.rate * (1 - spec.burst_share * spec.burst_factor) / (1 - spec.burst_share)
    mean_lull = spec.mean_burst_s * (1 - spec.burst_share) / spec.burst_share
    chunks, t, bursting = [], 0.0, False
    while t < duration_s:
        length = rng.exponential(spec.mean_burst_s if bursting else mean_lull)
        end = min(duration_s, t + length)
        chunks.append(_poisson_times(burst_rate if bursting else lull_rate, t, end, rng))
        t, bursting = end, not bursting
    return np.concatenate(chunks) if chunks else np.zeros(0)


def validate_sim_config(c: SimConfig) -> None:
    """Raises PlanInputError unless every setting of `c` is in range."""
    checks = [
        (c.duration_s > 0, f"duration_s must be > 0, got {c.duration_s}"),
        (c.block_time > 0, f"block_time must be > 0, got {c.block_time}"),
        (c.aggregation_n >= 1, f"aggregation_n must be >= 1, got {c.aggregation_n}"),
        (c.pool.provers >= 1, f"provers must be >= 1, got {c.pool.provers}"),
        (0 < c.pool.honest_fraction <= 1, f"honest_fraction must be in (0, 1], got {c.pool.honest_fraction}"),
        (
            1 <= c.pool.redundancy <= c.pool.provers,
            f"redundancy must be in [1, provers], got {c.pool.redundancy}",
        ),
        (c.pool.speed_sigma >= 0, "speed_sigma must be >= 0"),
        (0 <= c.pool.straggler_probability <= 1, "straggler_probability must be in [0, 1]"),
        (c.pool.straggler_factor >= 1, "straggler_factor must be >= 1"),
        (0 <= c.pool.failure_probability < 1, "failure_probability must be in [0, 1)"),
        (c.pool.node_load >= 0, "node_load must be >= 0"),
        (c.proving.segment_prove_seconds > 0 or bool(c.proving.prove_time_samples), "prove time must be > 0"),
        (all(s >= 0 for s in c.proving.prove_time_samples), "prove_time_samples must be >= 0"),
        (c.proving.aggregate_pair_seconds >= 0, "aggregate_pair_seconds must be >= 0"),
        (c.tick_s > 0, f"tick_s must be > 0, got {c.tick_s}"),
        (c.drain_s >= 0, "drain_s must be >= 0"),
        (c.execute_seconds_per_tx >= 0, "execute_seconds_per_tx must be >= 0"),
        (math.isfinite(c.block_phase_s) and c.block_phase_s >= 0, "block_phase_s must be >= 0"),
        (c.send_margin_s >= 0, "send_margin_s must be >= 0"),
        (c.send_lag_s >= 0, "send_lag_s must be >= 0"),
        (c.prove_from in ("trusted", "virtual"), f"prove_from must be trusted or virtual: {c.prove_from!r}"),
        (c.witness_seconds >= 0, "witness_seconds must be >= 0"),
        (
            c.aggregation_timeout_s is None or c.aggregation_timeout_s > 0,
            "aggregation_timeout_s must be > 0",
        ),
        (c.proving.segment_txs is None or c.proving.segment_txs >= 1, "segment_txs must be >= 1"),
        (all(s >= 0 for s in c.proving.aggregate_time_samples), "aggregate_time_samples must be >= 0"),
    ]
    for ok, message in checks:
        if not ok:
            raise PlanInputError(message)
