"""Jobs and the job store: stable ids, JSON round trips, states, order, restart recovery."""

from __future__ import annotations

import itertools
import json
import sqlite3
from pathlib import Path

import pytest

from tests.scheduler.helpers import K, make_batches
from zkpipe.errors import InvalidProof, StorageError
from zkpipe.proving import Proof, ProofKind, Provenance
from zkpipe.proving.jobs import (
    AggregateJob,
    DataJob,
    JobState,
    JobStore,
    SegmentJob,
    compute_joined_statement,
    job_from_json,
    job_to_json,
)
from zkpipe.proving.jobs.store import SCHEMA
from zkpipe.proving.scheduler import compute_fold_plan
from zkpipe.proving.segmenter import Segmenter


def _unverified_proof(job: SegmentJob) -> Proof:
    """A proof-shaped record with the job's statement (the store itself does not verify)."""
    provenance = Provenance((0, 0, 0, 0), K, {}, {}, 1, 0.0, 0.0, "test", 0.0)
    return Proof(ProofKind.SEGMENT, K, job.expected, b"\x01\x02", provenance)


@pytest.fixture(scope="module")
def jobs() -> list[SegmentJob]:
    _, results = make_batches(2)
    return [job for result in results for job in Segmenter(K).jobs(result)]


def test_segment_jobs_have_stable_ids_and_chain(jobs: list[SegmentJob]) -> None:
    assert [j.job_id for j in jobs] == ["k8/b1/s0", "k8/b1/s1", "k8/b2/s0", "k8/b2/s1"]
    for left, right in itertools.pairwise(jobs):
        assert left.expected.is_followed_by(right.expected)


def test_segment_job_survives_json(jobs: list[SegmentJob]) -> None:
    for job in jobs:
        assert job_from_json(job_to_json(job)) == job  # tuples restored, so the native call accepts it


def test_aggregate_job_expects_the_joined_statement(jobs: list[SegmentJob]) -> None:
    left, right = jobs[0], jobs[1]
    agg = AggregateJob.of((left, _unverified_proof(left)), (right, _unverified_proof(right)))
    assert agg.job_id == "agg(k8/b1/s0+k8/b1/s1)"
    assert agg.span == ((1, 0), (1, 1))
    assert agg.expected.root_before == left.expected.root_before
    assert agg.expected.root_after == right.expected.root_after
    assert agg.expected.fee_total == left.expected.fee_total + right.expected.fee_total
    assert job_from_json(job_to_json(agg)) == agg


def test_invalid_aggregate_of_non_adjacent_proofs(jobs: list[SegmentJob]) -> None:
    with pytest.raises(InvalidProof):
        AggregateJob.of((jobs[0], _unverified_proof(jobs[0])), (jobs[2], _unverified_proof(jobs[2])))
    with pytest.raises(InvalidProof):
        compute_joined_statement(jobs[1].expected, jobs[0].expected)


def test_store_queues_oldest_batch_first_and_ignores_known_ids(
    tmp_path: Path, jobs: list[SegmentJob]
) -> None:
    store = JobStore(tmp_path / "jobs.db")
    for job in reversed(jobs):
        assert store.add(job)
    assert not store.add(jobs[0])
    assert [j.job_id for j in store.queued()] == ["k8/b1/s1", "k8/b1/s0", "k8/b2/s1", "k8/b2/s0"]
    assert store.counts()[JobState.QUEUED] == 4


def test_store_keeps_states_attempts_and_proofs_across_reopen(tmp_path: Path, jobs: list[SegmentJob]) -> None:
    path = tmp_path / "jobs.db"
    store = JobStore(path)
    for job in jobs[:3]:
        store.add(job)
    store.mark_running(jobs[0].job_id)
    store.mark_done(jobs[0].job_id, _unverified_proof(jobs[0]))
    store.mark_running(jobs[1].job_id)
    store.mark_running(jobs[2].job_id)
    assert store.mark_failed_attempt(jobs[2].job_id, "worker lost") == 1
    store.mark_failed(jobs[2].job_id, "worker lost")
    store.close()

    reopened = JobStore(path)
    assert reopened.recover() == 1  # the running job goes back to the queue
    assert reopened.state_by_id(jobs[0].job_id) is JobState.DONE
    assert reopened.state_by_id(jobs[1].job_id) is JobState.QUEUED
    assert reopened.state_by_id(jobs[2].job_id) is JobState.FAILED
    assert reopened.state_by_id("k8/b9/s9") is None
    record = reopened.record_by_id(jobs[0].job_id)
    assert record.attempts == 1 and record.proof == _unverified_proof(jobs[0])
    assert reopened.record_by_id(jobs[2].job_id).error == "worker lost"
    with pytest.raises(StorageError):
        reopened.mark_running("k8/b9/s9")


def test_fold_plan_is_balanced_and_deterministic() -> None:
    root, joins = compute_fold_plan(["a", "b", "c"])
    assert root == "agg(agg(a+b)+c)"
    assert set(joins) == {"agg(a+b)", "agg(agg(a+b)+c)"}
    assert compute_fold_plan(["a"]) == ("a", {})


def test_a_store_of_the_two_kind_version_is_widened_with_its_jobs_kept(
    tmp_path: Path, jobs: list[SegmentJob]
) -> None:
    path = tmp_path / "jobs.db"
    db = sqlite3.connect(path)
    db.executescript(SCHEMA.replace("'aggregate', 'data', 'join'", "'aggregate'"))  # the old CHECK
    db.execute(
        "INSERT INTO jobs (job_id, kind, k, batch, state, job, created_at, updated_at) "
        "VALUES (?, 'segment', ?, ?, 'queued', ?, 0, 0)",
        (jobs[0].job_id, K, jobs[0].batch, json.dumps(job_to_json(jobs[0]))),
    )
    db.commit()
    db.close()
    store = JobStore(path)
    data = DataJob(jobs[0].batch, K, 26, b"posted batch", jobs[0].expected, bytes(32))
    assert store.add(data)
    assert store.queued() == [jobs[0], data]
