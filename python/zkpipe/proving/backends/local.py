"""The local backend: a pool of warm prover processes on this machine, replaced when they die."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from zkpipe.errors import InvalidInput
from zkpipe.proving.backends.base import JobHandle, ProofResult, WorkerInfo, WorkerLost
from zkpipe.proving.backends.worker import HONEST, ProverWorker, WorkerFaults, WorkError, error_from_work
from zkpipe.proving.jobs import Job

log = logging.getLogger("zkpipe.proving.local")

MAX_RESTARTS = 100
"""Replacements per worker slot before the slot is given up."""
MAX_START_FAILURES = 3
"""Consecutive deaths before ready (a worker that cannot even start) before the slot is given up."""


def _worker_main(
    conn: Connection, threads: int, cache_dir: str | None, preload: Sequence[int], faults: WorkerFaults
) -> None:
    """A worker process: load circuits, say ready, then prove jobs until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when workers stop
    worker = ProverWorker(threads=threads, cache_dir=cache_dir, preload=preload, faults=faults)
    conn.send(("ready", os.getpid(), round(worker.setup_seconds, 3)))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        job_id, job = message
        conn.send(("done", job_id, worker.run(job)))


@dataclass(eq=False)
class _Slot:
    worker_id: str
    faults: WorkerFaults
    process: BaseProcess
    conn: Connection
    ready: bool = False
    handle: JobHandle | None = None
    restarts: int = 0
    start_failures: int = 0
    dying: bool = False  # killed on purpose, about to be replaced
    given_up: bool = False

    @property
    def is_idle(self) -> bool:
        """Ready for a job and running none."""
        return self.ready and self.handle is None and not self.dying and not self.given_up


