"""The ray backend on a local Ray cluster (2 CPUs): two batches proven through actors, then one
proof of both, while an actor is killed mid-proof."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scheduler.helpers import K, make_batches
from zkpipe.proving import Prover
from zkpipe.proving.jobs import JobStore
from zkpipe.proving.scheduler import EventKind, Scheduler, SchedulerConfig
from zkpipe.proving.segmenter import Segmenter

ray = pytest.importorskip("ray")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def test_ray_actors_prove_two_batches_and_fold_them_despite_a_killed_actor(
    local_ray: None, tmp_path: Path
) -> None:
    from zkpipe.proving.backends.ray import RayBackend

    genesis, results = make_batches(2, txs=8)  # one segment each: the batch proof is the segment's
    started = time.monotonic()
    backend = RayBackend(2, threads=1)
    try:
        assert backend.wait_ready(120)
        ready_s = time.monotonic() - started
        scheduler = Scheduler(backend, JobStore(tmp_path / "jobs.db"), SchedulerConfig(straggler_factor=None))
        batch_roots = [scheduler.submit_fold(Segmenter(K).jobs(result)) for result in results]
        victim = backend.pid_by_worker("ray-0")
        deadline = time.monotonic() + 60
        while not scheduler.events_of(EventKind.STARTED) and time.monotonic() < deadline:
            scheduler.step()
            time.sleep(0.05)
        time.sleep(1.0)  # mid-proof
        assert victim is not None
        os.kill(victim, signal.SIGKILL)  # Ray restarts the actor; its job is redone
        batch_proofs = scheduler.wait(batch_roots, 150)
        both = scheduler.prove([scheduler.job_by_id(root) for root in batch_roots], timeout_s=120)
    finally:
        backend.close()
    for result, root in zip(results, batch_roots, strict=True):
        assert batch_proofs[root].statement.root_after == result.state.tree.root
    statement = Prover(K).verify(both)
    assert statement.root_before == genesis.tree.root
    assert statement.root_after == results[-1].state.tree.root
    assert statement.commitments_out == results[-1].commitments
    accepted = scheduler.events_of(EventKind.ACCEPTED)
    assert {e.worker_id for e in accepted} <= {"ray-0", "ray-1"} and len(accepted) == 3
    lost = [e for e in scheduler.events_of(EventKind.ATTEMPT_FAILED) if e.worker_id == "ray-0"]
    assert len(lost) == 1 and "WORKER_LOST" in lost[0].detail
    proven_s = time.monotonic() - started - ready_s
    print(f"ray: actors ready in {ready_s:.1f} s, two batches and their fold proven in {proven_s:.1f} s")
