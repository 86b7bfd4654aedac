"""Proving jobs: a segment to prove, two adjacent proofs to aggregate, and (batch level, ADR 29) a
batch's data proof and its join, with stable ids."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from zkpipe.errors import InvalidInput, InvalidProof
from zkpipe.native import DataHashStatement, SegmentWitnessTuple
from zkpipe.proving.proof import BatchLevelProof, Proof
from zkpipe.proving.statement import BatchStatement, Statement
from zkpipe.proving.witness import compute_segment_witness
from zkpipe.spec import SegmentWitness, compute_batch_input_hash

Position = tuple[int, int]
"""Where a segment sits in the chain: (batch number, segment index in the batch)."""


class JobState(StrEnum):
    """Lifecycle of a job in the store."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # a verified proof is stored
    FAILED = "failed"  # gave up after too many failed attempts


class JobKind(StrEnum):
    """A segment proof, or an aggregation of two adjacent proofs."""

    SEGMENT = "segment"
    AGGREGATE = "aggregate"
    DATA = "data"
    JOIN = "join"


def compute_segment_statement(segment: SegmentWitness) -> Statement:
    """The statement a proof of `segment` must have (what the spec computed)."""
    return Statement.of_segment(segment)


def compute_joined_statement(left: Statement, right: Statement) -> Statement:
    """The statement of the aggregate of two adjacent statements; InvalidProof if they do not join."""
    return left.joined(right)


@dataclass(frozen=True, slots=True)
class SegmentJob:
    """Prove one segment: batch number, segment index, segment size, native witness, expected statement."""

    batch: int
    index: int
    k: int
    witness: SegmentWitnessTuple
    expected: Statement

    kind = JobKind.SEGMENT

    @classmethod
    def from_segment(cls, batch: int, index: int, k: int, segment: SegmentWitness) -> SegmentJob:
        """The job for a segment the spec applied."""
        if len(segment.txs) > k:
            raise InvalidInput(f"{len(segment.txs)} transactions do not fit a segment of {k}")
        return cls(batch, index, k, compute_segment_witness(segment), compute_segment_statement(segment))

    @property
    def job_id(self) -> str:
        """Stable id: segment size, batch and index."""
        return f"k{self.k}/b{self.batch}/s{self.index}"

    @property
    def span(self) -> tuple[Position, Position]:
        """First and last segment covered."""
        return (self.batch, self.index), (self.batch, self.index)

    @property
    def segments(self) -> int:
        """Number of segments covered."""
        return 1


@dataclass(frozen=True, slots=True)
class AggregateJob:
    """Aggregate two adjacent verified proofs (left then right) into one."""

    left_id: str
    right_id: str
    left: Proof
    right: Proof
    left_span: tuple[Position, Position]
    right_span: tuple[Position, Position]
    segments: int
    """Number of segments covered by both children."""

    kind = JobKind.AGGREGATE

    @classmethod
    def of(cls, left: tuple[Job, Proof], right: tuple[Job, Proof]) -> AggregateJob:
        """The job joining two (job, accepted proof) pairs; InvalidProof if they are not adjacent."""
        (left_job, left_proof), (right_job, right_proof) = left, right
        if left_proof.segment_size != right_proof.segment_size:
            raise InvalidProof("children of different segment sizes cannot be aggregated")
        compute_joined_statement(left_proof.statement, right_proof.statement)
        return cls(
            left_job.job_id,
            right_job.job_id,
            left_proof,
            right_proof,
            left_job.span,
            right_job.span,
            left_job.segments + right_job.segments,
        )

    @property
    def job_id(self) -> str:
        """Stable id: derived from the two children's ids."""
        return f"agg({self.left_id}+{self.right_id})"

    @property
    def k(self) -> int:
        """Segment size of the circuits."""
        return self.left.segment_size

    @property
    def batch(self) -> int:
        """Batch of the first segment covered (the queue's order)."""
        return self.left_span[0][0]

    @property
    def span(self) -> tuple[Position, Position]:
        """First and last segment covered."""
        return self.left_span[0], self.right_span[1]

    @property
    def expected(self) -> Statement:
        """The statement the aggregate must have."""
        return compute_joined_statement(self.left.statement, self.right.statement)


@dataclass(frozen=True, slots=True)
class DataJob:
    """Prove batch `batch`'s data proof: its posted `data` hashes to L1's values from `acc_in` and
    chains to the data chain of its segments (`batch_segments`: the spec's statement of the whole batch)."""

    batch: int
    k: int
    blocks: int
    data: bytes
    batch_segments: Statement
    acc_in: bytes

    kind = JobKind.DATA

    @property
    def job_id(self) -> str:
        """Stable id: segment size, batch, data-circuit size."""
        return f"k{self.k}/b{self.batch}/data{self.blocks}"

    @property
    def span(self) -> tuple[Position, Position]:
        """The batch (no segment of it)."""
        return (self.batch, -1), (self.batch, -1)

    @property
    def segments(self) -> int:
        """Segment proofs covered: none."""
        return 0

    @property
    def expected(self) -> DataHashStatement:
        """The statement its proof must have: L1's hashes of the data and the segments' data chain."""
        s = self.batch_segments
        return DataHashStatement(
            len(self.data),
            hashlib.sha256(self.data).digest(),
            s.data_in,
            s.data_out,
            self.acc_in,
            compute_batch_input_hash(self.acc_in, self.data, s.chain_id),
            s.chain_id,
            s.queue_in,
            s.queue_out,
        )


@dataclass(frozen=True, slots=True)
class JoinJob:
    """Join batch `batch`'s verified segments proof (its aggregate, or its one segment proof) with
    its verified data proof; the result is the batch's batch-level leaf (BatchStatement)."""

    batch: int
    blocks: int
    segments_proof: Proof
    data_proof: BatchLevelProof
    acc_in: bytes
    data: bytes

    kind = JobKind.JOIN

    @property
    def k(self) -> int:
        """Segment size of the circuits."""
        return self.segments_proof.segment_size

    @property
    def job_id(self) -> str:
        """Stable id: segment size, batch, data-circuit size."""
        return f"k{self.k}/b{self.batch}/join{self.blocks}"

    @property
    def span(self) -> tuple[Position, Position]:
        """The batch (no segment of it)."""
        return (self.batch, -1), (self.batch, -1)

    @property
    def segments(self) -> int:
        """Segment proofs covered: those of the batch's segments proof."""
        return self.segments_proof.provenance.segments

    @property
    def expected(self) -> BatchStatement:
        """The statement the join must have: its segments' and L1's hashes around the batch data."""
        s = self.segments_proof.statement
        return BatchStatement.of_join(
            s, self.acc_in, compute_batch_input_hash(self.acc_in, self.data, s.chain_id)
        )


Job = SegmentJob | AggregateJob | DataJob | JoinJob
