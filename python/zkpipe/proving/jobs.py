"""Proving jobs (segment and aggregate) with stable ids, and their persistent queue on SQLite."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from zkpipe.errors import InvalidInput, InvalidProof, StorageError
from zkpipe.native import AccountTuple, Digest, SegmentWitnessTuple, SlotTuple
from zkpipe.proving.proof import Proof
from zkpipe.proving.statement import Statement
from zkpipe.proving.witness import compute_segment_witness
from zkpipe.spec import SegmentWitness

Position = tuple[int, int]
"""Where a segment sits in the chain: (batch number, segment index in the batch)."""


class JobState(StrEnum):
    """Lifecycle of a job in the store."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # a verified proof is stored
    FAILED = "failed"  # gave up after too many failed attempts


class JobKind(StrEnum):
    """A segment proof, or an aggregation of two adjacent proofs."""

    SEGMENT = "segment"
    AGGREGATE = "aggregate"


def compute_segment_statement(segment: SegmentWitness) -> Statement:
    """The statement a proof of `segment` must have (what the spec computed)."""
    return Statement.of_segment(segment)


def compute_joined_statement(left: Statement, right: Statement) -> Statement:
    """The statement of the aggregate of two adjacent statements; InvalidProof if they do not join."""
    return left.joined(right)


@dataclass(frozen=True, slots=True)
class SegmentJob:
    """Prove one segment: batch number, segment index, segment size, native witness, expected statement."""

    batch: int
    index: int
    k: int
    witness: SegmentWitnessTuple
    expected: Statement

    kind = JobKind.SEGMENT

    @classmethod
    def from_segment(cls, batch: int, index: int, k: int, segment: SegmentWitness) -> SegmentJob:
        """The job for a segment the spec applied."""
        if len(segment.txs) > k:
            raise InvalidInput(f"{len(segment.txs)} transactions do not fit a segment of {k}")
        return cls(batch, index, k, compute_segment_witness(segment), compute_segment_statement(segment))

    @property
    def job_id(self) -> str:
        """Stable id: segment size, batch and index."""
        return f"k{self.k}/b{self.batch}/s{self.index}"

    @property
    def span(self) -> tuple[Position, Position]:
        """First and last segment covered."""
        return (self.batch, self.index), (self.batch, self.index)

    @property
    def segments(self) -> int:
        """Number of segments covered."""
        return 1


@dataclass(frozen=True, slots=True)
class AggregateJob:
    """Aggregate two adjacent verified proofs (left then right) into one."""

    left_id: str
    right_id: str
    left: Proof
    right: Proof
    left_span: tuple[Position, Position]
    right_span: tuple[Position, Position]
    segments: int
    """Number of segments covered by both children."""

    kind = JobKind.AGGREGATE

    @classmethod
    def of(cls, left: tuple[Job, Proof], right: tuple[Job, Proof]) -> AggregateJob:
        """The job joining two (job, accepted proof) pairs; InvalidProof if they are not adjacent."""
        (left_job, left_proof), (right_job, right_proof) = left, right
        if left_proof.segment_size != right_proof.segment_size:
            raise InvalidProof("children of different segment sizes cannot be aggregated")
        compute_joined_statement(left_proof.statement, right_proof.statement)
        return cls(
            left_job.job_id,
            right_job.job_id,
            left_proof,
            right_proof,
            left_job.span,
            right_job.span,
            left_job.segments + right_job.segments,
        )

    @property
    def job_id(self) -> str:
        """Stable id: derived from the two children's ids."""
        return f"agg({self.left_id}+{self.right_id})"

    @property
    def k(self) -> int:
        """Segment size of the circuits."""
        return self.left.segment_size

    @property
    def batch(self) -> int:
        """Batch of the first segment covered (the queue's order)."""
        return self.left_span[0][0]

    @property
    def span(self) -> tuple[Position, Position]:
        """First and last segment covered."""
        return self.left_span[0], self.right_span[1]

    @property
    def expected(self) -> Statement:
        """The statement the aggregate must have."""
        return compute_joined_statement(self.left.statement, self.right.statement)


Job = SegmentJob | AggregateJob


# ---------------------------------------------------------------------------
# JSON forms (jobs are stored as JSON, never pickled: the store may outlive a code version)
# ---------------------------------------------------------------------------


def _digest(value: Any) -> Digest:
    a, b, c, d = (int(x) for x in value)
    return (a, b, c, d)


def _account(value: Any) -> AccountTuple:
    empty, fields, siblings = value
    return (bool(empty), [int(x) for x in fields], [_digest(s) for s in siblings])


def _slot(value: Any) -> SlotTuple:
    kind, elements, leaf_a, leaf_b = value
    return (int(kind), [int(x) for x in elements], _account(leaf_a), _account(leaf_b))


