"""What a circuit needs to check a transition: leaf updates with Merkle paths, fees and chain heads."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from zkpipe.errors import TxError
from zkpipe.native import Digest, verify_merkle_proof
from zkpipe.spec.types import (
    Account,
    AccountIndex,
    ChainId,
    Commitment,
    DepositIndex,
    Fee,
    StateRoot,
    Transaction,
    WithdrawalRecord,
)


@dataclass(frozen=True, slots=True)
class LeafUpdate:
    """One leaf write (or read, when before equals after), with the path that proves both sides.

    Writing a leaf does not change its own siblings, so one sibling list proves `leaf_before` under
    `root_before` and `leaf_after` under `root_after`.
    """

    index: AccountIndex
    account_before: Account | None
    account_after: Account | None
    leaf_before: Digest
    leaf_after: Digest
    siblings: tuple[Digest, ...]
    root_before: StateRoot
    root_after: StateRoot

    def is_valid(self) -> bool:
        """Whether the path proves both the old leaf under the old root and the new under the new."""
        return verify_merkle_proof(
            self.root_before, self.index, self.leaf_before, self.siblings
        ) and verify_merkle_proof(self.root_after, self.index, self.leaf_after, self.siblings)


@dataclass(frozen=True, slots=True)
class Commitments:
    """Heads of the three hash chains; each starts at ZERO_DIGEST at genesis and runs across batches."""

    data: Commitment
    """Chain over the canonical encodings of all transactions."""
    withdrawals: Commitment
    """Chain over the withdrawal records (withdrawals and refunded deposits)."""
    deposits: Commitment
    """Chain over the deposits consumed from the L1 queue."""


class TxStatus(StrEnum):
    """Outcome of a transaction."""

    OK = "ok"
    REFUNDED = "refunded"  # a deposit that could not be credited and is paid back on L1
    REJECTED = "rejected"  # invalid: not part of any batch, state unchanged


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a user learns about a transaction: its status and, unless ok, the rule's code."""

    tx_hash: Digest
    status: TxStatus
    code: TxError | None = None


@dataclass(frozen=True, slots=True)
class TxWitness:
    """One transaction's part of a segment proof."""

    tx: Transaction
    receipt: Receipt
    updates: tuple[LeafUpdate, ...]
    """Touched leaves in order: sender then recipient for a transfer; reads have before == after."""
    withdrawal: WithdrawalRecord | None
    pending_fees_before: Fee
    pending_fees_after: Fee


@dataclass(frozen=True, slots=True)
class SegmentWitness:
    """Everything a segment circuit needs: roots, per-transaction updates, fee crediting, chains."""

    root_before: StateRoot
    root_after: StateRoot
    txs: tuple[TxWitness, ...]
    fee_sum: Fee
    """Fees collected in the segment: credited once, at its end."""
    fee_credit: LeafUpdate
    """The fee account's update at the segment's end."""
    commitments_before: Commitments
    commitments_after: Commitments
    queue_before: DepositIndex
    """L1 priority-queue entries consumed before the segment; its deposits are the next ones."""
    queue_after: DepositIndex
    chain_id: ChainId
