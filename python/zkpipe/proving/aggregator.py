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
from zkpipe.proving.jobs import JobState, SegmentJob
from zkpipe.proving.proof import Proof
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
        self.windows: list[Window] = []
        """Every window formed, in order."""

    def add(self, number: int, jobs: list[SegmentJob]) -> BatchProving:
        """Queues a batch's segment jobs (batches must come in order)."""
        if self._open and number != self._open[-1].number + 1:
            raise InvalidInput(f"batch {number} does not follow batch {self._open[-1].number}")
        for job in jobs:
            self.scheduler.submit(job)
        batch = BatchProving(number, jobs, self._clock())
        self._open.append(batch)
        return batch

    def step(self) -> None:
        """Closes a window if one is due and notes the batches whose segments are all proven."""
        self._close_window()
        now = self._clock()
        for window in self._in_flight:
            self._note_proven(window, now)

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

    def pop_finished(self) -> Window:
        """Removes the oldest window (after the pipeline handed it on)."""
        return self._in_flight.pop(0)