def _witness(value: Any) -> SegmentWitnessTuple:
    root, data, withdrawals, deposits, slots, fee, queue_in, chain_id = value
    return (
        _digest(root),
        _digest(data),
        _digest(withdrawals),
        _digest(deposits),
        [_slot(s) for s in slots],
        _account(fee),
        int(queue_in),
        int(chain_id),
    )


def _statement(value: Any) -> Statement:
    return Statement.from_elements([int(x) for x in value])


def _span(value: Any) -> tuple[Position, Position]:
    (b0, s0), (b1, s1) = value
    return (int(b0), int(s0)), (int(b1), int(s1))


def job_to_json(job: Job) -> dict[str, Any]:
    """A JSON-ready form of a job."""
    if isinstance(job, SegmentJob):
        return {
            "kind": str(job.kind),
            "batch": job.batch,
            "index": job.index,
            "k": job.k,
            "witness": job.witness,
            "expected": job.expected.to_elements(),
        }
    return {
        "kind": str(job.kind),
        "left_id": job.left_id,
        "right_id": job.right_id,
        "left": job.left.to_json(),
        "right": job.right.to_json(),
        "left_span": job.left_span,
        "right_span": job.right_span,
        "segments": job.segments,
    }


def job_from_json(obj: Any) -> Job:
    """Reads `job_to_json`'s form; StorageError if malformed."""
    try:
        if obj["kind"] == JobKind.SEGMENT:
            return SegmentJob(
                int(obj["batch"]),
                int(obj["index"]),
                int(obj["k"]),
                _witness(obj["witness"]),
                _statement(obj["expected"]),
            )
        if obj["kind"] == JobKind.AGGREGATE:
            return AggregateJob(
                str(obj["left_id"]),
                str(obj["right_id"]),
                Proof.from_json(obj["left"]),
                Proof.from_json(obj["right"]),
                _span(obj["left_span"]),
                _span(obj["right_span"]),
                int(obj["segments"]),
            )
        raise StorageError(f"unknown job kind {obj['kind']!r}")
    except StorageError:
        raise
    except (KeyError, TypeError, ValueError, InvalidInput, InvalidProof) as err:
        raise StorageError(f"stored job is malformed: {err!r}") from None


