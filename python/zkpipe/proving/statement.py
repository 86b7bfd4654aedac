"""The public statement of every segment and aggregate proof (layout defined in the native circuits)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass, fields

from zkpipe.errors import InvalidProof
from zkpipe.native import Digest
from zkpipe.spec import ChainId, Commitments, DepositIndex, SegmentWitness, StateRoot

STATEMENT_LEN = 36
"""Field elements in a statement: eight digests, the fee total, the queue counts and the chain id."""
DIGEST_FIELDS = 8
"""The statement's leading fields are digests (four elements each); the rest are single elements."""


@dataclass(frozen=True, slots=True)
class Statement:
    """What a proof shows: the state, the three chains and the L1 queue move from `*_in` to `*_out`.

    Field order is the public-input order of `native/engine/src/circuits/statement.rs`; this is
    the one statement shared by segment and aggregate proofs, the node's check and L1.
    """

    root_before: StateRoot
    root_after: StateRoot
    data_in: Digest
    data_out: Digest
    withdrawals_in: Digest
    withdrawals_out: Digest
    deposits_in: Digest
    deposits_out: Digest
    fee_total: int
    """Fees credited to the operator's fee account."""
    queue_in: DepositIndex
    """L1 priority-queue entries consumed before the first transaction."""
    queue_out: DepositIndex
    """L1 priority-queue entries consumed after the last (the entries between are consumed in order)."""
    chain_id: ChainId
    """The deployment every covered batch belongs to."""

    @classmethod
    def from_elements(cls, elements: Sequence[int]) -> Statement:
        """Reads the public-input elements."""
        if len(elements) != STATEMENT_LEN:
            raise InvalidProof(f"a statement has {STATEMENT_LEN} elements, got {len(elements)}")
        d: list[Digest] = [
            (elements[i], elements[i + 1], elements[i + 2], elements[i + 3])
            for i in range(0, 4 * DIGEST_FIELDS, 4)
        ]
        fee, queue_in, queue_out, chain_id = elements[4 * DIGEST_FIELDS :]
        return cls(
            d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7],
            fee,
            DepositIndex(queue_in),
            DepositIndex(queue_out),
            ChainId(chain_id),
        )  # fmt: skip

    @classmethod
    def of_segment(cls, segment: SegmentWitness) -> Statement:
        """The statement a proof of `segment` must have (what the spec computed)."""
        before, after = segment.commitments_before, segment.commitments_after
        return cls(
            segment.root_before,
            segment.root_after,
            before.data,
            after.data,
            before.withdrawals,
            after.withdrawals,
            before.deposits,
            after.deposits,
            segment.fee_sum,
            segment.queue_before,
            segment.queue_after,
            segment.chain_id,
        )

    def to_elements(self) -> list[int]:
        """The public-input elements."""
        out: list[int] = []
        for value in astuple(self):
            out.extend(value if isinstance(value, tuple) else (value,))
        return out

    @property
    def commitments_in(self) -> Commitments:
        """The chain heads before."""
        return Commitments(self.data_in, self.withdrawals_in, self.deposits_in)

    @property
    def commitments_out(self) -> Commitments:
        """The chain heads after."""
        return Commitments(self.data_out, self.withdrawals_out, self.deposits_out)

    def is_followed_by(self, right: Statement) -> bool:
        """Whether `right` starts exactly where this one ends (so the two may be aggregated)."""
        return (
            self.root_after == right.root_before
            and self.commitments_out == right.commitments_in
            and self.queue_out == right.queue_in
            and self.chain_id == right.chain_id
        )

    def joined(self, right: Statement) -> Statement:
        """The statement of the aggregate of this and `right`; InvalidProof if they do not join."""
        if not self.is_followed_by(right):
            raise InvalidProof("the right statement does not start where the left one ends")
        return Statement(
            self.root_before,
            right.root_after,
            self.data_in,
            right.data_out,
            self.withdrawals_in,
            right.withdrawals_out,
            self.deposits_in,
            right.deposits_out,
            self.fee_total + right.fee_total,
            self.queue_in,
            right.queue_out,
            self.chain_id,
        )

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (digests as lists of ints)."""
        return {
            f.name: list(v) if isinstance(v, tuple) else v
            for f, v in zip(fields(self), astuple(self), strict=True)
        }

    @classmethod
    def from_json(cls, obj: dict[str, object]) -> Statement:
        """Reads `to_json`'s form (KeyError, TypeError or ValueError if malformed)."""
        elements: list[int] = []
        for f in fields(cls)[:DIGEST_FIELDS]:
            value = obj[f.name]
            if not isinstance(value, list) or len(value) != 4:
                raise ValueError(f"{f.name} must be a list of 4 integers")
            elements.extend(int(x) for x in value)
        elements.extend(int(obj[f.name]) for f in fields(cls)[DIGEST_FIELDS:])  # type: ignore[call-overload]
        return cls.from_elements(elements)


