"""The prover backend interface: submit a job to a worker, cancel it, list workers, close."""

from __future__ import annotations

import pickle
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

from zkpipe.errors import Severity, ZkpipeError
from zkpipe.proving.jobs import Job


class WorkerLost(ZkpipeError):
    """A worker died, was cancelled or stopped answering before it returned a result."""

    code = "WORKER_LOST"
    severity = Severity.TEMPORARY


@dataclass(frozen=True, slots=True)
class ProofResult:
    """What a worker returns: proof bytes and how it says it made them (nothing here is trusted)."""

    data: bytes
    wall_seconds: float
    threads: int
    host: str
    pid: int
    peak_rss_mib: float
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """A worker slot: its id, whether it is ready for a job, the job it runs, if any, and where."""

    worker_id: str
    ready: bool
    job_id: str | None
    pid: int | None = None
    host: str | None = None


@dataclass(eq=False)
class JobHandle:
    """One copy of a job running on one worker; `future` yields a ProofResult or raises."""

    job_id: str
    worker_id: str
    future: Future[ProofResult]
    started_at: float


def compute_wire_bytes(value: object) -> int:
    """Bytes `value` takes between the scheduler and a worker: its pickle (protocol 5), which is
    what both Ray (object store transfers) and the local pipes carry, framing aside."""
    return len(pickle.dumps(value, protocol=5))


class ProverBackend(Protocol):
    """Runs proving jobs on workers, one job per worker at a time."""

    def submit(self, job: Job, worker_id: str) -> JobHandle:
        """Starts `job` on the idle, ready worker `worker_id`."""
        ...

    def cancel(self, handle: JobHandle) -> None:
        """Stops a running copy (its future fails with WorkerLost) and frees its worker."""
        ...

    def workers(self) -> list[WorkerInfo]:
        """Every worker slot, with readiness and current job."""
        ...

    def close(self) -> None:
        """Stops every worker."""
        ...