# ---------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,  -- insertion order (ties within a batch)
    job_id      TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('segment', 'aggregate')),
    k           INTEGER NOT NULL,
    batch       INTEGER NOT NULL,                   -- batch of the first segment covered
    state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,         -- copies started (duplicates included)
    failures    INTEGER NOT NULL DEFAULT 0,         -- attempts that ended without a valid proof
    job         TEXT NOT NULL,                      -- job_to_json
    proof       TEXT,                               -- Proof.to_json of the verified result
    error       TEXT,                               -- last failure, for operators
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs (state, batch, seq);
CREATE TABLE IF NOT EXISTS quarantine (
    worker_id   TEXT PRIMARY KEY,                   -- a worker that returned a rejected proof
    host        TEXT,                               -- where that proof came from, for operators
    reason      TEXT NOT NULL,
    since       REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    """A worker the scheduler gives no jobs: why, since when (Unix time), where its bad proof came from."""

    worker_id: str
    host: str | None
    reason: str
    since: float


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A job as stored: its state, counters and, when done, its verified proof."""

    job: Job
    state: JobState
    attempts: int
    failures: int
    proof: Proof | None
    error: str | None


class JobStore:
    """Persistent job queue on SQLite (WAL): jobs, their state, attempts and verified proofs, and
    the quarantined workers.

    Only proofs the scheduler verified are stored, so after a restart done work is not redone, and
    a worker that cheated stays quarantined until an operator lifts it (`zkpipe provers lift`,
    from another process too). Thread-safe (one connection behind a lock).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as err:
            raise StorageError(f"cannot open job store {self.path}: {err}") from None

    def close(self) -> None:
        """Closes the database."""
        with self._lock:
            self._db.close()

    def _execute(self, sql: str, args: Sequence[Any] = ()) -> tuple[int, list[Any]]:
        """Runs one statement; (rows changed, rows fetched)."""
        with self._lock:
            try:
                cursor = self._db.execute(sql, args)
                return cursor.rowcount, cursor.fetchall()
            except sqlite3.Error as err:
                raise StorageError(f"job store {self.path}: {err}") from None

    def add(self, job: Job) -> bool:
        """Queues a job unless its id is already stored; whether it was new."""
        now = time.time()
        changed, _ = self._execute(
            "INSERT OR IGNORE INTO jobs (job_id, kind, k, batch, state, job, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)",
            (job.job_id, str(job.kind), job.k, job.batch, json.dumps(job_to_json(job)), now, now),
        )
        return changed == 1

    def recover(self) -> int:
        """After a restart: jobs left running go back to the queue; how many."""
        changed, _ = self._execute(
            "UPDATE jobs SET state = 'queued', updated_at = ? WHERE state = 'running'", (time.time(),)
        )
        return changed

    def _set(self, job_id: str, sql: str, args: Sequence[Any] = ()) -> None:
        changed, _ = self._execute(
            f"UPDATE jobs SET {sql}, updated_at = ? WHERE job_id = ?", (*args, time.time(), job_id)
        )
        if changed != 1:
            raise StorageError(f"no job {job_id!r} in the store")

    def mark_running(self, job_id: str) -> None:
        """One more copy of the job started."""
        self._set(job_id, "state = 'running', attempts = attempts + 1")

    def mark_failed_attempt(self, job_id: str, error: str) -> int:
        """One attempt ended without a valid proof; the job's failure count."""
        self._set(job_id, "failures = failures + 1, error = ?", (error,))
        _, rows = self._execute("SELECT failures FROM jobs WHERE job_id = ?", (job_id,))
        return int(rows[0][0])

    def requeue(self, job_id: str) -> None:
        """Back to the queue (no copy is running)."""
        self._set(job_id, "state = 'queued'")

    def mark_failed(self, job_id: str, error: str) -> None:
        """Gives up on the job."""
        self._set(job_id, "state = 'failed', error = ?", (error,))

    def mark_done(self, job_id: str, proof: Proof) -> None:
        """Stores the verified proof of the job."""
        self._set(job_id, "state = 'done', proof = ?", (json.dumps(proof.to_json()),))

    def _record(self, row: tuple[Any, ...]) -> JobRecord:
        job, state, attempts, failures, proof, error = row
        return JobRecord(
            job_from_json(json.loads(job)),
            JobState(state),
            int(attempts),
            int(failures),
            None if proof is None else Proof.from_json(json.loads(proof)),
            error,
        )

    _COLUMNS = "job, state, attempts, failures, proof, error"

    def record_by_id(self, job_id: str) -> JobRecord:
        """The stored job; StorageError if unknown."""
        _, rows = self._execute(f"SELECT {self._COLUMNS} FROM jobs WHERE job_id = ?", (job_id,))
        if not rows:
            raise StorageError(f"no job {job_id!r} in the store")
        return self._record(rows[0])

    def state_by_id(self, job_id: str) -> JobState | None:
        """The job's state, or None if it is not stored."""
        _, rows = self._execute("SELECT state FROM jobs WHERE job_id = ?", (job_id,))
        return JobState(rows[0][0]) if rows else None

    def proof_by_id(self, job_id: str) -> Proof | None:
        """The verified proof of a done job, else None."""
        _, rows = self._execute("SELECT proof FROM jobs WHERE job_id = ?", (job_id,))
        return Proof.from_json(json.loads(rows[0][0])) if rows and rows[0][0] is not None else None

    def queued(self, limit: int = 1000) -> list[Job]:
        """Queued jobs, oldest batch first (then insertion order)."""
        _, rows = self._execute(
            "SELECT job FROM jobs WHERE state = 'queued' ORDER BY batch, seq LIMIT ?", (limit,)
        )
        return [job_from_json(json.loads(row[0])) for row in rows]

    def job_ids_by_state(self, state: JobState) -> list[str]:
        """Ids of jobs in `state`, oldest batch first."""
        _, rows = self._execute("SELECT job_id FROM jobs WHERE state = ? ORDER BY batch, seq", (str(state),))
        return [str(row[0]) for row in rows]

    def counts(self) -> dict[JobState, int]:
        """Number of jobs in each state."""
        _, rows = self._execute("SELECT state, COUNT(*) FROM jobs GROUP BY state")
        counts = dict.fromkeys(JobState, 0)
        counts.update({JobState(state): int(n) for state, n in rows})
        return counts

    def records(self) -> Iterator[JobRecord]:
        """Every stored job, oldest batch first."""
        _, rows = self._execute(f"SELECT {self._COLUMNS} FROM jobs ORDER BY batch, seq")
        return (self._record(row) for row in rows)

    # -- quarantine -----------------------------------------------------------------------------

    def quarantine(self, worker_id: str, reason: str, host: str | None = None) -> bool:
        """Quarantines a worker (kept across restarts); whether it was not already."""
        changed, _ = self._execute(
            "INSERT OR IGNORE INTO quarantine (worker_id, host, reason, since) VALUES (?, ?, ?, ?)",
            (worker_id, host, reason, time.time()),
        )
        return changed == 1

    def lift_quarantine(self, worker_id: str) -> bool:
        """Gives a quarantined worker jobs again; whether it was quarantined."""
        changed, _ = self._execute("DELETE FROM quarantine WHERE worker_id = ?", (worker_id,))
        return changed == 1

    def quarantined(self) -> dict[str, QuarantineRecord]:
        """The quarantined workers, by id."""
        _, rows = self._execute("SELECT worker_id, host, reason, since FROM quarantine ORDER BY since")
        return {
            str(w): QuarantineRecord(str(w), None if h is None else str(h), str(r), float(t))
            for w, h, r, t in rows
        }
