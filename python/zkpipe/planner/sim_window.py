"""The simulator of the node's proving: windows of N batches folded over all their segment proofs.

As node/proving.py and proving/aggregator.py do: a batch's segments are queued when it may be
proven; a window of N batches (or fewer after `aggregation_timeout_s`) is folded pairwise over all
its segment proofs, each join a job on the same provers, queued with the batch of its first segment.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import simpy

from zkpipe.planner.simbase import Job, SimPipeline
from zkpipe.planner.simconfig import EPS, SimConfig

_LATE = cast("simpy.events.EventPriority", simpy.events.NORMAL + 1)
"""A priority after simpy's NORMAL: the event goes after every ordinary one due at its time."""


class _LastAtItsTime(simpy.events.Event):
    """A timeout that fires after every ordinary event due at the same moment.

    The node takes newly provable batches before it closes windows in each step
    (node/proving.py), so a batch provable at the very moment the oldest open one times out
    joins its window; a plain timeout, scheduled earlier, would fire first.
    """

    def __init__(self, env: simpy.Environment, delay: float) -> None:
        super().__init__(env)
        self._ok, self._value = True, None
        env.schedule(self, _LATE, delay)


@dataclass
class _Window:
    """A window_fold aggregation window: its batches and the fold's remaining joins."""

    batches: list[int]
    done_at: float = math.nan


@dataclass
class _FoldNode:
    """A proof in a window's fold: a segment job's, or a join's once both children are accepted."""

    first_batch: int
    pending: int = 2  # children not yet accepted (joins only)
    done: bool = False
    listeners: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def leaf(cls, job: Job, batch: int) -> _FoldNode:
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


class WindowFoldPipeline(SimPipeline):
    """The node's proving (see the module docstring)."""

    def __init__(self, config: SimConfig, rng: np.random.Generator) -> None:
        super().__init__(config, rng)
        self.seq = 0  # job insertion order (the job store's tie-break within a batch)
        self.batch_jobs: dict[int, list[Job]] = {}
        self.remaining: dict[int, int] = {}
        self.taken = 0
        self.open_batches: list[int] = []
        self.windows: list[_Window] = []
        self.next_verify = 0
        self.decks: dict[int, list[float]] = {}

    def start_proving(self, b: int) -> None:
        """Queues the batch's segments once it may be proven (plus the time to re-apply it)."""
        now = self.env.now
        ready = self.virtual[b] if self.config.prove_from == "virtual" else now
        at = max(ready + self.config.witness_seconds, now)
        self.env.timeout(at - now).callbacks.append(lambda _ev: self.take_batch(b))

    def input_ended(self) -> None:
        """Closes the last windows (after the batches due at this moment are taken)."""
        _LastAtItsTime(self.env, 0.0).callbacks.append(lambda _ev: self.check_windows())

    def on_accepted(self, job: Job, seconds: float) -> None:
        """Records the accepted copy's work, by start, as the node records it."""
        times = self.segment_times if job.kind == "segment" else self.aggregate_pair_times
        times.append((self.env.now - seconds, seconds))

    def draw(self, samples: tuple[float, ...], default: float) -> float:
        """One job's seconds: drawn from measured samples if any, else the fixed time.

        The samples are dealt like a shuffled deck (reshuffled when used up), so
        a re-prediction with as many jobs as the run had does exactly the run's total work.
        """
        if not samples:
            return default
        deck = self.decks.get(id(samples))
        if deck is None and self.config.proving.samples_in_order:
            deck = self.decks[id(samples)] = list(reversed(samples))
        deck = self.decks.setdefault(id(samples), [])
        if not deck:
            deck.extend(self.rng.permutation(np.asarray(samples, dtype=np.float64)).tolist())
        return float(deck.pop())

    def take_batch(self, b: int) -> None:
        """Queues a batch's segment jobs (the node's proving thread takes it) and closes windows."""
        p = self.config.proving
        self.proving_started[b] = self.env.now
        jobs = []
        for _ in range(self.segments_of(b)):
            self.seq += 1
            job = Job(
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
            _LastAtItsTime(self.env, timeout).callbacks.append(lambda _ev: self.check_windows())
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
            waited = timeout is not None and self.env.now - oldest >= timeout - EPS
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
            job = Job(
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
