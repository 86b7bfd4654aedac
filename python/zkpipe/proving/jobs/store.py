"""The persistent job queue on SQLite: jobs, their state and verified proofs, quarantined workers."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zkpipe.errors import StorageError
from zkpipe.proving.jobs.codec import job_from_json, job_to_json
from zkpipe.proving.jobs.models import Job, JobState
from zkpipe.proving.proof import AnyProof, proof_from_json

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,  -- insertion order (ties within a batch)
    job_id      TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('segment', 'aggregate', 'data', 'join')),
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


WIDEN_KINDS = f"""
BEGIN;
ALTER TABLE jobs RENAME TO jobs_two_kinds;
DROP INDEX jobs_queue;
{SCHEMA}
INSERT INTO jobs SELECT * FROM jobs_two_kinds;
DROP TABLE jobs_two_kinds;
COMMIT;
"""
"""Rebuilds a job table of a version that knew only segment and aggregate jobs (its `CHECK`), rows kept."""


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
    proof: AnyProof | None
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
            (table,) = self._db.execute("SELECT sql FROM sqlite_master WHERE name = 'jobs'").fetchone()
            if "'data'" not in table:
                self._db.executescript(WIDEN_KINDS)
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

    def mark_done(self, job_id: str, proof: AnyProof) -> None:
        """Stores the verified proof of the job."""
        self._set(job_id, "state = 'done', proof = ?", (json.dumps(proof.to_json()),))

    def _record(self, row: tuple[Any, ...]) -> JobRecord:
        job, state, attempts, failures, proof, error = row
        return JobRecord(
            job_from_json(json.loads(job)),
            JobState(state),
            int(attempts),
            int(failures),
            None if proof is None else proof_from_json(json.loads(proof)),
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

    def proof_by_id(self, job_id: str) -> AnyProof | None:
        """The verified proof of a done job, else None."""
        _, rows = self._execute("SELECT proof FROM jobs WHERE job_id = ?", (job_id,))
        return proof_from_json(json.loads(rows[0][0])) if rows and rows[0][0] is not None else None

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
