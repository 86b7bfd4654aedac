"""Prover backends: where proving jobs run (warm local processes, or Ray actors)."""

from zkpipe.proving.backends.base import JobHandle, ProofResult, ProverBackend, WorkerInfo, WorkerLost

__all__ = ["JobHandle", "ProofResult", "ProverBackend", "WorkerInfo", "WorkerLost"]
