"""Proving: segment proofs from spec witnesses, recursive aggregation, proof artifacts."""

from zkpipe.proving.proof import Proof, ProofKind, Provenance
from zkpipe.proving.prover import Prover
from zkpipe.proving.statement import Statement

__all__ = ["Proof", "ProofKind", "Provenance", "Prover", "Statement"]
