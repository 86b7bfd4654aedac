"""Dispatches proving jobs to a backend's workers and accepts only proofs it verified itself.

Per-job timeouts and retries, speculative duplicates for stragglers (or r copies of every job),
cancellation of losing copies, quarantine of workers that return invalid proofs, and streaming
folds: adjacent proofs are aggregated as soon as both are accepted, up to one proof.
"""

from __future__ import annotations

import logging
import platform
import statistics
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from zkpipe import native
from zkpipe.errors import InvalidInput, InvalidProof, ProvingFailed, Severity, StorageError, ZkpipeError
from zkpipe.proving.backends.base import JobHandle, ProofResult, ProverBackend, compute_wire_bytes
from zkpipe.proving.jobs import AggregateJob, DataJob, Job, JobKind, JobState, JobStore, JoinJob
from zkpipe.proving.proof import AnyProof, BatchLevelProof, Proof, ProofKind, Provenance
from zkpipe.proving.prover import PARAMETERS, default_circuit_cache
from zkpipe.proving.statement import BatchStatement, Statement

log = logging.getLogger("zkpipe.proving.scheduler")


class SchedulerTimeout(ZkpipeError):
    """The jobs waited for were not all proven in time."""

    code = "SCHEDULER_TIMEOUT"
    severity = Severity.TEMPORARY


class EventKind(StrEnum):
    """What happened to a job or a worker."""

    STARTED = "started"  # a copy of a job started on a worker
    DUPLICATE_STARTED = "duplicate_started"  # a further copy (redundancy or straggler)
    ACCEPTED = "accepted"  # a verified proof with the expected statement; the job is done
    REJECTED = "rejected"  # a proof that does not verify or proves something else
    QUARANTINED = "quarantined"  # a worker that returned a rejected proof gets no more jobs
    LIFTED = "lifted"  # an operator lifted a worker's quarantine
    ATTEMPT_FAILED = "attempt_failed"  # a copy ended without a proof (worker lost, error)
    TIMED_OUT = "timed_out"  # a copy ran longer than the job timeout and was cancelled
    CANCELLED = "cancelled"  # a losing copy was stopped after another copy won
    JOB_FAILED = "job_failed"  # too many failed attempts: the job is given up


@dataclass(frozen=True, slots=True)
class SchedulerEvent:
    """One event: its kind, the job and worker concerned, a detail and when (Unix time)."""

    kind: EventKind
    job_id: str | None
    worker_id: str | None
    detail: str = ""
    at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    """Timeouts, retries and redundancy."""

    job_timeout_s: float = 600.0
    """A copy running longer than this is cancelled and counts as a failed attempt."""
    max_failures: int = 5
    """Failed attempts (lost workers, errors, timeouts) before a job is given up; rejected proofs
    do not count (their worker is quarantined instead)."""
    redundancy: int = 1
    """Copies of every job started at once, on distinct workers (r > 1 for untrusted networks)."""
    straggler_factor: float | None = 2.0
    """Start one more copy when a job runs longer than this × the median accepted time of its
    kind (None: never)."""
    straggler_min_s: float = 5.0
    """No speculative copy before a job has run this long (also the estimate before any sample)."""
    max_copies: int = 3
    """Most copies of one job running at once."""
    poll_s: float = 0.05
    """Pause between scheduling rounds while waiting."""

    def __post_init__(self) -> None:
        if self.redundancy < 1 or self.max_copies < self.redundancy:
            raise InvalidInput("need 1 <= redundancy <= max_copies")
        if self.max_failures < 1 or self.job_timeout_s <= 0 or self.poll_s <= 0:
            raise InvalidInput("max_failures, job_timeout_s and poll_s must be positive")


@dataclass(slots=True)
class WorkerUsage:
    """What one worker did, for utilisation and KPI reports."""

    busy_s: float = 0.0
    """Seconds spent on copies of jobs (accepted, rejected, failed or cancelled)."""
    accepted: int = 0
    rejected: int = 0
    failed: int = 0
    cancelled: int = 0
    quarantined: bool = False
    bytes_in: int = 0
    """Bytes of the jobs sent to the worker (witnesses, child proofs), every copy counted."""
    bytes_out: int = 0
    """Bytes of the results the worker sent back."""


