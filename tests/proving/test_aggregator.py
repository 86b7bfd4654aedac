"""The aggregator's stage marks, over a small in-memory scheduler (no proving)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zkpipe.proving.aggregator import Aggregator
from zkpipe.proving.jobs import JobState
from zkpipe.proving.scheduler import compute_fold_plan


@dataclass
class _Job:
    job_id: str


@dataclass
class _Scheduler:
    """Records submissions; the test decides when a job is done."""

    done: set[str] = field(default_factory=set)

    def submit(self, job: Any) -> bool:
        return True

    def submit_fold(self, leaves: list[Any]) -> str:
        return compute_fold_plan([j.job_id for j in leaves])[0]

    def state_by_id(self, job_id: str) -> JobState | None:
        return JobState.DONE if job_id in self.done else None

    def proof_by_id(self, job_id: str) -> object | None:
        return object() if job_id in self.done else None


def test_a_one_segment_window_is_marked_proven_when_its_aggregate_finishes_between_steps() -> None:
    now = [0.0]
    scheduler = _Scheduler()
    aggregator = Aggregator(scheduler, n=1, timeout_s=5, clock=lambda: now[0])  # type: ignore[arg-type]
    batch = aggregator.add(1, [_Job("seg-1-0")])  # type: ignore[list-item]
    aggregator.step()  # the window closes; its root is the segment itself
    now[0] = 3.0
    scheduler.done.add("seg-1-0")  # proven and "aggregated" in one scheduler step
    window = aggregator.next_finished()
    assert window is not None
    assert batch.proven == 3.0 and batch.aggregated == 3.0


def test_a_batch_is_marked_proven_before_its_window_is_aggregated() -> None:
    now = [0.0]
    scheduler = _Scheduler()
    aggregator = Aggregator(scheduler, n=1, timeout_s=5, clock=lambda: now[0])  # type: ignore[arg-type]
    batch = aggregator.add(1, [_Job("a"), _Job("b")])  # type: ignore[list-item]
    aggregator.step()
    now[0] = 2.0
    scheduler.done.update({"a", "b"})
    aggregator.step()
    assert batch.proven == 2.0 and aggregator.next_finished() is None
    now[0] = 4.0
    scheduler.done.add("agg(a+b)")
    assert aggregator.next_finished() is not None
    assert batch.proven == 2.0 and batch.aggregated == 4.0
