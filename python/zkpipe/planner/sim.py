"""A discrete-event simulation (SimPy) of the whole pipeline, reporting the live node's KPIs.

Transactions arrive (deterministic, Poisson or bursty), are executed (trusted), batched by a
real ``zkpipe.sequencer.policy`` object driven with simulated time, sequenced on L1 at the next
block (virtual), split into segments proven by a pool of heterogeneous provers that may be
dishonest, fail or straggle, folded into a batch proof, aggregated N batches at a time and
verified on L1, one verification per block (consolidated).
"""

from __future__ import annotations

import heapq
import math
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import simpy

from zkpipe.planner.errors import PlanInputError
from zkpipe.planner.kpi import KpiReport, compute_percentiles
from zkpipe.planner.measurements import GasTable
from zkpipe.planner.model import compute_aggregation_levels, compute_segment_count
from zkpipe.sequencer.policy import BatchPolicy, DownstreamFeedback

__all__ = [
    "RUN_SCHEMA",
    "Arrivals",
    "BurstyArrivals",
    "DeterministicArrivals",
    "PoissonArrivals",
    "ProverPool",
    "ProvingSetup",
    "RecordedArrivals",
    "SimConfig",
    "SimResult",
    "generate_arrivals",
    "run_simulation",
]

RUN_SCHEMA = "zkpipe.run/1"
FloatArray = npt.NDArray[np.float64]
_Proc = Generator[simpy.events.Event, Any, None]  # a SimPy process
_EPS = 1e-9  # seconds; absorbs float error when an event lands exactly on a block boundary


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
    prove_from: str = "closed"  # "closed" or "virtual": when a batch's segments may be queued
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
        return {
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
        count = math.ceil(duration_s * spec.rate - _EPS) - 1
        return np.arange(1, max(count, 0) + 1, dtype=np.float64) / spec.rate
    if isinstance(spec, PoissonArrivals):
        return _poisson_times(spec.rate, 0.0, duration_s, rng)
    return _bursty_times(spec, duration_s, rng)


def run_simulation(config: SimConfig, policy: BatchPolicy, *, progress: bool = False) -> SimResult:
    """Simulates the pipeline under ``policy`` (a fresh object: it may keep state)."""
    _validate(config)
    started = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    arrivals = generate_arrivals(config.arrivals, config.duration_s, rng)
    if arrivals.size == 0:
        raise PlanInputError("no transaction arrives during the simulated duration")
    # One sequencer executes in arrival order: trusted_i = max(arrival_i, trusted_{i-1}) + e.
    e = config.execute_seconds_per_tx
    steps = e * np.arange(arrivals.size, dtype=np.float64)
    trusted = np.maximum.accumulate(arrivals - steps) + steps + e
    sim = _Pipeline(config, rng)
    horizon = config.duration_s + config.drain_s
    with _progress_bar(progress, horizon) as update:
        sim.env.process(sim.batcher(trusted, policy, update))
        if not config.proving.window_fold:
            sim.env.process(sim.aggregator())
        sim.env.run(until=horizon)
    return sim.result(arrivals, trusted, time.perf_counter() - started)


# --- the pipeline ----------------------------------------------------------------------------------


@dataclass
class _Prover:
    speed: float
    honest: bool


@dataclass
class _Job:
    priority: tuple[int, int]  # (batch, segment): older batches first
    seconds: float  # on a speed-1 prover
    done: simpy.Event
    to_issue: int = 0  # copies not yet handed to a prover
    outstanding: int = 0  # copies issued and not yet back
    first_start: float = math.inf
    kind: str = "segment"  # or "aggregate" (a window_fold join)
    listeners: list[Callable[[], None]] = field(default_factory=list)  # called once, when proven


@dataclass
class _Window:
    """A window_fold aggregation window: its batches and the fold's remaining joins."""

    batches: list[int]
    done_at: float = math.nan


class _Pipeline:
    """The simulated node: processes and the per-batch record."""

    def __init__(self, config: SimConfig, rng: np.random.Generator) -> None:
        self.config = config
        self.rng = rng
        self.env = simpy.Environment()
        self.pending: list[tuple[tuple[int, int], _Job]] = []  # heap of jobs with copies to issue
        self.free: deque[_Prover] = deque()
        pool = config.pool
        honest = np.zeros(pool.provers, dtype=bool)
        honest[: max(1, round(pool.honest_fraction * pool.provers))] = True
        rng.shuffle(honest)
        speeds = np.exp(rng.normal(0.0, pool.speed_sigma, pool.provers)) if pool.speed_sigma > 0 else None
        for i in range(pool.provers):
            self.free.append(
                _Prover(speed=1.0 if speeds is None else float(speeds[i]), honest=bool(honest[i]))
            )
        # Per batch: [start, end) transaction range and timestamps (NaN until reached).
        self.start: list[int] = []
        self.end: list[int] = []
        self.closed: list[float] = []
        self.virtual: list[float] = []
        self.proven: list[float] = []
        self.prove_service: list[float] = []
        self.consolidated: list[float] = []
        self.proven_events: list[simpy.Event] = []
        self.aggregation_times: list[float] = []
        self.group_times: list[float] = []
        self.group_batches: list[list[int]] = []
        self.cpu_seconds = 0.0
        self.last_latency: float | None = None
        self.proven_count = 0
        self.input_done = False
        self.batch_signal = self.env.event()
        self.last_verification = -math.inf
        self.send_interval = -(2**62)  # the block interval of the sender's last post, and its time
        self.send_at = -math.inf
        # window_fold only: the node's proving state.
        self.seq = 0  # job insertion order (the job store's tie-break within a batch)
        self.proving_started: list[float] = []
        self.aggregated: list[float] = []
        self.batch_jobs: dict[int, list[_Job]] = {}
        self.remaining: dict[int, int] = {}
        self.taken = 0
        self.open_batches: list[int] = []
        self.windows: list[_Window] = []
        self.next_verify = 0
        self.segment_times: list[tuple[float, float]] = []  # (started, seconds) of accepted copies
        self.aggregate_pair_times: list[tuple[float, float]] = []
        self.decks: dict[int, list[float]] = {}

    def sequence(self, t: float) -> float:
        """The block a batch closed at ``t`` is sequenced in (the node's sender, ``node/l1worker.py``).

        One post per block interval, due ``send_margin_s`` before the next block: a batch closed
        before its interval's post rides it; one closed after waits for the next interval's post.
        With no margin, every batch rides the next block.
        """
        b, phase = self.config.block_time, self.config.block_phase_s
        t += self.config.send_lag_s
        interval = math.floor((t - phase) / b + _EPS)  # blocks at phase + k·b; this one is k = interval
        if interval > self.send_interval:
            due = phase + (interval + 1) * b - self.config.send_margin_s
            self.send_interval, self.send_at = interval, max(t, due)
        elif t > self.send_at + _EPS:
            self.send_interval += 1  # this interval's post is gone: the next one carries it
            self.send_at = phase + (self.send_interval + 1) * b - self.config.send_margin_s
        return phase + (self.send_interval + 1) * b

    def next_block(self, t: float) -> float:
        """The first L1 block strictly after ``t`` (blocks at block_phase_s + multiples of block_time)."""
        b, phase = self.config.block_time, self.config.block_phase_s
        return phase + (math.floor((t - phase) / b + _EPS) + 1) * b

    def batcher(self, trusted: FloatArray, policy: BatchPolicy, update: _Update) -> _Proc:
        """Feeds executed transactions to the policy at each arrival and tick; closes batches."""
        cfg = self.config
        times = trusted.tolist()
        n, tick, size = len(times), cfg.tick_s, cfg.tx_bytes
        pending, first, opened_at = 0, 0, 0.0
        for i, t in enumerate(times):
            if pending == 0:
                first, opened_at = i, t
            pending += 1
            close_at = t if policy.should_close(t, pending, pending * size, opened_at) else None
            if close_at is None:
                # Re-check on ticks until the next arrival; after the last one, until arrivals end.
                until = times[i + 1] if i + 1 < n else max(cfg.duration_s, t)
                k = math.floor(t / tick) + 1
                while k * tick < until:
                    if policy.should_close(k * tick, pending, pending * size, opened_at):
                        close_at = k * tick
                        break
                    k += 1
            if close_at is None and i + 1 == n:
                close_at = max(cfg.duration_s, t)  # the node flushes the open batch at shutdown
            if close_at is not None:
                yield self.env.timeout(max(0.0, close_at - self.env.now))
                self.close_batch(first, i + 1)
                policy.observe(
                    DownstreamFeedback(
                        now=self.env.now,
                        queue_depth=len(self.closed) - self.proven_count,
                        downstream_latency=self.last_latency,
                    )
                )
                update(self.env.now)
                pending = 0
        self.input_done = True
        self._signal()
        if self.config.proving.window_fold:
            self.check_windows()

    def close_batch(self, first: int, end: int) -> None:
        """Records a closed batch, sequences it at the next block and starts proving it."""
        now = self.env.now
        self.start.append(first)
        self.end.append(end)
        self.closed.append(now)
        self.virtual.append(self.sequence(now))
        self.proven.append(math.nan)
        self.prove_service.append(math.nan)
        self.consolidated.append(math.nan)
        self.proven_events.append(self.env.event())
        self.proving_started.append(math.nan)
        self.aggregated.append(math.nan)
        b = len(self.closed) - 1
        if self.config.proving.window_fold:
            ready = self.virtual[b] if self.config.prove_from == "virtual" else now
            at = max(ready + self.config.witness_seconds, now)
            self.env.timeout(at - now).callbacks.append(lambda _ev: self.take_batch(b))
        else:
            self.env.process(self.prove_batch(b))
        self._signal()

    def _signal(self) -> None:
        old, self.batch_signal = self.batch_signal, self.env.event()
        old.succeed()

    def segments_of(self, b: int) -> int:
        """How many segments batch ``b`` is cut into."""
        p = self.config.proving
        txs = self.end[b] - self.start[b]
        if p.segment_txs is not None:
            return max(1, math.ceil(txs / p.segment_txs))
        if p.segment_log2 is None:
            return 1
        cycles = txs * p.cycles_per_tx + p.batch_overhead_cycles
        return compute_segment_count(cycles, p.segment_log2, p.segment_overhead_fraction)

    def draw(self, samples: tuple[float, ...], default: float) -> float:
        """One job's seconds: drawn from measured samples if any, else the fixed time.

        With window_fold the samples are dealt like a shuffled deck (reshuffled when used up), so
        a re-prediction with as many jobs as the run had does exactly the run's total work.
        """
        if not samples:
            return default
        if not self.config.proving.window_fold:
            return float(self.rng.choice(samples))
        deck = self.decks.get(id(samples))
        if deck is None and self.config.proving.samples_in_order:
            deck = self.decks[id(samples)] = list(reversed(samples))
        deck = self.decks.setdefault(id(samples), [])
        if not deck:
            deck.extend(self.rng.permutation(np.asarray(samples, dtype=np.float64)).tolist())
        return float(deck.pop())

    # -- window_fold: the node's proving ------------------------------------------------------

    def take_batch(self, b: int) -> None:
        """Queues a batch's segment jobs (the node's proving thread takes it) and closes windows."""
        p = self.config.proving
        self.proving_started[b] = self.env.now
        jobs = []
        for _ in range(self.segments_of(b)):
            self.seq += 1
            job = _Job(
                priority=(b, self.seq),
                seconds=self.draw(p.prove_time_samples, p.segment_prove_seconds),
                done=self.env.event(),
            )
            job.listeners.append(lambda: self.segment_proven(b))
            jobs.append(job)
        self.batch_jobs[b], self.remaining[b] = jobs, len(jobs)
        for job in jobs:
            self.submit(job)
        self.open_batches.append(b)
        self.taken += 1
        timeout = self.config.aggregation_timeout_s
        if timeout is not None:
            self.env.timeout(timeout).callbacks.append(lambda _ev: self.check_windows())
        self.check_windows()

    def segment_proven(self, b: int) -> None:
        """One more segment of batch ``b`` accepted; the batch is proven with its last."""
        self.remaining[b] -= 1
        if self.remaining[b]:
            return
        now = self.env.now
        self.proven[b] = now
        self.prove_service[b] = now - self.proving_started[b]
        self.last_latency = now - self.closed[b]
        self.proven_count += 1
        self.proven_events[b].succeed()

    def check_windows(self) -> None:
        """Closes windows as the node does: N batches waiting, or the oldest waited the timeout."""
        n, timeout = self.config.aggregation_n, self.config.aggregation_timeout_s
        while self.open_batches:
            oldest = self.proving_started[self.open_batches[0]]
            full = len(self.open_batches) >= n
            waited = timeout is not None and self.env.now - oldest >= timeout - _EPS
            # Without a timeout, the last partial window closes once traffic has ended.
            ended = timeout is None and self.input_done and self.taken == len(self.closed)
            if not (full or waited or ended):
                return
            batches, self.open_batches = self.open_batches[:n], self.open_batches[n:]
            self.close_window(batches)

    def close_window(self, batches: list[int]) -> None:
        """Plans the window's balanced fold over all its segment proofs (``compute_fold_plan``)."""
        index = len(self.windows)
        self.windows.append(_Window(batches))
        level = [_FoldNode.leaf(job, b) for b in batches for job in self.batch_jobs[b]]
        while len(level) > 1:
            paired = [self.join(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            level = paired + ([level[-1]] if len(level) % 2 else [])
        level[0].when_done(lambda: self.window_done(index))

    def join(self, left: _FoldNode, right: _FoldNode) -> _FoldNode:
        """A join of two adjacent proofs: a prover job once both are accepted."""
        node = _FoldNode(first_batch=left.first_batch)
        pair = self.config.proving

        def child_done() -> None:
            node.pending -= 1
            if node.pending:
                return
            self.seq += 1
            job = _Job(
                priority=(node.first_batch, self.seq),
                seconds=self.draw(pair.aggregate_time_samples, pair.aggregate_pair_seconds),
                done=self.env.event(),
                kind="aggregate",
            )
            job.listeners.append(node.finish)
            self.submit(job)

        left.when_done(child_done)
        right.when_done(child_done)
        return node

    def window_done(self, index: int) -> None:
        """A window's aggregate is accepted; windows are verified on L1 in order, one per block."""
        now = self.env.now
        window = self.windows[index]
        window.done_at = now
        for b in window.batches:
            self.aggregated[b] = now
            self.aggregation_times.append(now - self.proven[b])
        while self.next_verify < len(self.windows) and not math.isnan(self.windows[self.next_verify].done_at):
            members = self.windows[self.next_verify].batches
            included = self.next_block(max(now, self.last_verification))
            self.last_verification = included
            for b in members:
                self.consolidated[b] = included
            self.group_times.append(included)
            self.group_batches.append(members)
            self.next_verify += 1

    # -- one fold per batch, then a separate aggregator -----------------------------------------

    def prove_batch(self, b: int) -> _Proc:
        """Splits a batch into segment jobs, waits for their proofs and folds them."""
        p = self.config.proving
        segments = self.segments_of(b)
        jobs = []
        for s in range(segments):
            seconds = self.draw(p.prove_time_samples, p.segment_prove_seconds)
            job = _Job(priority=(b, s), seconds=seconds, done=self.env.event())
            jobs.append(job)
            self.submit(job)
        yield self.env.all_of([j.done for j in jobs])
        service_start = min(j.first_start for j in jobs)
        levels = compute_aggregation_levels(segments)
        yield self.env.timeout(levels * p.aggregate_pair_seconds)
        self.cpu_seconds += (segments - 1) * p.aggregate_pair_seconds
        now = self.env.now
        self.proven[b] = now
        self.prove_service[b] = now - service_start
        self.last_latency = now - self.closed[b]
        self.proven_count += 1
        self.proven_events[b].succeed()

    def submit(self, job: _Job) -> None:
        """Queues a segment job for ``redundancy`` copies."""
        job.to_issue = job.outstanding = self.config.pool.redundancy
        heapq.heappush(self.pending, (job.priority, job))
        self.dispatch()

    def dispatch(self) -> None:
        """Hands queued job copies, oldest batch first, to free provers."""
        # Plain callbacks instead of a SimPy process per copy: a day with 1,000+ provers
        # means millions of copies, and a process costs several events each.
        while self.free and self.pending:
            job = self.pending[0][1]
            if job.done.triggered or job.to_issue == 0:
                heapq.heappop(self.pending)  # proven already, or every copy is out
                continue
            job.to_issue -= 1
            self.start_copy(self.free.popleft(), job)

    def start_copy(self, prover: _Prover, job: _Job) -> None:
        """One prover starts one copy of a job."""
        pool = self.config.pool
        job.first_start = min(job.first_start, self.env.now)
        seconds = job.seconds / prover.speed
        if pool.straggler_probability and self.rng.random() < pool.straggler_probability:
            seconds *= pool.straggler_factor
        failed = bool(pool.failure_probability) and self.rng.random() < pool.failure_probability
        self.env.timeout(seconds).callbacks.append(lambda _ev: self.finish_copy(prover, job, seconds, failed))

    def finish_copy(self, prover: _Prover, job: _Job, seconds: float, failed: bool) -> None:
        """A copy comes back; the scheduler verifies it and re-issues a job whose copies all failed."""
        self.cpu_seconds += seconds
        self.free.append(prover)
        job.outstanding -= 1
        if prover.honest and not failed:
            if not job.done.triggered:
                job.done.succeed()
                if self.config.proving.window_fold:
                    times = self.segment_times if job.kind == "segment" else self.aggregate_pair_times
                    times.append((self.env.now - seconds, seconds))  # by start, as the node records
                for listener in job.listeners:
                    listener()
        elif job.outstanding == 0 and not job.done.triggered:
            self.submit(job)  # every copy was wasted
        self.dispatch()

    def aggregator(self) -> _Proc:
        """Aggregates consecutive groups of N batch proofs, one at a time, and verifies each on L1."""
        n, pair = self.config.aggregation_n, self.config.proving.aggregate_pair_seconds
        first = 0
        while True:
            members: list[int] = []
            for b in range(first, first + n):
                while b >= len(self.closed) and not self.input_done:
                    yield self.batch_signal
                if b >= len(self.closed):
                    break  # input ended: aggregate the partial group
                yield self.proven_events[b]
                members.append(b)
            if not members:
                return
            started = self.env.now
            levels = compute_aggregation_levels(len(members))
            yield self.env.timeout(levels * pair)
            self.cpu_seconds += (len(members) - 1) * pair
            self.aggregation_times.append(self.env.now - started)
            # One verification per L1 block: each builds on the previous consolidated root.
            included = self.next_block(max(self.env.now, self.last_verification))
            self.last_verification = included
            for b in members:
                self.consolidated[b] = included
            self.group_times.append(included)
            self.group_batches.append(members)
            first += n

    def result(self, arrivals: FloatArray, trusted: FloatArray, wall: float) -> SimResult:
        """Per-transaction delays and stage times, as a KpiReport."""
        cfg = self.config
        sizes = np.asarray(self.end, dtype=np.int64) - np.asarray(self.start, dtype=np.int64)
        of_tx = np.repeat(np.arange(len(sizes)), sizes)  # batches cover transactions 0..n-1 in order
        submitted = arrivals[: of_tx.size]
        consolidated_b = np.asarray(self.consolidated)
        # Only blocks that have been reached count: the horizon may cut the backlog.
        horizon = cfg.duration_s + cfg.drain_s
        consolidated_b[consolidated_b > horizon] = np.nan
        done_b = ~np.isnan(consolidated_b)
        done_tx = done_b[of_tx]
        delay_virtual = np.asarray(self.virtual)[of_tx] - submitted
        delay_consolidated = consolidated_b[of_tx][done_tx] - submitted[done_tx]
        txs_done = int(done_tx.sum())
        throughput_tx, throughput_b = self._throughput(sizes, done_b, txs_done)
        run_span = float(np.nanmax(consolidated_b)) - float(arrivals[0]) if txs_done else math.nan
        run_throughput = txs_done / run_span if txs_done and run_span > 0 else 0.0
        run_throughput_b = float(done_b.sum()) / run_span if txs_done and run_span > 0 else 0.0
        closed = np.asarray(self.closed)
        intervals = np.diff(closed) if closed.size > 1 else closed
        proves = np.asarray(self.prove_service)
        proves = proves[~np.isnan(proves)]
        gas = cfg.gas
        sequence_txs = len(set(self.virtual))
        sequencing_gas = (
            sequence_txs * gas.sequence_tx
            + len(sizes) * gas.sequence_per_batch
            + of_tx.size * cfg.tx_bytes * gas.calldata_per_byte
        )
        report = KpiReport(
            source="simulation",
            transactions=txs_done,
            batches=int(done_b.sum()),
            delay_trusted=compute_percentiles(trusted - arrivals),
            delay_virtual=compute_percentiles(delay_virtual),
            delay_consolidated=compute_percentiles(delay_consolidated),
            throughput=throughput_tx,
            throughput_batches=throughput_b,
            close_a_batch_time=float(intervals.mean()),
            prove_a_batch_time=float(proves.mean()) if proves.size else math.nan,
            block_time=cfg.block_time,
            aggregation_time=float(np.mean(self.aggregation_times)) if self.aggregation_times else math.nan,
            l1_gas_per_tx=sequencing_gas / of_tx.size,
            l1_gas_per_aggregated_proof=gas.verify_proof,
            prover_cpu_seconds_per_tx=self.cpu_seconds / txs_done if txs_done else math.nan,
        )
        return SimResult(
            report=report,
            close_intervals=tuple(intervals.tolist()),
            prove_times=tuple(proves.tolist()),
            aggregation_times=tuple(self.aggregation_times),
            unconsolidated_txs=int(of_tx.size - txs_done),
            wall_seconds=wall,
            run_throughput=run_throughput,
            run_throughput_batches=run_throughput_b,
            segment_times=tuple(seconds for _, seconds in sorted(self.segment_times)),
            aggregate_pair_times=tuple(seconds for _, seconds in sorted(self.aggregate_pair_times)),
        )

    def _throughput(
        self, sizes: npt.NDArray[np.int64], done_b: npt.NDArray[np.bool_], txs_done: int
    ) -> tuple[float, float]:
        """Steady-state consolidated rate: from the first verification to the last."""
        groups = [(t, m) for t, m in zip(self.group_times, self.group_batches, strict=True) if done_b[m[0]]]
        if len(groups) < 2:
            span = self.config.duration_s
            return txs_done / span, float(done_b.sum()) / span
        span = groups[-1][0] - groups[0][0]
        later = [b for _, m in groups[1:] for b in m]
        return float(sizes[later].sum()) / span, len(later) / span


@dataclass
class _FoldNode:
    """A proof in a window's fold: a segment job's, or a join's once both children are accepted."""

    first_batch: int
    pending: int = 2  # children not yet accepted (joins only)
    done: bool = False
    listeners: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def leaf(cls, job: _Job, batch: int) -> _FoldNode:
        """The node of a segment job (possibly accepted already)."""
        node = cls(first_batch=batch, pending=0, done=job.done.triggered)
        if not node.done:
            job.listeners.append(node.finish)
        return node

    def when_done(self, callback: Callable[[], None]) -> None:
        """Calls ``callback`` once this proof is accepted (now, if it is)."""
        if self.done:
            callback()
        else:
            self.listeners.append(callback)

    def finish(self) -> None:
        """The proof is accepted: tell the parent."""
        self.done = True
        for listener in self.listeners:
            listener()


# --- helpers -------------------------------------------------------------------------------------

_Update = Callable[[float], None]  # reports the simulated time reached


@contextmanager
def _progress_bar(enabled: bool, total: float) -> Iterator[_Update]:
    """A rich progress bar on stderr over simulated time, or a no-op."""
    if not enabled:
        yield lambda _now: None
        return
    from rich.console import Console
    from rich.progress import Progress

    last = [0.0]
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("simulating", total=total)

        def update(now: float) -> None:
            if now - last[0] >= total / 200:  # redraw at most 200 times
                last[0] = now
                bar.update(task, completed=now)

        yield update


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


def _validate(c: SimConfig) -> None:
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
        (c.proving.segment_prove_seconds > 0 or bool(c.proving.prove_time_samples), "prove time must be > 0"),
        (all(s >= 0 for s in c.proving.prove_time_samples), "prove_time_samples must be >= 0"),
        (c.proving.aggregate_pair_seconds >= 0, "aggregate_pair_seconds must be >= 0"),
        (c.tick_s > 0, f"tick_s must be > 0, got {c.tick_s}"),
        (c.drain_s >= 0, "drain_s must be >= 0"),
        (c.execute_seconds_per_tx >= 0, "execute_seconds_per_tx must be >= 0"),
        (math.isfinite(c.block_phase_s) and c.block_phase_s >= 0, "block_phase_s must be >= 0"),
        (c.send_margin_s >= 0, "send_margin_s must be >= 0"),
        (c.send_lag_s >= 0, "send_lag_s must be >= 0"),
        (c.prove_from in ("closed", "virtual"), f"prove_from must be closed or virtual: {c.prove_from!r}"),
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