BATCH_STATEMENT_LEN = 44
"""Field elements in a batch statement (`BatchStatement` in native/engine/src/circuits/statement.rs)."""
ACC_WORDS = 8
"""L1's accumulated input hash in a batch statement: eight big-endian u32 words."""


def compute_hash_words(value: bytes) -> tuple[int, ...]:
    """A 32-byte hash as the eight big-endian u32 words a batch statement holds."""
    if len(value) != 32:
        raise InvalidProof(f"an accumulated input hash is 32 bytes, got {len(value)}")
    return tuple(int.from_bytes(value[i : i + 4], "big") for i in range(0, 32, 4))


@dataclass(frozen=True, slots=True)
class BatchStatement:
    """What a join of whole batches, and so the final proof, shows (ADR 29).

    Field order is the public-input order of `BatchStatement` in
    `native/engine/src/circuits/statement.rs`. L1 computes the fields it compares from its storage:
    `root_before` (its consolidated root), `acc_in` and `acc_out` (its `accInputHash` of the last
    verified and of the final batch), `chain_id`; the queue counts are hashed into the acc too.
    """

    root_before: StateRoot
    root_after: StateRoot
    acc_in: bytes
    """L1's accumulated input hash before the first batch (32 bytes) ..."""
    acc_out: bytes
    """... and after the last one."""
    withdrawals_in: Digest
    withdrawals_out: Digest
    deposits_in: Digest
    deposits_out: Digest
    fee_total: int
    queue_in: DepositIndex
    queue_out: DepositIndex
    chain_id: ChainId

    @classmethod
    def from_elements(cls, elements: Sequence[int]) -> BatchStatement:
        """Reads the public-input elements."""
        if len(elements) != BATCH_STATEMENT_LEN:
            raise InvalidProof(f"a batch statement has {BATCH_STATEMENT_LEN} elements, got {len(elements)}")
        if any(w >= 2**32 for w in elements[8:24]):
            raise InvalidProof("an accumulated-input-hash word is not below 2^32")

        def digest(at: int) -> Digest:
            return (elements[at], elements[at + 1], elements[at + 2], elements[at + 3])

        def hash_bytes(at: int) -> bytes:
            return b"".join(w.to_bytes(4, "big") for w in elements[at : at + ACC_WORDS])

        fee, queue_in, queue_out, chain_id = elements[40:]
        return cls(
            digest(0), digest(4), hash_bytes(8), hash_bytes(16),
            digest(24), digest(28), digest(32), digest(36),
            fee, DepositIndex(queue_in), DepositIndex(queue_out), ChainId(chain_id),
        )  # fmt: skip

    @classmethod
    def of_join(cls, segments: Statement, acc_in: bytes, acc_out: bytes) -> BatchStatement:
        """The statement a join of a batch's segments (`segments`) must have, L1's hashes around it."""
        return cls(
            segments.root_before,
            segments.root_after,
            acc_in,
            acc_out,
            segments.withdrawals_in,
            segments.withdrawals_out,
            segments.deposits_in,
            segments.deposits_out,
            segments.fee_total,
            segments.queue_in,
            segments.queue_out,
            segments.chain_id,
        )

    def to_elements(self) -> list[int]:
        """The public-input elements."""
        out = [*self.root_before, *self.root_after]
        out += [*compute_hash_words(self.acc_in), *compute_hash_words(self.acc_out)]
        for d in (self.withdrawals_in, self.withdrawals_out, self.deposits_in, self.deposits_out):
            out.extend(d)
        return [*out, self.fee_total, self.queue_in, self.queue_out, self.chain_id]

    def is_followed_by(self, right: BatchStatement) -> bool:
        """Whether `right` starts exactly where this one ends (state, L1's hash, chains, queue, chain)."""
        return (
            self.root_after == right.root_before
            and self.acc_out == right.acc_in
            and self.withdrawals_out == right.withdrawals_in
            and self.deposits_out == right.deposits_in
            and self.queue_out == right.queue_in
            and self.chain_id == right.chain_id
        )

    def joined(self, right: BatchStatement) -> BatchStatement:
        """The statement of the aggregate of this and `right`; InvalidProof if they do not join."""
        if not self.is_followed_by(right):
            raise InvalidProof("the right batch statement does not start where the left one ends")
        return BatchStatement(
            self.root_before,
            right.root_after,
            self.acc_in,
            right.acc_out,
            self.withdrawals_in,
            right.withdrawals_out,
            self.deposits_in,
            right.deposits_out,
            self.fee_total + right.fee_total,
            self.queue_in,
            right.queue_out,
            self.chain_id,
        )
