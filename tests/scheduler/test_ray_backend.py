"""The ray backend on a local Ray cluster (2 CPUs): a batch proven and aggregated through actors."""

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


def test_ray_actors_prove_and_aggregate_a_batch_despite_a_killed_actor(
    local_ray: None, tmp_path: Path
) -> None:
    from zkpipe.proving.backends.ray import RayBackend

    state, (result,) = make_batches(1)
    jobs = Segmenter(K).jobs(result)
    started = time.monotonic()
    backend = RayBackend(2, threads=1)
    try:
        assert backend.wait_ready(120)
        ready_s = time.monotonic() - started
        scheduler = Scheduler(backend, JobStore(tmp_path / "jobs.db"), SchedulerConfig(straggler_factor=None))
        root = scheduler.submit_fold(jobs)
        victim = backend.pid_by_worker("ray-0")
        deadline = time.monotonic() + 60
        while not scheduler.events_of(EventKind.STARTED) and time.monotonic() < deadline:
            scheduler.step()
            time.sleep(0.05)
        time.sleep(1.0)  # mid-proof
        assert victim is not None
        os.kill(victim, signal.SIGKILL)  # Ray restarts the actor; its job is redone
        proof = scheduler.wait([root], 150)[root]
    finally:
        backend.close()
    statement = Prover(K).verify(proof)
    assert statement.root_before == state.tree.root
    assert statement.root_after == result.state.tree.root
    assert statement.commitments_out == result.commitments
    workers = {e.worker_id for e in scheduler.events_of(EventKind.ACCEPTED)}
    assert workers <= {"ray-0", "ray-1"} and len(scheduler.events_of(EventKind.ACCEPTED)) == 3
    lost = [e for e in scheduler.events_of(EventKind.ATTEMPT_FAILED) if e.worker_id == "ray-0"]
    assert len(lost) == 1 and "WORKER_LOST" in lost[0].detail
    print(
        f"ray: actors ready in {ready_s:.1f} s, batch proven in {time.monotonic() - started - ready_s:.1f} s"
    )
