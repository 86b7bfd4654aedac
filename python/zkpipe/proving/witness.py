"""Turns the spec's segment witness into the native circuit's witness."""

from __future__ import annotations

from zkpipe.errors import InvalidInput
from zkpipe.native import ZERO_DIGEST, AccountTuple, SegmentWitnessTuple, SlotTuple
from zkpipe.spec import (
    ACCOUNT_TREE_DEPTH,
    Account,
    Deposit,
    LeafUpdate,
    SegmentWitness,
    Transfer,
    TxStatus,
    TxWitness,
    Withdraw,
    compute_public_key_elements,
    compute_tx_elements,
    compute_u64_limbs,
)

# Slot kinds, as the circuit numbers them.
KIND_DEPOSIT_CREDIT = 1
KIND_TRANSFER = 2
KIND_WITHDRAW = 3
KIND_DEPOSIT_REFUND = 4

UNUSED_LEAF: AccountTuple = (False, [0] * 8, [ZERO_DIGEST] * ACCOUNT_TREE_DEPTH)
"""A leaf witness the circuit ignores (the slot does not touch that leaf)."""


def compute_account_fields(account: Account) -> list[int]:
    """An account as the circuit reads it: key (5 u64 limbs), balance (2 u32 limbs), nonce."""
    return [
        *compute_public_key_elements(account.public_key),
        *compute_u64_limbs(account.balance),
        account.nonce,
    ]


def compute_leaf_witness(update: LeafUpdate) -> AccountTuple:
    """The state of one leaf before an update, with its siblings."""
    if len(update.siblings) != ACCOUNT_TREE_DEPTH:
        raise InvalidInput(f"the circuit needs a depth-{ACCOUNT_TREE_DEPTH} tree, got {len(update.siblings)}")
    if update.account_before is None:
        return (True, [0] * 8, list(update.siblings))
    return (False, compute_account_fields(update.account_before), list(update.siblings))


def compute_slot(tx: TxWitness) -> SlotTuple:
    """One transaction's slot: its kind, its elements and the leaves it writes."""
    elements = compute_tx_elements(tx.tx)
    if isinstance(tx.tx, Transfer):
        sender, recipient = tx.updates
        return (KIND_TRANSFER, elements, compute_leaf_witness(sender), compute_leaf_witness(recipient))
    if isinstance(tx.tx, Withdraw):
        return (KIND_WITHDRAW, elements, compute_leaf_witness(tx.updates[0]), UNUSED_LEAF)
    if isinstance(tx.tx, Deposit) and tx.receipt.status is TxStatus.REFUNDED:
        # The recipient's leaf is read, so the circuit can check the refund's reason.
        return (KIND_DEPOSIT_REFUND, elements, compute_leaf_witness(tx.updates[0]), UNUSED_LEAF)
    return (KIND_DEPOSIT_CREDIT, elements, compute_leaf_witness(tx.updates[0]), UNUSED_LEAF)


def compute_segment_witness(segment: SegmentWitness) -> SegmentWitnessTuple:
    """The native witness of a segment the spec applied."""
    before = segment.commitments_before
    return (
        segment.root_before,
        before.data,
        before.withdrawals,
        before.deposits,
        [compute_slot(tx) for tx in segment.txs],
        compute_leaf_witness(segment.fee_credit),
        segment.queue_before,
        segment.chain_id,
    )
