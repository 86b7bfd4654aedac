"""Faults with real provers: a killed worker, a straggler, cheating workers, a restarted scheduler.

Every case ends with one aggregate proof of the batch whose statement is the spec's.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.scheduler.helpers import K, make_batches
from zkpipe.errors import ProvingFailed
from zkpipe.proving import Proof, Prover
from zkpipe.proving.backends.local import LocalBackend
from zkpipe.proving.backends.worker import Corruption, WorkerFaults
from zkpipe.proving.jobs import JobState, JobStore, SegmentJob
from zkpipe.proving.scheduler import EventKind, Scheduler, SchedulerConfig, SchedulerTimeout
from zkpipe.proving.segmenter import Segmenter
from zkpipe.spec import BatchResult, State

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

NO_SPECULATION = SchedulerConfig(straggler_factor=None)


@pytest.fixture(scope="module")
def batch() -> tuple[State, BatchResult, list[SegmentJob]]:
    state, (result,) = make_batches(1)
    jobs = Segmenter(K).jobs(result)
    assert len(jobs) == 2
    return state, result, jobs


@pytest.fixture(scope="module")
def verifier() -> Prover:
    return Prover(K)


def _backend(workers: int, faults: dict[int, WorkerFaults] | None = None) -> Iterator[LocalBackend]:
    backend = LocalBackend(workers, threads=1, faults=faults)
    try:
        assert backend.wait_ready(90)
        yield backend
    finally:
        backend.close()


@pytest.fixture
def honest_pair() -> Iterator[LocalBackend]:
    yield from _backend(2)


def assert_proves_the_batch(
    proof: Proof, batch: tuple[State, BatchResult, list[SegmentJob]], verifier: Prover
) -> None:
    state, result, _ = batch
    statement = verifier.verify(proof)
    assert proof.is_aggregate and proof.provenance.segments == 2
    assert statement.root_before == state.tree.root
    assert statement.root_after == result.state.tree.root
    assert statement.commitments_in == state.commitments
    assert statement.commitments_out == result.commitments


def test_killed_worker_job_is_redone(
    tmp_path: Path,
    honest_pair: LocalBackend,
    batch: tuple[State, BatchResult, list[SegmentJob]],
    verifier: Prover,
) -> None:
    scheduler = Scheduler(honest_pair, JobStore(tmp_path / "jobs.db"), NO_SPECULATION)
    root = scheduler.submit_fold(batch[2])
    victim = honest_pair.pid_by_worker("local-0")
    deadline = time.monotonic() + 60
    while not scheduler.events_of(EventKind.STARTED) and time.monotonic() < deadline:
        scheduler.step()
        time.sleep(0.05)
    time.sleep(1.0)  # mid-proof
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    started = time.monotonic()
    proof = scheduler.wait([root], 120)[root]

    lost = [e for e in scheduler.events_of(EventKind.ATTEMPT_FAILED) if e.worker_id == "local-0"]
    assert len(lost) == 1 and "WORKER_LOST" in lost[0].detail
    assert scheduler.store.record_by_id(lost[0].job_id or "").failures == 1
    assert scheduler.store.state_by_id(lost[0].job_id or "") is JobState.DONE
    assert honest_pair.pid_by_worker("local-0") != victim  # replaced
    assert_proves_the_batch(proof, batch, verifier)
    print(f"killed worker: batch proven {time.monotonic() - started:.1f} s after the kill")


def test_straggler_loses_to_a_duplicate_and_is_cancelled(
    tmp_path: Path, batch: tuple[State, BatchResult, list[SegmentJob]], verifier: Prover
) -> None:
    config = SchedulerConfig(straggler_factor=1.5, straggler_min_s=1.0)
    for backend in _backend(2, {1: WorkerFaults(delay_seconds=300)}):
        scheduler = Scheduler(backend, JobStore(tmp_path / "jobs.db"), config)
        started = time.monotonic()
        proof = scheduler.prove(batch[2], timeout_s=120)
        elapsed = time.monotonic() - started

        slow_job = next(e.job_id for e in scheduler.events_of(EventKind.STARTED) if e.worker_id == "local-1")
        duplicates = scheduler.events_of(EventKind.DUPLICATE_STARTED)
        assert (slow_job, "local-0") in [(e.job_id, e.worker_id) for e in duplicates]
        accepted = {e.job_id: e.worker_id for e in scheduler.events_of(EventKind.ACCEPTED)}
        assert accepted[slow_job] == "local-0"
        cancelled = scheduler.events_of(EventKind.CANCELLED)
        assert (slow_job, "local-1") in [(e.job_id, e.worker_id) for e in cancelled]
        usage = scheduler.utilisation()
        assert usage["local-1"].cancelled >= 1 and usage["local-1"].accepted == 0
        assert elapsed < 300  # did not wait for the straggler
        assert_proves_the_batch(proof, batch, verifier)
        print(f"straggler: batch proven in {elapsed:.1f} s; busy {usage}")


def test_one_useful_prover_in_five_still_proves_the_batch(
    tmp_path: Path, batch: tuple[State, BatchResult, list[SegmentJob]], verifier: Prover
) -> None:
    # Worker 2 returns real proofs with a flipped byte, workers 1, 3 and 4 random bytes.
    garbage = WorkerFaults(corrupt=Corruption.GARBAGE)
    faults = {1: garbage, 2: WorkerFaults(corrupt=Corruption.TAMPER), 3: garbage, 4: garbage}
    config = SchedulerConfig(redundancy=2, straggler_factor=None)  # always two copies of every job
    for backend in _backend(5, faults):
        scheduler = Scheduler(backend, JobStore(tmp_path / "jobs.db"), config)
        started = time.monotonic()
        proof = scheduler.prove(batch[2], timeout_s=120)

        quarantined = {e.worker_id for e in scheduler.events_of(EventKind.QUARANTINED)}
        assert quarantined == {"local-1", "local-2", "local-3", "local-4"}
        assert {e.worker_id for e in scheduler.events_of(EventKind.ACCEPTED)} == {"local-0"}
        assert not scheduler.events_of(EventKind.JOB_FAILED)  # rejections do not use up retries
        first_round = [(e.job_id, e.worker_id) for e in scheduler.events_of(EventKind.STARTED)][:2]
        duplicates = [(e.job_id, e.worker_id) for e in scheduler.events_of(EventKind.STARTED)][2:4]
        assert first_round == [("k8/b1/s0", "local-0"), ("k8/b1/s0", "local-1")]
        assert duplicates == [("k8/b1/s1", "local-2"), ("k8/b1/s1", "local-3")]
        (tampered,) = [e for e in scheduler.events_of(EventKind.REJECTED) if e.worker_id == "local-2"]
        assert tampered.job_id == "k8/b1/s1" and "different statement" not in tampered.detail
        accepted = {e.job_id: e.worker_id for e in scheduler.events_of(EventKind.ACCEPTED)}
        assert accepted["k8/b1/s1"] == "local-0"  # the tampering worker's job, redone
        assert_proves_the_batch(proof, batch, verifier)
        print(f"1 useful prover in 5: batch proven in {time.monotonic() - started:.1f} s")


def test_restart_during_aggregation_redoes_no_verified_work(
    tmp_path: Path, batch: tuple[State, BatchResult, list[SegmentJob]], verifier: Prover
) -> None:
    path = tmp_path / "jobs.db"
    segment_ids = [job.job_id for job in batch[2]]
    for backend in _backend(2):
        first = Scheduler(backend, JobStore(path), NO_SPECULATION)
        root = first.submit_fold(batch[2])
        first.wait(segment_ids, 120)
        deadline = time.monotonic() + 30
        while first.store.state_by_id(root) is not JobState.RUNNING and time.monotonic() < deadline:
            first.step()
            time.sleep(0.05)
        assert first.store.state_by_id(root) is JobState.RUNNING
        first.store.close()  # the node dies mid-aggregation (its workers with it)

    started = time.monotonic()
    for backend in _backend(2):
        second = Scheduler(backend, JobStore(path), NO_SPECULATION)
        proof = second.prove(batch[2], timeout_s=120)
        assert [e.job_id for e in second.events_of(EventKind.STARTED)] == [root]
        assert second.store.record_by_id(root).attempts == 2
        assert all(second.store.record_by_id(i).attempts == 1 for i in segment_ids)
        assert_proves_the_batch(proof, batch, verifier)
    print(f"restart: aggregation finished {time.monotonic() - started:.1f} s after the restart")


def test_invalid_replayed_proof_of_another_job_is_rejected(
    tmp_path: Path, batch: tuple[State, BatchResult, list[SegmentJob]]
) -> None:
    # One worker that replays its first (valid) proof: the second job gets a proof that verifies
    # but states the first job's transition. With no honest worker left, nothing more is accepted.
    for backend in _backend(1, {0: WorkerFaults(corrupt=Corruption.REPLAY)}):
        scheduler = Scheduler(backend, JobStore(tmp_path / "jobs.db"), NO_SPECULATION)
        root = scheduler.submit_fold(batch[2])
        deadline = time.monotonic() + 60
        while not scheduler.quarantined and time.monotonic() < deadline:
            scheduler.step()
            time.sleep(0.05)
        with pytest.raises(SchedulerTimeout):
            scheduler.wait([root], 0.5)
        assert [e.job_id for e in scheduler.events_of(EventKind.ACCEPTED)] == ["k8/b1/s0"]
        (rejected,) = scheduler.events_of(EventKind.REJECTED)
        assert rejected.job_id == "k8/b1/s1" and "different statement" in rejected.detail
        assert scheduler.quarantined == {"local-0"}
        assert scheduler.store.state_by_id("k8/b1/s1") is JobState.QUEUED


def test_invalid_witness_fails_the_job_and_its_fold(
    tmp_path: Path, batch: tuple[State, BatchResult, list[SegmentJob]]
) -> None:
    good = batch[2][1]
    first = batch[2][0]
    bad = dataclasses.replace(first, witness=((1, 2, 3, 4), *first.witness[1:]))  # wrong root before
    config = SchedulerConfig(straggler_factor=None, max_failures=1)
    for backend in _backend(1):
        scheduler = Scheduler(backend, JobStore(tmp_path / "jobs.db"), config)
        with pytest.raises(ProvingFailed):
            scheduler.prove([bad, good], timeout_s=60)
        assert scheduler.state_by_id(f"agg({bad.job_id}+{good.job_id})") is JobState.FAILED
        (failed,) = scheduler.events_of(EventKind.JOB_FAILED)
        assert failed.job_id == bad.job_id and "PROVING_FAILED" in failed.detail
        assert scheduler.store.state_by_id(bad.job_id) is JobState.FAILED
        assert not scheduler.quarantined  # an honest error is not cheating


def test_timed_out_copies_are_cancelled_and_retried_until_the_job_is_given_up(
    tmp_path: Path, batch: tuple[State, BatchResult, list[SegmentJob]]
) -> None:
    # The only worker sleeps 300 s before every job: each copy hits the 1 s timeout, is killed
    # (the worker process is replaced) and retried, until max_failures.
    config = SchedulerConfig(straggler_factor=None, job_timeout_s=1.0, max_failures=2)
    for backend in _backend(1, {0: WorkerFaults(delay_seconds=300)}):
        scheduler = Scheduler(backend, JobStore(tmp_path / "jobs.db"), config)
        job = batch[2][0]
        scheduler.submit(job)
        started = time.monotonic()
        with pytest.raises(ProvingFailed):
            scheduler.wait([job.job_id], 60)
        assert len(scheduler.events_of(EventKind.TIMED_OUT)) == 2
        assert [e.job_id for e in scheduler.events_of(EventKind.JOB_FAILED)] == [job.job_id]
        record = scheduler.store.record_by_id(job.job_id)
        assert record.attempts == 2 and record.failures == 2 and record.state is JobState.FAILED
        assert time.monotonic() - started < 30


def test_quarantine_survives_a_restart_until_an_operator_lifts_it(
    tmp_path: Path, batch: tuple[State, BatchResult, list[SegmentJob]]
) -> None:
    from click.testing import CliRunner

    from zkpipe.cli import main

    _, (_, second_batch) = make_batches(2)
    more = Segmenter(K).jobs(second_batch)

    def step_until(
        scheduler: Scheduler, condition: Callable[[Scheduler], bool], timeout_s: float = 60
    ) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition(scheduler):
            assert time.monotonic() < deadline, "timed out"
            scheduler.step()
            time.sleep(0.05)

    for backend in _backend(2, {0: WorkerFaults(corrupt=Corruption.GARBAGE)}):
        first = Scheduler(backend, JobStore(tmp_path / "jobs.db"), NO_SPECULATION)
        first.submit_fold(batch[2])
        step_until(first, lambda s: bool(s.quarantined))  # its garbage comes back at once
        assert first.quarantined == {"local-0"}
        first.store.close()
        # A restarted scheduler on the same job store: the cheater, idle and ready, gets nothing
        # while a job waits for the one honest worker.
        second = Scheduler(backend, JobStore(tmp_path / "jobs.db"), NO_SPECULATION)
        assert second.quarantined == {"local-0"}
        record = second.store.quarantined()["local-0"]
        assert record.reason and record.host  # why, and where the rejected proof came from
        second.submit_fold(more)
        step_until(second, lambda s: bool(s.events_of(EventKind.STARTED)))
        waited = time.monotonic() + 2.0
        while time.monotonic() < waited:
            second.step()
            time.sleep(0.05)
        assert {e.worker_id for e in second.events_of(EventKind.STARTED)} == {"local-1"}
        assert JobState.QUEUED in {second.store.state_by_id(job.job_id) for job in more}
        # The operator lifts it (from another process: the CLI on the node's data directory); the
        # running scheduler gives it the waiting job on its next round.
        lifted = CliRunner().invoke(main, ["provers", "lift", "local-0", "--data-dir", str(tmp_path)])
        assert lifted.exit_code == 0, lifted.output
        step_until(second, lambda s: "local-0" in {e.worker_id for e in s.events_of(EventKind.STARTED)})
        step_until(second, lambda s: bool(s.quarantined))  # still cheating: quarantined again
        assert second.quarantined == {"local-0"}
