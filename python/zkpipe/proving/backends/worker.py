"""The prover worker both backends run: warm circuits per k, one job at a time, optional faults."""

from __future__ import annotations

import os
import platform
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from zkpipe import native
from zkpipe.errors import ProvingFailed, Severity, ZkpipeError
from zkpipe.proving.backends.base import ProofResult
from zkpipe.proving.jobs import AggregateJob, DataJob, Job, JoinJob, SegmentJob
from zkpipe.proving.prover import default_circuit_cache
from zkpipe.spec import BATCH_HEADER_BYTES

MAX_DELAY_SECONDS = 600.0
"""Upper bound of an injected delay, so a faulty worker cannot hang a test forever."""


class Corruption(StrEnum):
    """How a deliberately faulty worker corrupts its results (fault injection for tests and drills)."""

    NONE = "none"
    GARBAGE = "garbage"  # random bytes of a proof's length, without proving at all (a lazy cheater)
    TAMPER = "tamper"  # a real proof with one byte flipped
    REPLAY = "replay"  # a real, valid proof of the worker's previous job (wrong statement)
    DATA_BYTE = "data_byte"  # a real data proof of the batch data with one byte changed (other jobs honest)


@dataclass(frozen=True, slots=True)
class WorkerFaults:
    """Explicit fault injection for a real worker: a delay before each job, a corruption of results."""

    delay_seconds: float = 0.0
    corrupt: Corruption = Corruption.NONE

    @property
    def is_honest(self) -> bool:
        """Whether no fault is injected."""
        return self.delay_seconds == 0 and self.corrupt is Corruption.NONE


HONEST = WorkerFaults()

PROOF_BYTES = 135_552
"""Size of every segment and aggregate proof (docs/proving.md), the size of a garbage answer."""


@dataclass(frozen=True, slots=True)
class WorkError:
    """A job the worker could not prove: the typed error's code, severity and message."""

    code: str
    severity: str
    message: str


def error_from_work(err: WorkError) -> ZkpipeError:
    """The typed error a worker reported, rebuilt on this side (code and severity kept)."""
    rebuilt = ProvingFailed(err.message, code=err.code)
    rebuilt.severity = Severity(err.severity)
    return rebuilt


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class ProverWorker:
    """Proves jobs with circuits loaded once per k (the warm part of a worker process or actor)."""

    def __init__(
        self,
        *,
        threads: int = 1,
        cache_dir: str | Path | None = None,
        preload: Sequence[int] = (),
        faults: WorkerFaults = HONEST,
    ) -> None:
        self.threads = threads
        self.cache_dir = default_circuit_cache() if cache_dir is None else Path(cache_dir)
        self.faults = faults
        self._loaded: set[int] = set()
        self._previous: bytes | None = None
        self.setup_seconds = 0.0
        for k in preload:
            self._load(k)

    def _load(self, k: int) -> None:
        if k not in self._loaded:
            started = time.perf_counter()
            native.proving_setup(k, cache_dir=self.cache_dir)
            self.setup_seconds += time.perf_counter() - started
            self._loaded.add(k)

    def prove(self, job: Job) -> ProofResult:
        """Proves one job (raises the native error if it cannot)."""
        self._load(job.k)
        if self.faults.delay_seconds > 0:
            time.sleep(min(self.faults.delay_seconds, MAX_DELAY_SECONDS))
        started, cpu = time.perf_counter(), _cpu_seconds()
        extra: dict[str, object] = {}
        if self.faults.corrupt is Corruption.GARBAGE:
            data = os.urandom(PROOF_BYTES)
        elif isinstance(job, SegmentJob):
            data, segment_s, normalize_s = native.prove_segment_timed(
                job.k, job.witness, threads=self.threads, cache_dir=self.cache_dir
            )
            extra = {"segment_seconds": round(segment_s, 4), "normalize_seconds": round(normalize_s, 4)}
        elif isinstance(job, DataJob):
            data = self._prove_data(job)
        elif isinstance(job, JoinJob):
            data = native.join_batch(
                job.k,
                job.blocks,
                job.segments_proof.data,
                job.segments_proof.is_aggregate,
                job.data_proof.data,
                threads=self.threads,
                cache_dir=self.cache_dir,
            )
        else:
            data = self._aggregate(job)
        wall = time.perf_counter() - started
        extra["cpu_seconds"] = round(_cpu_seconds() - cpu, 4)  # below wall: the job waited for a core
        data = self._corrupt(data)
        return ProofResult(
            data=data,
            wall_seconds=round(wall, 4),
            threads=self.threads,
            host=platform.node(),
            pid=os.getpid(),
            peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            extra=extra,
        )

    def _prove_data(self, job: DataJob) -> bytes:
        posted = job.data
        if self.faults.corrupt is Corruption.DATA_BYTE and len(posted) > BATCH_HEADER_BYTES:
            changed = bytearray(posted)
            changed[BATCH_HEADER_BYTES + 5] ^= 0x01  # a byte of the first transaction: still a batch
            posted = bytes(changed)
        return native.prove_batch_data(
            job.k,
            job.blocks,
            posted,
            data_in=job.batch_segments.data_in,
            acc_in=job.acc_in,
            chain_id=job.batch_segments.chain_id,
            threads=self.threads,
            cache_dir=self.cache_dir,
        )

    def _aggregate(self, job: AggregateJob) -> bytes:
        return native.aggregate_proofs(
            job.k,
            job.left.data,
            job.left.is_aggregate,
            job.right.data,
            job.right.is_aggregate,
            threads=self.threads,
            cache_dir=self.cache_dir,
        )

    def _corrupt(self, data: bytes) -> bytes:
        corrupt = self.faults.corrupt
        if corrupt is Corruption.TAMPER:
            flipped = bytearray(data)
            flipped[len(flipped) // 2] ^= 0x01
            return bytes(flipped)
        if corrupt is Corruption.REPLAY:
            # The first proof is honest; every later one is that first proof again.
            if self._previous is None:
                self._previous = data
            return self._previous
        return data

    def run(self, job: Job) -> ProofResult | WorkError:
        """Proves one job; a typed error becomes a WorkError (it crosses process boundaries)."""
        try:
            return self.prove(job)
        except ZkpipeError as err:
            return WorkError(err.code, str(err.severity), err.message)
