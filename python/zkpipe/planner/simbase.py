"""The simulated node's shared part: L1 sequencing, the batcher, the prover pool and the KPI result."""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import simpy

from zkpipe.kpi.figures import KpiReport, compute_percentiles
from zkpipe.planner.model import compute_segment_count
from zkpipe.planner.simconfig import EPS, FloatArray, SimConfig, SimResult
from zkpipe.sequencer.policy import BatchPolicy, DownstreamFeedback

Proc = Generator[simpy.events.Event, Any, None]
"""A SimPy process."""
Update = Callable[[float], None]
"""Reports the simulated time reached."""


@dataclass
class Prover:
    """One simulated prover: its speed and whether its proofs are valid."""

    speed: float
    honest: bool


@dataclass
class Job:
    """One proving job and its copies."""

    priority: tuple[int, int]  # (batch, segment): older batches first
    seconds: float  # on a speed-1 prover
    done: simpy.Event
    to_issue: int = 0  # copies not yet handed to a prover
    outstanding: int = 0  # copies issued and not yet back
    first_start: float = math.inf
    kind: str = "segment"  # or "aggregate" (a window_fold join)
    listeners: list[Callable[[], None]] = field(default_factory=list)  # called once, when proven


@dataclass(eq=False)
class _Sharing:
    """A job copy running on a prover that shares the host's cores."""

    prover: Prover
    job: Job
    remaining: float  # seconds of work left at full speed
    failed: bool
    started: float
    slowdown: float = 1.0
    version: int = 0