@dataclass(slots=True)
class NetworkUsage:
    """Bytes moved between the scheduler and its workers for one kind of job."""

    jobs: int = 0
    """Jobs of this kind accepted."""
    copies: int = 0
    """Copies started (retries, duplicates and cancelled copies included)."""
    bytes_in: int = 0
    bytes_out: int = 0

    @property
    def bytes_per_job(self) -> float:
        """Bytes in and out per accepted job (every copy's traffic included)."""
        return (self.bytes_in + self.bytes_out) / self.jobs if self.jobs else 0.0


@dataclass(eq=False, slots=True)
class _Attempt:
    handle: JobHandle
    started: float  # monotonic


@dataclass(frozen=True, slots=True)
class _Join:
    left_id: str
    right_id: str


def compute_fold_plan(leaf_ids: Sequence[str]) -> tuple[str, dict[str, _Join]]:
    """The root id and the joins of a balanced fold of `leaf_ids` (the shape of Prover.aggregate_all)."""
    if not leaf_ids:
        raise InvalidInput("nothing to fold")
    joins: dict[str, _Join] = {}
    level = list(leaf_ids)
    while len(level) > 1:
        paired = []
        for i in range(0, len(level) - 1, 2):
            join = _Join(level[i], level[i + 1])
            job_id = f"agg({join.left_id}+{join.right_id})"  # AggregateJob.job_id
            joins[job_id] = join
            paired.append(job_id)
        level = paired + ([level[-1]] if len(level) % 2 else [])
    return level[0], joins


