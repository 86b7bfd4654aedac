"""The batch level in the node (`proving.bind_to_l1`, ADR 29): each batch's data proof and join are
proven by the workers, verified on receipt and checked against L1's accumulated input hash."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.node.conftest import proving_node_config
from tests.node.helpers import fund
from tests.node.test_proving_pipeline import wait_consolidated
from zkpipe.client import ZkClient
from zkpipe.node.run import BackgroundNode
from zkpipe.proving.backends.local import LocalBackend
from zkpipe.proving.backends.worker import Corruption, WorkerFaults
from zkpipe.proving.jobs import DataJob, JobKind, JobState, JobStore, JoinJob, job_from_json, job_to_json
from zkpipe.proving.proof import ProofKind
from zkpipe.proving.scheduler import EventKind, Scheduler, SchedulerConfig

pytestmark = pytest.mark.slow

DATA_BLOCKS = 26
"""The data circuit tests/proving/test_proofs.py builds (so the circuit cache is shared)."""


def test_the_node_proves_and_checks_each_batchs_data_and_join(tmp_path: Path) -> None:
    config = proving_node_config(
        tmp_path / "node",
        **{
            "proving.bind_to_l1": True,
            "proving.data_blocks": DATA_BLOCKS,
            "proving.aggregation_n": 4,
            "batch.max_bytes": 1600,
        },
    )
    background = BackgroundNode(config)
    background.start()
    client = ZkClient(background.url)
    try:
        funded = fund(background, client, 2)
        sent = client.send_transaction(funded.transfer(1, 2, amount=5)).hash
        wait_consolidated(client, [sent], timeout=900.0)
        node = background.node
        assert node is not None and node.proving is not None
        proving, rollup = node.proving, node.rollup
        scheduler = proving.scheduler
        final = rollup.last_verified_batch()
        data_jobs: list[DataJob] = []
        for number in range(1, final + 1):
            batch = proving.record.batches[number].proving
            assert batch.data_job is not None and batch.join is not None and batch.join_id is not None
            # Each batch's join was verified with the spec's statement and L1's hashes around it.
            statement = batch.join.statement
            assert batch.join.kind is ProofKind.JOIN and statement is not None
            assert statement.acc_in == rollup.acc_input_hash(number - 1)
            assert statement.acc_out == rollup.acc_input_hash(number)
            data = scheduler.batch_proof_by_id(batch.data_job.job_id)
            assert data is not None and data.kind is ProofKind.DATA
            join = scheduler.job_by_id(batch.join_id)
            assert isinstance(join, JoinJob)
            for job in (batch.data_job, join):  # the stored JSON form reads back
                assert job_from_json(job_to_json(job)) == job
            data_jobs.append(batch.data_job)
        work = proving.job_work_seconds()
        assert len(work["data"]) >= final and len(work["join"]) >= final
        print(f"bind: {final} batches, data job s {work['data']}, join job s {work['join']}")
    finally:
        client.close()
        background.stop()

    # A worker whose data proof is of the batch's data one byte off is refused: the proof is
    # rejected, the worker quarantined and the job queued again for another worker.
    backend = LocalBackend(
        1, cache_dir=None, preload=(8,), faults={0: WorkerFaults(corrupt=Corruption.DATA_BYTE)}
    )
    try:
        faulty = Scheduler(backend, JobStore(tmp_path / "faulty.db"), SchedulerConfig(straggler_factor=None))
        job = data_jobs[0]
        faulty.submit(job)
        deadline = time.monotonic() + 600
        ended = (EventKind.REJECTED, EventKind.ACCEPTED)
        while not any(e.kind in ended for e in faulty.events) and time.monotonic() < deadline:
            faulty.step()
            time.sleep(0.1)
        (rejected,) = faulty.events_of(EventKind.REJECTED)
        assert rejected.job_id == job.job_id and "is not of job" in rejected.detail
        assert faulty.quarantined == {"local-0"}
        assert faulty.state_by_id(job.job_id) is JobState.QUEUED
        assert faulty.network()[JobKind.DATA].jobs == 0
    finally:
        backend.close()
