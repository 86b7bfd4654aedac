"""Proves segments the spec applied, aggregates proofs two at a time, and verifies any proof."""

from __future__ import annotations

import dataclasses
import platform
import resource
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from zkpipe import native
from zkpipe.cache import cache_root
from zkpipe.errors import InvalidInput, InvalidProof
from zkpipe.proving.proof import Proof, ProofKind, Provenance
from zkpipe.proving.statement import Statement
from zkpipe.proving.witness import compute_segment_witness
from zkpipe.spec import ACCOUNT_TREE_DEPTH, SEGMENT_SIZES, SegmentWitness

PARAMETERS = {
    "config": "plonky2 standard_recursion_config, PoseidonGoldilocksConfig, D=2",
    "tree_depth": ACCOUNT_TREE_DEPTH,
    "statement": "36 elements (statement.rs)",
}


def default_circuit_cache() -> Path:
    """Where circuit data is cached: <cache root>/circuits."""
    return cache_root() / "circuits"


_T = TypeVar("_T")


def compute_balanced_fold(items: Sequence[_T], combine: Callable[[_T, _T], _T]) -> _T:
    """Folds adjacent items, in order, into one: pairwise, level by level (a balanced tree)."""
    if not items:
        raise InvalidInput("nothing to aggregate")
    level = list(items)
    while len(level) > 1:
        paired = [combine(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = paired + ([level[-1]] if len(level) % 2 else [])
    return level[0]


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Prover:
    """Proves, aggregates and verifies for one segment size `k`, with `threads` threads per proof.

    `threads=1` suits many single-threaded provers (horizontal scaling); `threads=0` uses every core.
    """

    def __init__(self, k: int, *, threads: int = 1, cache_dir: str | Path | None = None) -> None:
        if k not in SEGMENT_SIZES:
            raise InvalidInput(f"segment size {k} is not one of {SEGMENT_SIZES}")
        if threads < 0:
            raise InvalidInput("threads must be >= 0")
        self.k = k
        self.threads = threads
        self.cache_dir = default_circuit_cache() if cache_dir is None else Path(cache_dir)
        self._setup: native.ProvingSetup | None = None

    @property
    def setup(self) -> native.ProvingSetup:
        """The circuits, built or loaded on first use."""
        if self._setup is None:
            self._setup = native.proving_setup(self.k, cache_dir=self.cache_dir)
        return self._setup

    def _provenance(self, kind: ProofKind, started: float, segments: int) -> Provenance:
        setup = self.setup
        digest = setup.aggregator_digest if kind is ProofKind.AGGREGATE else setup.normalizer_digest
        return Provenance(
            circuit_digest=digest,
            segment_size=self.k,
            versions=native.library_versions(),
            parameters=PARAMETERS,
            threads=self.threads,
            wall_seconds=round(time.perf_counter() - started, 4),
            peak_rss_mib=round(_peak_rss_mib(), 1),
            host=platform.node(),
            created_at=time.time(),
            segments=segments,
        )

    def _statement(self, data: bytes, kind: ProofKind) -> Statement:
        is_aggregate = kind is ProofKind.AGGREGATE
        return Statement.from_elements(
            native.verify_proof(self.k, data, is_aggregate, cache_dir=self.cache_dir)
        )

    def prove_segment(self, segment: SegmentWitness) -> Proof:
        """Proves a segment of at most k transactions; ProvingFailed if the witness breaks a rule."""
        if len(segment.txs) > self.k:
            raise InvalidInput(f"{len(segment.txs)} transactions do not fit a segment of {self.k}")
        witness = compute_segment_witness(segment)
        _ = self.setup
        started = time.perf_counter()
        data, segment_s, normalize_s = native.prove_segment_timed(
            self.k, witness, threads=self.threads, cache_dir=self.cache_dir
        )
        provenance = dataclasses.replace(
            self._provenance(ProofKind.SEGMENT, started, 1),
            extra={"segment_seconds": round(segment_s, 4), "normalize_seconds": round(normalize_s, 4)},
        )
        return Proof(ProofKind.SEGMENT, self.k, self._statement(data, ProofKind.SEGMENT), data, provenance)

    def aggregate(self, left: Proof, right: Proof) -> Proof:
        """One proof of two adjacent proofs; InvalidProof if they do not join or do not verify."""
        for child in (left, right):
            if child.segment_size != self.k:
                raise InvalidProof(f"a k={child.segment_size} proof cannot join a k={self.k} aggregate")
        if not left.statement.is_followed_by(right.statement):
            raise InvalidProof("the right proof does not start where the left one ends")
        _ = self.setup
        started = time.perf_counter()
        data = native.aggregate_proofs(
            self.k,
            left.data,
            left.is_aggregate,
            right.data,
            right.is_aggregate,
            threads=self.threads,
            cache_dir=self.cache_dir,
        )
        segments = left.provenance.segments + right.provenance.segments
        provenance = self._provenance(ProofKind.AGGREGATE, started, segments)
        return Proof(
            ProofKind.AGGREGATE, self.k, self._statement(data, ProofKind.AGGREGATE), data, provenance
        )

    def aggregate_all(self, proofs: Sequence[Proof]) -> Proof:
        """Folds adjacent proofs, in order, into one: pairwise, level by level (a balanced tree)."""
        return compute_balanced_fold(proofs, self.aggregate)

    def verify(self, proof: Proof) -> Statement:
        """Verifies a proof against the circuits for k; InvalidProof unless it verifies with its statement."""
        if proof.segment_size != self.k:
            raise InvalidProof(f"proof is for k={proof.segment_size}, this prover is for k={self.k}")
        statement = self._statement(proof.data, proof.kind)
        if statement != proof.statement:
            raise InvalidProof("the proof's public inputs differ from its recorded statement")
        return statement