class Scheduler:
    """Runs jobs from a JobStore on a backend's workers; never trusts a worker.

    One thread drives it (`step`, or the `wait`/`prove` loops); `submit` may be called from others.
    """

    def __init__(
        self,
        backend: ProverBackend,
        store: JobStore,
        config: SchedulerConfig | None = None,
        *,
        cache_dir: str | Path | None = None,
        on_event: Callable[[SchedulerEvent], None] | None = None,
    ) -> None:
        self.backend = backend
        self.store = store
        self.config = config or SchedulerConfig()
        self.cache_dir = default_circuit_cache() if cache_dir is None else Path(cache_dir)
        self.on_event = on_event
        self.events: list[SchedulerEvent] = []
        self.started_at = time.monotonic()
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._proofs: dict[str, AnyProof] = {}
        self._attempts: dict[str, list[_Attempt]] = {}
        self._usage: dict[str, WorkerUsage] = {}
        self._durations: dict[JobKind, list[float]] = {kind: [] for kind in JobKind}
        self._network: dict[JobKind, NetworkUsage] = {kind: NetworkUsage() for kind in JobKind}
        self._wire_bytes: dict[str, int] = {}
        self._joins: dict[str, _Join] = {}
        self._dead: set[str] = set()  # planned joins that cannot happen: a descendant was given up
        self._setups: dict[int, native.ProvingSetup] = {}
        recovered = store.recover()
        if recovered:
            log.info("event=recovered running_jobs_requeued=%d", recovered)

    @property
    def quarantined(self) -> set[str]:
        """Workers given no jobs: they returned a rejected proof (persisted in the job store, so a
        restart keeps them out, and an operator may lift one from another process)."""
        return set(self.store.quarantined())

    def lift_quarantine(self, worker_id: str) -> bool:
        """Gives a quarantined worker jobs again; whether it was quarantined."""
        with self._lock:
            lifted = self.store.lift_quarantine(worker_id)
            if lifted:
                self._emit(EventKind.LIFTED, None, worker_id, "quarantine lifted")
            return lifted

    # -- submitting -----------------------------------------------------------

    def submit(self, job: Job) -> bool:
        """Queues a job (persisted); False if the store already had it (e.g. done before a restart)."""
        with self._lock:
            self._jobs[job.job_id] = job
            return self.store.add(job)

    def submit_fold(self, leaves: Sequence[Job]) -> str:
        """Queues `leaves` (adjacent, in order) and folds their proofs into one as they are accepted.

        Returns the id of the final proof's job. Ids are stable, so after a restart the same call
        reuses every proof already verified.
        """
        with self._lock:
            root, joins = compute_fold_plan([leaf.job_id for leaf in leaves])
            for leaf in leaves:
                self.submit(leaf)
            self._joins.update(joins)
            return root

    def submit_fold_of(self, ids: Sequence[str]) -> str:
        """Folds the proofs of jobs already submitted or planned (`ids`, adjacent, in order) into one
        as they are accepted, e.g. the per-batch folds of a window; the final proof's job id."""
        with self._lock:
            root, joins = compute_fold_plan(ids)
            self._joins.update(joins)
            return root

    # -- results ----------------------------------------------------------------

    def job_by_id(self, job_id: str) -> Job:
        """A submitted job (e.g. a batch's fold root, to fold batch proofs on); StorageError if unknown."""
        with self._lock:
            return self._job(job_id)

    def state_by_id(self, job_id: str) -> JobState | None:
        """A job's state; FAILED also for a planned join that cannot happen (a descendant failed);
        None for a join still waiting for its children."""
        with self._lock:
            if job_id in self._dead:
                return JobState.FAILED
            return self.store.state_by_id(job_id)

    def proof_by_id(self, job_id: str) -> Proof | None:
        """The accepted (verified) segment-level proof of a job, if it is done."""
        proof = self._any_proof_by_id(job_id)
        if proof is not None and not isinstance(proof, Proof):
            raise StorageError(f"job {job_id} is a batch-level job, not a segment-level one")
        return proof

    def batch_proof_by_id(self, job_id: str) -> BatchLevelProof | None:
        """The accepted (verified) proof of a data or join job, if it is done."""
        proof = self._any_proof_by_id(job_id)
        if proof is not None and not isinstance(proof, BatchLevelProof):
            raise StorageError(f"job {job_id} is a segment-level job, not a batch-level one")
        return proof

    def _any_proof_by_id(self, job_id: str) -> AnyProof | None:
        with self._lock:
            if job_id not in self._proofs:
                proof = self.store.proof_by_id(job_id)
                if proof is None:
                    return None
                self._proofs[job_id] = proof
            return self._proofs[job_id]

    def wait(self, job_ids: Iterable[str], timeout_s: float) -> dict[str, Proof]:
        """Schedules until every job in `job_ids` is done; their proofs.

        ProvingFailed if one is given up, SchedulerTimeout if `timeout_s` passes first.
        """
        wanted = list(job_ids)
        deadline = time.monotonic() + timeout_s
        while True:
            self.step()
            states = {job_id: self.state_by_id(job_id) for job_id in wanted}
            failed = [job_id for job_id, state in states.items() if state is JobState.FAILED]
            if failed:
                raise ProvingFailed(f"jobs given up: {', '.join(failed)}")
            if all(state is JobState.DONE for state in states.values()):
                return {job_id: self._require_proof(job_id) for job_id in wanted}
            if time.monotonic() >= deadline:
                pending = [job_id for job_id, state in states.items() if state is not JobState.DONE]
                raise SchedulerTimeout(f"not proven within {timeout_s} s: {', '.join(pending)}")
            time.sleep(self.config.poll_s)

    def prove(self, leaves: Sequence[Job], timeout_s: float) -> Proof:
        """Proves and folds `leaves` into one verified proof (see `submit_fold`)."""
        root = self.submit_fold(leaves)
        return self.wait([root], timeout_s)[root]

    def utilisation(self) -> dict[str, WorkerUsage]:
        """Per worker: busy seconds (running copies included), outcomes and quarantine."""
        with self._lock:
            now = time.monotonic()
            quarantined = self.quarantined
            usage = {
                worker_id: WorkerUsage(
                    u.busy_s,
                    u.accepted,
                    u.rejected,
                    u.failed,
                    u.cancelled,
                    worker_id in quarantined,
                    u.bytes_in,
                    u.bytes_out,
                )
                for worker_id, u in self._usage.items()
            }
            for attempts in self._attempts.values():
                for attempt in attempts:
                    usage.setdefault(attempt.handle.worker_id, WorkerUsage()).busy_s += now - attempt.started
            return usage

    def network(self) -> dict[JobKind, NetworkUsage]:
        """Per kind of job: accepted jobs, copies and the bytes sent to and received from workers."""
        with self._lock:
            return {
                kind: NetworkUsage(u.jobs, u.copies, u.bytes_in, u.bytes_out)
                for kind, u in self._network.items()
            }

    def elapsed_s(self) -> float:
        """Seconds since the scheduler started (the denominator of utilisation)."""
        return time.monotonic() - self.started_at

    # -- the scheduling round ------------------------------------------------

    def step(self) -> None:
        """One round: collect finished copies, time out slow ones, start joins, start copies."""
        with self._lock:
            self._collect()
            self._time_out()
            self._start_joins()
            self._dispatch()

    def _collect(self) -> None:
        for job_id, attempts in list(self._attempts.items()):
            for attempt in list(attempts):
                if attempt in self._attempts.get(job_id, []) and attempt.handle.future.done():
                    self._finish(job_id, attempt)

    def _time_out(self) -> None:
        now = time.monotonic()
        for job_id, attempts in list(self._attempts.items()):
            for attempt in list(attempts):
                if attempt not in self._attempts.get(job_id, []):
                    continue
                if now - attempt.started > self.config.job_timeout_s:
                    self.backend.cancel(attempt.handle)
                    self._emit(EventKind.TIMED_OUT, job_id, attempt.handle.worker_id)
                    self._end_attempt(job_id, attempt)
                    self._usage_of(attempt.handle.worker_id).failed += 1
                    self._attempt_failed(job_id, f"timed out after {self.config.job_timeout_s} s")

    def _start_joins(self) -> None:
        for job_id, join in list(self._joins.items()):
            children = (join.left_id, join.right_id)
            if any(c in self._dead or self.store.state_by_id(c) is JobState.FAILED for c in children):
                self._dead.add(job_id)  # joins are planned bottom-up, so parents see this below
                del self._joins[job_id]
                continue
            left, right = self.proof_by_id(join.left_id), self.proof_by_id(join.right_id)
            if left is None or right is None:
                continue
            left_job, right_job = self._job(join.left_id), self._job(join.right_id)
            job = AggregateJob.of((left_job, left), (right_job, right))
            self.submit(job)
            del self._joins[job_id]

    def _dispatch(self) -> None:
        idle = self._idle_workers()
        # Queued jobs first, oldest batch first: `redundancy` copies each, at least one.
        for job_id in self.store.job_ids_by_state(JobState.QUEUED):
            if not idle:
                return
            job = self._job(job_id)
            for _ in range(self.config.redundancy):
                if not idle:
                    break
                self._start(job, idle.pop(0))
        # Then spare workers run further copies: up to `redundancy`, or one more for a straggler.
        now = time.monotonic()
        for job_id, attempts in sorted(self._attempts.items(), key=lambda item: item[1][0].started):
            if not idle:
                return
            if not attempts or len(attempts) >= self.config.max_copies:
                continue
            job = self._job(job_id)
            # A further copy only once the newest copy has itself run too long.
            if len(attempts) >= self.config.redundancy and not self._is_straggling(
                job, now - attempts[-1].started
            ):
                continue
            busy = {a.handle.worker_id for a in attempts}
            for worker_id in idle:
                if worker_id not in busy:
                    idle.remove(worker_id)
                    self._start(job, worker_id, duplicate=True)
                    break

    def _is_straggling(self, job: Job, running_s: float) -> bool:
        if self.config.straggler_factor is None:
            return False
        # The median of this kind of job; before any, of every kind; before any at all, the minimum.
        samples = self._durations[job.kind] or [d for ds in self._durations.values() for d in ds]
        expected = statistics.median(samples) if samples else self.config.straggler_min_s
        return running_s > max(self.config.straggler_min_s, self.config.straggler_factor * expected)

    def _idle_workers(self) -> list[str]:
        mine = {a.handle.worker_id for attempts in self._attempts.values() for a in attempts}
        quarantined = self.quarantined
        return [
            w.worker_id
            for w in self.backend.workers()
            if w.ready and w.job_id is None and w.worker_id not in quarantined and w.worker_id not in mine
        ]

    def _start(self, job: Job, worker_id: str, *, duplicate: bool = False) -> None:
        try:
            handle = self.backend.submit(job, worker_id)
        except InvalidInput as err:  # the worker died or got busy since it was listed: next round
            log.info("event=submit_skipped job=%s worker=%s reason=%r", job.job_id, worker_id, err.message)
            return
        self._attempts.setdefault(job.job_id, []).append(_Attempt(handle, time.monotonic()))
        self.store.mark_running(job.job_id)
        if job.job_id not in self._wire_bytes:
            self._wire_bytes[job.job_id] = compute_wire_bytes(job)
        sent = self._wire_bytes[job.job_id]
        self._usage_of(worker_id).bytes_in += sent
        network = self._network[job.kind]
        network.copies += 1
        network.bytes_in += sent
        self._emit(EventKind.DUPLICATE_STARTED if duplicate else EventKind.STARTED, job.job_id, worker_id)

    # -- outcomes -------------------------------------------------------------

    def _finish(self, job_id: str, attempt: _Attempt) -> None:
        worker_id = attempt.handle.worker_id
        self._end_attempt(job_id, attempt)
        usage = self._usage_of(worker_id)
        try:
            result = attempt.handle.future.result()
        except Exception as err:  # any failure of a copy is retried elsewhere
            usage.failed += 1
            detail = err.to_dict()["code"] + ": " + err.message if isinstance(err, ZkpipeError) else repr(err)
            self._emit(EventKind.ATTEMPT_FAILED, job_id, worker_id, detail)
            self._attempt_failed(job_id, detail)
            return
        job = self._job(job_id)
        received = compute_wire_bytes(result)
        usage.bytes_out += received
        self._network[job.kind].bytes_out += received
        if self.store.state_by_id(job_id) is JobState.DONE:
            return  # another copy won meanwhile
        try:
            proof = self._verified(job, result, worker_id)
        except InvalidProof as err:
            usage.rejected += 1
            self._emit(EventKind.REJECTED, job_id, worker_id, err.message)
            self._quarantine(worker_id, err.message, str(getattr(result, "host", "")) or None)
            if not self._attempts.get(job_id):
                self.store.requeue(job_id)
            return
        usage.accepted += 1
        self._network[job.kind].jobs += 1
        self._wire_bytes.pop(job_id, None)
        self.store.mark_done(job_id, proof)
        self._proofs[job_id] = proof
        self._durations[job.kind].append(time.monotonic() - attempt.started)
        self._emit(EventKind.ACCEPTED, job_id, worker_id, f"{result.wall_seconds:.2f} s")
        for loser in list(self._attempts.get(job_id, [])):
            self.backend.cancel(loser.handle)
            self._end_attempt(job_id, loser)
            self._usage_of(loser.handle.worker_id).cancelled += 1
            self._emit(EventKind.CANCELLED, job_id, loser.handle.worker_id, "another copy won")

    def _verified(self, job: Job, result: ProofResult, worker_id: str) -> AnyProof:
        """The proof, if it verifies here and states exactly what the job expects; else InvalidProof."""
        if not isinstance(result, ProofResult) or not isinstance(result.data, bytes):
            raise InvalidProof(f"worker {worker_id} returned {type(result).__name__}, not a proof")
        if isinstance(job, DataJob | JoinJob):
            return self._verified_batch_level(job, result, worker_id)
        is_aggregate = job.kind is JobKind.AGGREGATE
        statement = Statement.from_elements(
            native.verify_proof(job.k, result.data, is_aggregate, cache_dir=self.cache_dir)
        )
        if statement != job.expected:
            raise InvalidProof(f"worker {worker_id} proved a different statement than job {job.job_id}'s")
        setup = self._setup(job.k)
        kind = ProofKind.AGGREGATE if is_aggregate else ProofKind.SEGMENT
        digest = setup.aggregator_digest if is_aggregate else setup.normalizer_digest
        provenance = _provenance(job, result, worker_id, digest, PARAMETERS)
        return Proof(kind, job.k, statement, result.data, provenance)

    def _verified_batch_level(
        self, job: DataJob | JoinJob, result: ProofResult, worker_id: str
    ) -> BatchLevelProof:
        """A data proof or join, if it verifies here with exactly the job's expected statement."""
        statement: BatchStatement | None = None
        try:
            if isinstance(job, DataJob):
                if native.verify_data_hash(result.data, blocks=job.blocks) != job.expected:
                    raise InvalidProof(f"worker {worker_id}'s data proof is not of job {job.job_id}'s data")
            else:
                elements = native.verify_batch_proof(
                    job.k, job.blocks, result.data, False, cache_dir=self.cache_dir
                )
                statement = BatchStatement.from_elements(elements)
                if statement != job.expected:
                    raise InvalidProof(
                        f"worker {worker_id} joined a different statement than job {job.job_id}'s"
                    )
        except InvalidProof:
            raise
        except ZkpipeError as err:  # bytes that are not a proof of this circuit at all
            raise InvalidProof(f"worker {worker_id}'s proof does not verify: {err.message}") from None
        # The batch-level circuits' digests are not exposed yet: an empty digest.
        provenance = _provenance(job, result, worker_id, (), {**PARAMETERS, "data_blocks": job.blocks})
        kind = ProofKind.DATA if isinstance(job, DataJob) else ProofKind.JOIN
        return BatchLevelProof(kind, job.batch, job.k, job.blocks, statement, result.data, provenance)

    def _quarantine(self, worker_id: str, reason: str, host: str | None) -> None:
        if not self.store.quarantine(worker_id, reason, host):
            return
        self._emit(EventKind.QUARANTINED, None, worker_id, "returned a rejected proof")
        # Nothing else from this worker is trusted: stop its other copies and redo their jobs.
        for job_id, attempts in list(self._attempts.items()):
            for attempt in list(attempts):
                if attempt.handle.worker_id == worker_id:
                    self.backend.cancel(attempt.handle)
                    self._end_attempt(job_id, attempt)
                    self._usage_of(worker_id).cancelled += 1
                    self._emit(EventKind.CANCELLED, job_id, worker_id, "worker quarantined")
                    if not self._attempts.get(job_id):
                        self.store.requeue(job_id)

    def _attempt_failed(self, job_id: str, detail: str) -> None:
        failures = self.store.mark_failed_attempt(job_id, detail)
        if self._attempts.get(job_id) or self.store.state_by_id(job_id) is JobState.DONE:
            return  # another copy is still running, or already won
        if failures >= self.config.max_failures:
            self.store.mark_failed(job_id, detail)
            self._emit(EventKind.JOB_FAILED, job_id, None, f"{failures} failed attempts; last: {detail}")
        else:
            self.store.requeue(job_id)

    # -- helpers --------------------------------------------------------------

    def _end_attempt(self, job_id: str, attempt: _Attempt) -> None:
        attempts = self._attempts.get(job_id, [])
        if attempt in attempts:
            attempts.remove(attempt)
            self._usage_of(attempt.handle.worker_id).busy_s += time.monotonic() - attempt.started
        if not attempts:
            self._attempts.pop(job_id, None)

    def _usage_of(self, worker_id: str) -> WorkerUsage:
        return self._usage.setdefault(worker_id, WorkerUsage())

    def _job(self, job_id: str) -> Job:
        if job_id not in self._jobs:
            self._jobs[job_id] = self.store.record_by_id(job_id).job
        return self._jobs[job_id]

    def _require_proof(self, job_id: str) -> Proof:
        proof = self.proof_by_id(job_id)
        if proof is None:
            raise ProvingFailed(f"job {job_id} is done but has no proof")
        return proof

    def _setup(self, k: int) -> native.ProvingSetup:
        if k not in self._setups:
            self._setups[k] = native.proving_setup(k, cache_dir=self.cache_dir)
        return self._setups[k]

    def _emit(self, kind: EventKind, job_id: str | None, worker_id: str | None, detail: str = "") -> None:
        event = SchedulerEvent(kind, job_id, worker_id, detail)
        self.events.append(event)
        log.info("event=%s job=%s worker=%s detail=%r", kind, job_id, worker_id, detail)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # a broken listener must not stop proving
                log.exception("event=listener_failed kind=%s", kind)

    def events_of(self, kind: EventKind) -> list[SchedulerEvent]:
        """The events of one kind so far, in order."""
        return [e for e in self.events if e.kind is kind]


def _provenance(
    job: Job, result: ProofResult, worker_id: str, circuit_digest: tuple[int, ...], parameters: dict[str, Any]
) -> Provenance:
    """Where an accepted proof came from: its job, its worker's result and this verifier."""
    return Provenance(
        circuit_digest=circuit_digest,
        segment_size=job.k,
        versions=native.library_versions(),
        parameters=parameters,
        threads=result.threads,
        wall_seconds=result.wall_seconds,
        peak_rss_mib=result.peak_rss_mib,
        host=str(result.host),
        created_at=time.time(),
        segments=job.segments,
        extra={
            **result.extra,
            "job_id": job.job_id,
            "worker_id": worker_id,
            "worker_pid": result.pid,
            "verified_by": platform.node(),
        },
    )
