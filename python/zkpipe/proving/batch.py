"""The batch level (ADR 29): a batch's data proof, its join with the batch's segments, folds of joins.

A data proof shows that the bytes L1 hashed chain to the segments' data chain and computes L1's
accumulated input hash over them; the join verifies it together with the batch's segment aggregate
and requires one data chain, one queue range and one chain id. Joins of consecutive batches fold
into one proof whose statement (`BatchStatement`) L1 can compute from its storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from zkpipe import native
from zkpipe.errors import InvalidInput, InvalidProof
from zkpipe.proving.proof import Proof
from zkpipe.proving.prover import compute_balanced_fold, default_circuit_cache
from zkpipe.proving.statement import BatchStatement, Statement
from zkpipe.spec import SEGMENT_SIZES, ChainId, compute_batch_input_hash

MIN_DATA_BLOCKS = 2
"""A data circuit hashes at least two SHA-256 blocks (a batch header is 68 bytes)."""


def compute_data_blocks(max_batch_bytes: int) -> int:
    """The fewest SHA-256 blocks whose data circuit proves every batch of at most `max_batch_bytes`."""
    if max_batch_bytes < 0:
        raise InvalidInput("a batch size cannot be negative")
    blocks = max(MIN_DATA_BLOCKS, (max_batch_bytes + 9 + 63) // 64)
    while native.data_hash_capacity(blocks) < max_batch_bytes:
        blocks += 1
    return blocks


def compute_batch_statement(segments: Statement, acc_in: bytes, data: bytes) -> BatchStatement:
    """The statement the join of a batch must have: its segments' (spec) statement, and L1's
    accumulated input hash before it (`acc_in`) and after its posted `data`."""
    acc_out = compute_batch_input_hash(acc_in, data, segments.chain_id)
    return BatchStatement.of_join(segments, acc_in, acc_out)


@dataclass(frozen=True, slots=True)
class BatchProof:
    """A batch-level proof: a (normalized) join of one batch, or an aggregate of several."""

    first: int
    last: int
    """The batch numbers covered."""
    statement: BatchStatement
    data: bytes

    @property
    def is_aggregate(self) -> bool:
        """Whether it covers more than one batch (an aggregate proof)."""
        return self.last > self.first


class BatchProver:
    """Data proofs, joins and batch-level folds for segments of `k` and data circuits of `blocks`."""

    def __init__(self, k: int, blocks: int, *, threads: int = 1, cache_dir: str | Path | None = None) -> None:
        if k not in SEGMENT_SIZES:
            raise InvalidInput(f"segment size {k} is not one of {SEGMENT_SIZES}")
        if blocks < MIN_DATA_BLOCKS:
            raise InvalidInput(f"a data circuit needs at least {MIN_DATA_BLOCKS} blocks, not {blocks}")
        self.k = k
        self.blocks = blocks
        self.threads = threads
        self.cache_dir = default_circuit_cache() if cache_dir is None else Path(cache_dir)

    def prove_data(self, data: bytes, segments: Statement, acc_in: bytes) -> bytes:
        """The data proof of batch `data` (as posted) from the segments' data chain start and L1's
        hash before it; WrongLength if it exceeds the capacity, ProvingFailed if it is not a batch."""
        return native.prove_batch_data(
            self.k,
            self.blocks,
            data,
            data_in=segments.data_in,
            acc_in=acc_in,
            chain_id=ChainId(segments.chain_id),
            threads=self.threads,
            cache_dir=self.cache_dir,
        )

    def join(self, number: int, segments: Proof, data_proof: bytes) -> BatchProof:
        """Joins batch `number`'s segments proof with its data proof; ProvingFailed if they disagree."""
        if segments.segment_size != self.k:
            raise InvalidProof(f"a k={segments.segment_size} proof cannot join k={self.k} circuits")
        proof = native.join_batch(
            self.k,
            self.blocks,
            segments.data,
            segments.is_aggregate,
            data_proof,
            threads=self.threads,
            cache_dir=self.cache_dir,
        )
        return BatchProof(number, number, self._statement(proof, is_aggregate=False), proof)

    def aggregate(self, left: BatchProof, right: BatchProof) -> BatchProof:
        """One proof of two consecutive batch-level proofs; InvalidProof if they do not follow."""
        if right.first != left.last + 1 or not left.statement.is_followed_by(right.statement):
            raise InvalidProof("the right batch proof does not start where the left one ends")
        proof = native.aggregate_batches(
            self.k,
            self.blocks,
            left.data,
            left.is_aggregate,
            right.data,
            right.is_aggregate,
            threads=self.threads,
            cache_dir=self.cache_dir,
        )
        return BatchProof(left.first, right.last, self._statement(proof, is_aggregate=True), proof)

    def aggregate_all(self, proofs: Sequence[BatchProof]) -> BatchProof:
        """Folds consecutive batch-level proofs, in order, into one (a balanced tree)."""
        return compute_balanced_fold(proofs, self.aggregate)

    def verify(self, proof: BatchProof) -> BatchStatement:
        """Verifies a batch-level proof; InvalidProof unless it verifies with its recorded statement."""
        statement = self._statement(proof.data, is_aggregate=proof.is_aggregate)
        if statement != proof.statement:
            raise InvalidProof("the proof's public inputs differ from its recorded statement")
        return statement

    def _statement(self, proof: bytes, *, is_aggregate: bool) -> BatchStatement:
        return BatchStatement.from_elements(
            native.verify_batch_proof(self.k, self.blocks, proof, is_aggregate, cache_dir=self.cache_dir)
        )
