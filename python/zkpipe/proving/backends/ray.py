"""The ray backend: the same prover workers as Ray actors on an existing (or local) Ray cluster.

On a cluster whose prover hosts advertise the custom resource `zkpipe_prover` (one unit per prover
slot: `ray start --resources='{"zkpipe_prover": 2}'`), each actor needs one unit, so actors run on
those hosts only (not on the head, which the node shares); without it, anywhere Ray has CPUs.
"""

from __future__ import annotations

import logging
import os
import platform
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import RayError

from zkpipe.errors import InvalidInput
from zkpipe.proving.backends.base import JobHandle, ProofResult, WorkerInfo, WorkerLost
from zkpipe.proving.backends.worker import HONEST, ProverWorker, WorkerFaults, WorkError, error_from_work
from zkpipe.proving.jobs import Job

log = logging.getLogger("zkpipe.proving.ray")

PROVER_RESOURCE = "zkpipe_prover"
"""The custom resource a host advertises per prover slot; each actor needs one unit when present."""


class ProverActor:
    """A warm prover worker as a Ray actor (circuits loaded once per actor process)."""

    def __init__(
        self, threads: int, cache_dir: str | None, preload: Sequence[int], faults: WorkerFaults
    ) -> None:
        self.worker = ProverWorker(threads=threads, cache_dir=cache_dir, preload=preload, faults=faults)

    def ready(self) -> tuple[int, str]:
        """The actor's process id and host (hostname/node address), once its circuits are loaded."""
        return os.getpid(), f"{platform.node()}/{ray.util.get_node_ip_address()}"  # type: ignore[no-untyped-call]

    def run(self, job: Job) -> ProofResult | WorkError:
        """Proves one job."""
        return self.worker.run(job)


@dataclass(eq=False)
class _Slot:
    worker_id: str
    actor: Any
    ready_ref: Any
    pid: int | None = None
    host: str | None = None
    handle: JobHandle | None = None


class RayBackend:
    """`workers` prover actors on the Ray cluster at `address` (None: the one already initialised,
    else a new local one), each needing `cpus_per_worker` CPUs and proving with `threads` threads.

    Actors are restarted by Ray when their process or their whole host dies (on a host with a free
    slot, or when one joins); the copy they were running fails with WorkerLost (tasks are not
    retried by Ray: the scheduler decides where a job runs next).
    """

    def __init__(
        self,
        workers: int = 2,
        *,
        address: str | None = None,
        threads: int = 1,
        cpus_per_worker: float = 1.0,
        cache_dir: str | Path | None = None,
        preload: Sequence[int] = (8,),
        faults: Mapping[int, WorkerFaults] | None = None,
    ) -> None:
        if workers < 1:
            raise InvalidInput("a ray backend needs at least one worker")
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING)
        resources = {PROVER_RESOURCE: 1.0} if PROVER_RESOURCE in ray.cluster_resources() else {}  # type: ignore[no-untyped-call]
        remote = ray.remote(
            num_cpus=cpus_per_worker, resources=resources, max_restarts=-1, max_task_retries=0
        )(ProverActor)
        cache = None if cache_dir is None else str(cache_dir)
        faults = faults or {}
        self._slots: list[_Slot] = []
        for i in range(workers):
            actor: Any = remote.remote(threads, cache, tuple(preload), faults.get(i, HONEST))
            self._slots.append(_Slot(f"ray-{i}", actor, actor.ready.remote()))
        self._closed = False

    def submit(self, job: Job, worker_id: str) -> JobHandle:
        """Starts `job` on the idle, ready actor `worker_id`."""
        slot = self._slot(worker_id)
        if slot.handle is not None and not slot.handle.future.done():
            raise InvalidInput(f"worker {worker_id} is not idle")
        handle = JobHandle(job.job_id, worker_id, Future(), time.monotonic())
        handle.future.set_running_or_notify_cancel()
        inner = slot.actor.run.remote(job).future()
        inner.add_done_callback(lambda done: _deliver(handle, done))
        slot.handle = handle
        return handle

    def cancel(self, handle: JobHandle) -> None:
        """Kills the actor running `handle`; Ray restarts it (circuits reload from the cache)."""
        slot = self._slot(handle.worker_id)
        if slot.handle is not handle:
            return
        slot.handle = None
        ray.kill(slot.actor, no_restart=False)
        slot.ready_ref = slot.actor.ready.remote()  # resolves once the restarted actor is up
        slot.pid = slot.host = None
        _fail(handle, WorkerLost(f"job {handle.job_id} cancelled on {handle.worker_id}"))

    def workers(self) -> list[WorkerInfo]:
        """Every actor, with readiness and current job."""
        infos = []
        for slot in self._slots:
            if slot.pid is None:
                done, _ = ray.wait([slot.ready_ref], timeout=0)
                if done:
                    try:
                        pid, host = ray.get(slot.ready_ref)
                        slot.pid, slot.host = int(pid), str(host)
                    except RayError:  # died while starting: ask again (Ray restarts it)
                        slot.ready_ref = slot.actor.ready.remote()
            if slot.handle is not None and slot.handle.future.done():
                if isinstance(slot.handle.future.exception(), WorkerLost):
                    # The actor died under its job; Ray restarts it: not ready until it answers.
                    slot.pid = slot.host = None
                    slot.ready_ref = slot.actor.ready.remote()
                slot.handle = None
            job_id = None if slot.handle is None else slot.handle.job_id
            infos.append(WorkerInfo(slot.worker_id, slot.pid is not None, job_id, slot.pid, slot.host))
        return infos

    def close(self) -> None:
        """Kills every actor (and shuts down Ray if this backend started it)."""
        if self._closed:
            return
        self._closed = True
        for slot in self._slots:
            if slot.handle is not None:
                _fail(slot.handle, WorkerLost("backend closed"))
            ray.kill(slot.actor, no_restart=True)
        if self._owns_ray:
            ray.shutdown()

    def wait_ready(self, timeout_s: float = 120.0) -> bool:
        """Waits until every actor has loaded its circuits; whether they all did in time."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(w.ready for w in self.workers()):
                return True
            time.sleep(0.1)
        return False

    def pid_by_worker(self, worker_id: str) -> int | None:
        """The process id of an actor, once ready."""
        return self._slot(worker_id).pid

    def _slot(self, worker_id: str) -> _Slot:
        for slot in self._slots:
            if slot.worker_id == worker_id:
                return slot
        raise InvalidInput(f"no worker {worker_id!r}")


def _deliver(handle: JobHandle, done: Future[Any]) -> None:
    """Moves a Ray result into the handle's future, as a ProofResult or a typed error."""
    try:
        outcome = done.result()
    except Exception as err:  # the actor died or the task could not run: the copy is lost
        _fail(handle, WorkerLost(f"worker {handle.worker_id} lost: {type(err).__name__}"))
        return
    if isinstance(outcome, WorkError):
        _fail(handle, error_from_work(outcome))
    elif not handle.future.done():
        handle.future.set_result(outcome)


def _fail(handle: JobHandle, err: BaseException) -> None:
    if not handle.future.done():
        handle.future.set_exception(err)
