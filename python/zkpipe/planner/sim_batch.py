"""The simulator of the classic pipeline: each batch folded on its own, then N batch proofs aggregated."""

from __future__ import annotations

from zkpipe.planner.model import compute_aggregation_levels
from zkpipe.planner.simbase import Job, Proc, SimPipeline


class BatchFoldPipeline(SimPipeline):
    """One fold per batch, then a separate aggregator of N batch proofs."""

    def start_processes(self) -> None:
        """Starts the aggregator."""
        self.env.process(self.aggregator())

    def start_proving(self, b: int) -> None:
        """Proves the batch at once."""
        self.env.process(self.prove_batch(b))

    def prove_batch(self, b: int) -> Proc:
        """Splits a batch into segment jobs, waits for their proofs and folds them."""
        p = self.config.proving
        segments = self.segments_of(b)
        jobs = []
        for s in range(segments):
            seconds = self.draw(p.prove_time_samples, p.segment_prove_seconds)
            job = Job(priority=(b, s), seconds=seconds, done=self.env.event())
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

    def aggregator(self) -> Proc:
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