class SimPipeline:
    """The simulated node: sequencing, batching, the prover pool and the per-batch record.

    Subclasses say how batches are proven: `start_proving` (a batch closed), `input_ended`
    (no more batches), `on_accepted` (a job copy was accepted) and `draw` (a job's seconds).
    """

    def __init__(self, config: SimConfig, rng: np.random.Generator) -> None:
        self.config = config
        self.rng = rng
        self.env = simpy.Environment()
        self.pending: list[tuple[tuple[int, int], Job]] = []  # heap of jobs with copies to issue
        self.free: deque[Prover] = deque()
        pool = config.pool
        honest = np.zeros(pool.provers, dtype=bool)
        honest[: max(1, round(pool.honest_fraction * pool.provers))] = True
        rng.shuffle(honest)
        speeds = np.exp(rng.normal(0.0, pool.speed_sigma, pool.provers)) if pool.speed_sigma > 0 else None
        for i in range(pool.provers):
            self.free.append(
                Prover(speed=1.0 if speeds is None else float(speeds[i]), honest=bool(honest[i]))
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
        self.proving_started: list[float] = []
        self.aggregated: list[float] = []
        self.segment_times: list[tuple[float, float]] = []  # (started, seconds) of accepted copies
        self.aggregate_pair_times: list[tuple[float, float]] = []
        self.sharing: list[_Sharing] = []  # copies running on shared cores (contention only)
        self.shared_at = 0.0

    # -- what subclasses define ------------------------------------------------------------------

    def start_processes(self) -> None:
        """Starts the subclass's own processes (before the simulation runs)."""

    def start_proving(self, b: int) -> None:
        """Batch ``b`` has closed (and is sequenced at ``self.virtual[b]``)."""
        raise NotImplementedError

    def input_ended(self) -> None:
        """The last batch has closed."""

    def on_accepted(self, job: Job, seconds: float) -> None:
        """A copy of ``job`` that took ``seconds`` was accepted (the first one)."""

    def draw(self, samples: tuple[float, ...], default: float) -> float:
        """One job's seconds: drawn from measured samples if any, else the fixed time."""
        if not samples:
            return default
        return float(self.rng.choice(samples))

    # -- the shared pipeline --------------------------------------------------------------------

    def sequence(self, t: float) -> float:
        """The block a batch closed at ``t`` is sequenced in (the node's sender, ``l1/sender.py``).

        One post per block interval, due ``send_margin_s`` before the next block: a batch closed
        before its interval's post rides it; one closed after waits for the next interval's post.
        With no margin, every batch rides the next block.
        """
        b, phase = self.config.block_time, self.config.block_phase_s
        t += self.config.send_lag_s
        interval = math.floor((t - phase) / b + EPS)  # blocks at phase + k·b; this one is k = interval
        if interval > self.send_interval:
            due = phase + (interval + 1) * b - self.config.send_margin_s
            self.send_interval, self.send_at = interval, max(t, due)
        elif t > self.send_at + EPS:
            self.send_interval += 1  # this interval's post is gone: the next one carries it
            self.send_at = phase + (self.send_interval + 1) * b - self.config.send_margin_s
        return phase + (self.send_interval + 1) * b

    def next_block(self, t: float) -> float:
        """The first L1 block strictly after ``t`` (blocks at block_phase_s + multiples of block_time)."""
        b, phase = self.config.block_time, self.config.block_phase_s
        return phase + (math.floor((t - phase) / b + EPS) + 1) * b

    def batcher(self, trusted: FloatArray, policy: BatchPolicy, update: Update) -> Proc:
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
        self.input_ended()

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
        self.start_proving(len(self.closed) - 1)
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

    def submit(self, job: Job) -> None:
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

    def start_copy(self, prover: Prover, job: Job) -> None:
        """One prover starts one copy of a job."""
        pool = self.config.pool
        job.first_start = min(job.first_start, self.env.now)
        seconds = job.seconds / prover.speed
        if pool.straggler_probability and self.rng.random() < pool.straggler_probability:
            seconds *= pool.straggler_factor
        failed = bool(pool.failure_probability) and self.rng.random() < pool.failure_probability
        if pool.contention is not None:
            self._advance_shared()
            self.sharing.append(_Sharing(prover, job, seconds, failed, self.env.now))
            self._reschedule_shared()
            return
        self.env.timeout(seconds).callbacks.append(lambda _ev: self.finish_copy(prover, job, seconds, failed))

    # Provers sharing one host's cores (`ProverPool.contention`): processor sharing. Every running
    # copy progresses at 1 / slowdown(copies running); a start or an end changes every copy's rate.

    def _advance_shared(self) -> None:
        """Takes the work done since the last change off every running copy."""
        elapsed, self.shared_at = self.env.now - self.shared_at, self.env.now
        for copy in self.sharing:
            copy.remaining -= elapsed / copy.slowdown

    def _reschedule_shared(self) -> None:
        """Re-times every running copy's end at the rate the new number of copies allows."""
        pool = self.config.pool
        assert pool.contention is not None
        slowdown = pool.contention.compute_slowdown(len(self.sharing), pool.node_load)
        for copy in self.sharing:
            copy.version += 1
            copy.slowdown = slowdown
            self.env.timeout(max(0.0, copy.remaining * slowdown)).callbacks.append(
                self._shared_callback(copy, copy.version)
            )

    def _shared_callback(self, copy: _Sharing, version: int) -> Callable[[simpy.events.Event], None]:
        return lambda _ev: self._shared_done(copy, version)

    def _shared_done(self, copy: _Sharing, version: int) -> None:
        if version != copy.version:
            return  # re-timed since
        self._advance_shared()
        self.sharing.remove(copy)
        self._reschedule_shared()
        self.finish_copy(copy.prover, copy.job, self.env.now - copy.started, copy.failed)

    def finish_copy(self, prover: Prover, job: Job, seconds: float, failed: bool) -> None:
        """A copy comes back; the scheduler verifies it and re-issues a job whose copies all failed."""
        self.cpu_seconds += seconds
        self.free.append(prover)
        job.outstanding -= 1
        if prover.honest and not failed:
            if not job.done.triggered:
                job.done.succeed()
                self.on_accepted(job, seconds)
                for listener in job.listeners:
                    listener()
        elif job.outstanding == 0 and not job.done.triggered:
            self.submit(job)  # every copy was wasted
        self.dispatch()

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
