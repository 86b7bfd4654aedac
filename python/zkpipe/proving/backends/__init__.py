"""Prover backends: where proving jobs run (warm local processes, or Ray actors)."""

from zkpipe.proving.backends.base import (
    JobHandle,
    ProofResult,
    ProverBackend,
    WorkerInfo,
    WorkerLost,
    compute_wire_bytes,
)

__all__ = ["JobHandle", "ProofResult", "ProverBackend", "WorkerInfo", "WorkerLost", "compute_wire_bytes"]