class LocalBackend:
    """`workers` warm prover processes, each proving with `threads` threads (0 = every core).

    Circuits for the sizes in `preload` are loaded once per process at start. `faults` injects
    faults into chosen workers (by slot number), for tests and drills.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        threads: int = 1,
        cache_dir: str | Path | None = None,
        preload: Sequence[int] = (8,),
        faults: Mapping[int, WorkerFaults] | None = None,
    ) -> None:
        count = (os.cpu_count() or 1) if workers is None else workers
        if count < 1:
            raise InvalidInput("a local backend needs at least one worker")
        self.threads = threads
        self.cache_dir = None if cache_dir is None else str(cache_dir)
        self.preload = tuple(preload)
        self._context = multiprocessing.get_context("spawn")  # no fork: the parent has native threads
        self._lock = threading.RLock()
        self._closed = False
        faults = faults or {}
        self._slots = [self._spawn(f"local-{i}", faults.get(i, HONEST)) for i in range(count)]
        self._monitor = threading.Thread(target=self._watch, name="zkpipe-local-backend", daemon=True)
        self._monitor.start()

    def _spawn(
        self, worker_id: str, faults: WorkerFaults, restarts: int = 0, start_failures: int = 0
    ) -> _Slot:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main,
            args=(child, self.threads, self.cache_dir, self.preload, faults),
            name=f"zkpipe-prover-{worker_id}",
            daemon=True,
        )
        process.start()
        child.close()
        return _Slot(worker_id, faults, process, parent, restarts=restarts, start_failures=start_failures)

    # -- the protocol -------------------------------------------------------

    def submit(self, job: Job, worker_id: str) -> JobHandle:
        """Starts `job` on the idle, ready worker `worker_id`."""
        with self._lock:
            slot = self._slot(worker_id)
            if not slot.is_idle:
                raise InvalidInput(f"worker {worker_id} is not idle")
            handle = JobHandle(job.job_id, worker_id, Future(), time.monotonic())
            handle.future.set_running_or_notify_cancel()
            try:
                slot.conn.send((job.job_id, job))
            except OSError:
                handle.future.set_exception(WorkerLost(f"worker {worker_id} is gone"))
                return handle
            slot.handle = handle
            return handle

    def cancel(self, handle: JobHandle) -> None:
        """Kills the worker running `handle` (a native proof cannot be interrupted); it is replaced."""
        with self._lock:
            slot = self._slot(handle.worker_id)
            if slot.handle is not handle:
                return
            slot.handle = None
            slot.dying = True
            slot.process.kill()
            _fail(handle, WorkerLost(f"job {handle.job_id} cancelled on {handle.worker_id}"))

    def workers(self) -> list[WorkerInfo]:
        """Every worker slot, with readiness and current job."""
        with self._lock:
            return [
                WorkerInfo(
                    s.worker_id,
                    s.ready and not s.dying and not s.given_up,
                    None if s.handle is None else s.handle.job_id,
                    s.process.pid,
                )
                for s in self._slots
            ]

    def close(self) -> None:
        """Stops every worker process (running jobs fail with WorkerLost)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            slots = list(self._slots)
        for slot in slots:
            with contextlib.suppress(OSError):
                slot.conn.send(None)
        deadline = time.monotonic() + 5
        for slot in slots:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join(5)
            if slot.handle is not None:
                _fail(slot.handle, WorkerLost("backend closed"))
            slot.conn.close()
        self._monitor.join(5)

    # -- extras --------------------------------------------------------------

    def pid_by_worker(self, worker_id: str) -> int | None:
        """The process id of a worker (for drills that kill one)."""
        with self._lock:
            return self._slot(worker_id).process.pid

    def wait_ready(self, timeout_s: float = 60.0) -> bool:
        """Waits until every worker has loaded its circuits; whether they all did in time."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(w.ready for w in self.workers()):
                return True
            time.sleep(0.05)
        return False

    # -- internals -----------------------------------------------------------

    def _slot(self, worker_id: str) -> _Slot:
        for slot in self._slots:
            if slot.worker_id == worker_id:
                return slot
        raise InvalidInput(f"no worker {worker_id!r}")

    def _watch(self) -> None:
        """Delivers results and replaces dead workers, until closed."""
        while True:
            with self._lock:
                if self._closed:
                    return
                waitables: dict[Any, _Slot] = {}
                for slot in self._slots:
                    if not slot.given_up:
                        waitables[slot.conn] = slot
                        waitables[slot.process.sentinel] = slot
            ready = multiprocessing.connection.wait(list(waitables), timeout=0.1)
            with self._lock:
                if self._closed:
                    return
                for item in ready:
                    slot = waitables[item]
                    if not self._is_current(slot):
                        continue  # replaced or given up meanwhile
                    if item is slot.conn:
                        self._receive(slot)
                    elif not slot.process.is_alive():
                        while self._is_current(slot) and slot.conn.poll():  # a result sent before dying
                            self._receive(slot)
                        if self._is_current(slot):
                            self._replace(slot)

    def _is_current(self, slot: _Slot) -> bool:
        return not slot.given_up and any(s is slot for s in self._slots)

    def _receive(self, slot: _Slot) -> None:
        try:
            message = slot.conn.recv()
        except (EOFError, OSError):
            self._replace(slot)
            return
        if not (isinstance(message, tuple) and len(message) == 3 and message[0] in ("ready", "done")):
            # Not our protocol: the process is broken; it is killed, replaced, and its job retried.
            log.error("event=worker_protocol_error worker=%s", slot.worker_id)
            slot.process.kill()
            return
        if message[0] == "ready":
            _, pid, setup_s = message
            slot.ready = True
            log.info("event=worker_ready worker=%s pid=%s setup_s=%s", slot.worker_id, pid, setup_s)
            return
        _, job_id, outcome = message
        handle = slot.handle
        if handle is None or handle.job_id != job_id:
            return  # a result for a copy already cancelled
        slot.handle = None
        if isinstance(outcome, ProofResult):
            if not handle.future.done():
                handle.future.set_result(outcome)
        elif isinstance(outcome, WorkError):
            _fail(handle, error_from_work(outcome))
        else:
            _fail(handle, WorkerLost(f"worker {slot.worker_id} answered {type(outcome).__name__}"))

    def _replace(self, slot: _Slot) -> None:
        slot.process.join(1)
        if slot.handle is not None:
            exitcode = slot.process.exitcode
            _fail(slot.handle, WorkerLost(f"worker {slot.worker_id} died (exit code {exitcode})"))
        slot.conn.close()
        index = self._slots.index(slot)
        start_failures = 0 if slot.ready else slot.start_failures + 1
        if slot.restarts >= MAX_RESTARTS or start_failures >= MAX_START_FAILURES:
            slot.given_up = True
            log.error("event=worker_given_up worker=%s restarts=%s", slot.worker_id, slot.restarts)
            return
        log.warning("event=worker_replaced worker=%s exitcode=%s", slot.worker_id, slot.process.exitcode)
        self._slots[index] = self._spawn(slot.worker_id, slot.faults, slot.restarts + 1, start_failures)


def _fail(handle: JobHandle, err: BaseException) -> None:
    if not handle.future.done():
        handle.future.set_exception(err)
