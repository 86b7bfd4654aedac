"""The aggregator: forms aggregation windows of batches and folds each window's proofs into one.

Batches arrive with their segment jobs (from the segmenter). A window closes when N batches are
waiting, or when the oldest waited `timeout_s`; its segment jobs are then folded by the scheduler
into one aggregate as their proofs are accepted (a balanced fold of adjacent proofs). Finished
windows come out oldest first; the pipeline hands each to L1.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from zkpipe.errors import InvalidInput, ProvingFailed
from zkpipe.proving.jobs import DataJob, JobState, JoinJob, SegmentJob
from zkpipe.proving.proof import BatchLevelProof, Proof
from zkpipe.proving.scheduler import Scheduler

logger = logging.getLogger("zkpipe.proving.aggregator")


@dataclass(slots=True)
class BatchProving:
    """One batch's segment jobs and when it went through the aggregator's stages."""

    number: int
    jobs: list[SegmentJob]
    queued_at: float
    proven: float | None = None
    """When all its segment proofs were accepted."""
    aggregated: float | None = None
    """When the aggregate covering it was finished."""
    data_job: DataJob | None = None
    """Its data proof's job (batch level on), else None."""
    root_id: str | None = None
    """With the batch level: the job id of its segments' fold (one proof of the batch)."""
    join_id: str | None = None
    """With the batch level: its JOIN job's id, once submitted."""
    join: BatchLevelProof | None = None
    """With the batch level: its accepted join."""

    @property
    def is_bound(self) -> bool:
        """Whether the batch is proven at the batch level too (data proof and join)."""
        return self.data_job is not None


@dataclass(slots=True)
class Window:
    """Batches folded into one aggregate (one L1 verification)."""

    batches: list[BatchProving]
    root_id: str
    submitted: float
    proof: Proof | None = None

    @property
    def first(self) -> int:
        """The first batch number."""
        return self.batches[0].number

    @property
    def last(self) -> int:
        """The final batch number."""
        return self.batches[-1].number


class Aggregator:
    """Window formation and folding over a scheduler (see the module docstring)."""

    def __init__(
        self, scheduler: Scheduler, *, n: int, timeout_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        if n < 1 or timeout_s <= 0:
            raise InvalidInput("an aggregation window needs n >= 1 and timeout_s > 0")
        self.scheduler = scheduler
        self.n = n
        self.timeout_s = timeout_s
        self._clock = clock
        self._open: list[BatchProving] = []
        self._in_flight: list[Window] = []
        self._unjoined: list[BatchProving] = []
        self.windows: list[Window] = []
        """Every window formed, in order."""

    def add(self, number: int, jobs: list[SegmentJob], data_job: DataJob | None = None) -> BatchProving:
        """Queues a batch's segment jobs, and its data job if the batch level is on (batches in order)."""
        if self._open and number != self._open[-1].number + 1:
            raise InvalidInput(f"batch {number} does not follow batch {self._open[-1].number}")
        if self._open and (data_job is None) != (self._open[-1].data_job is None):
            raise InvalidInput("every batch of a window is proven at the batch level, or none")
        batch = BatchProving(number, jobs, self._clock(), data_job=data_job)
        if data_job is None:
            for job in jobs:
                self.scheduler.submit(job)
        else:
            batch.root_id = self.scheduler.submit_fold(jobs)
            self.scheduler.submit(data_job)
            self._unjoined.append(batch)
        self._open.append(batch)
        return batch

    def step(self) -> None:
        """Closes a window if one is due, starts joins that can start, notes batches proven."""
        self._close_window()
        self._start_joins()
        now = self._clock()
        for window in self._in_flight:
            self._note_proven(window, now)

    def _start_joins(self) -> None:
        """Submits the JOIN of each batch whose segments' fold and data proof are both accepted."""
        for batch in list(self._unjoined):
            assert batch.data_job is not None and batch.root_id is not None
            segments = self.scheduler.proof_by_id(batch.root_id)
            data = self.scheduler.batch_proof_by_id(batch.data_job.job_id)
            if segments is None or data is None:
                continue
            job = JoinJob(
                batch.number,
                batch.data_job.blocks,
                segments,
                data,
                batch.data_job.acc_in,
                batch.data_job.data,
            )
            self.scheduler.submit(job)
            batch.join_id = job.job_id
            self._unjoined.remove(batch)

    def _note_proven(self, window: Window, now: float) -> None:
        for batch in window.batches:
            if batch.proven is None and all(
                self.scheduler.state_by_id(j.job_id) is JobState.DONE for j in batch.jobs
            ):
                batch.proven = now

    def _close_window(self) -> None:
        if not self._open:
            return
        full = len(self._open) >= self.n
        waited = self._clock() - self._open[0].queued_at >= self.timeout_s
        if not (full or waited):
            return
        batches, self._open = self._open[: self.n], self._open[self.n :]
        if batches[0].is_bound:
            root_id = self.scheduler.submit_fold_of([b.root_id for b in batches if b.root_id is not None])
        else:
            root_id = self.scheduler.submit_fold([job for b in batches for job in b.jobs])
        window = Window(batches, root_id, self._clock())
        self._in_flight.append(window)
        self.windows.append(window)
        logger.info("event=window_closed batches=%d-%d", window.first, window.last)

    def next_finished(self) -> Window | None:
        """The oldest window once its aggregate is proven (it stays first until `pop_finished`).

        Raises ProvingFailed if the scheduler gave its aggregate up.
        """
        if not self._in_flight:
            return None
        window = self._in_flight[0]
        if self.scheduler.state_by_id(window.root_id) is JobState.FAILED:
            raise ProvingFailed(f"the aggregate of batches from {window.first} was given up")
        for batch in window.batches:
            if batch.is_bound and not self._is_joined(batch):
                return None
        proof = self.scheduler.proof_by_id(window.root_id)
        if proof is None:
            return None
        now = self._clock()
        window.proof = proof
        # A one-segment window's aggregate is its segment proof: it can finish between two `step`s.
        self._note_proven(window, now)
        for batch in window.batches:
            batch.aggregated = batch.aggregated or now
        return window

    def _is_joined(self, batch: BatchProving) -> bool:
        """Whether the batch's join is accepted; ProvingFailed if its data proof or join was given up."""
        assert batch.data_job is not None
        for job_id in (batch.data_job.job_id, batch.join_id):
            if job_id is not None and self.scheduler.state_by_id(job_id) is JobState.FAILED:
                raise ProvingFailed(f"batch {batch.number}'s job {job_id} was given up")
        if batch.join is None and batch.join_id is not None:
            batch.join = self.scheduler.batch_proof_by_id(batch.join_id)
        return batch.join is not None

    def pop_finished(self) -> Window:
        """Removes the oldest window (after the pipeline handed it on)."""
        return self._in_flight.pop(0)
