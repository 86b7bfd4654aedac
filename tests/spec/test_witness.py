"""Witnesses: every Merkle path verifies against the roots before and after, and roots chain."""

from __future__ import annotations

import dataclasses

from zkpipe.native import ZERO_DIGEST, verify_merkle_proof
from zkpipe.spec import (
    FEE_ACCOUNT_INDEX,
    AccountIndex,
    LeafUpdate,
    SegmentWitness,
    State,
    apply_batch,
    compute_account_leaf,
)

from .helpers import make_batch, mixed_makers, sequence_txs


def _segment_updates(segment: SegmentWitness) -> list[LeafUpdate]:
    """The segment's leaf updates in the order they happen."""
    updates = [u for tx in segment.txs for u in tx.updates]
    updates.append(segment.fee_credit)
    return updates


def _leaf(account: object) -> object:
    return ZERO_DIGEST if account is None else compute_account_leaf(account)  # type: ignore[arg-type]


def test_every_path_verifies_and_roots_chain(state: State) -> None:
    result = apply_batch(state, make_batch(state, sequence_txs(state, mixed_makers(6))), 8)
    for segment in result.segments:
        root = segment.root_before
        for update in _segment_updates(segment):
            assert update.root_before == root
            assert verify_merkle_proof(update.root_before, update.index, update.leaf_before, update.siblings)
            assert verify_merkle_proof(update.root_after, update.index, update.leaf_after, update.siblings)
            assert update.is_valid()
            assert len(update.siblings) == state.tree.depth
            # The leaves are the hashes of the account preimages the circuit gets.
            assert update.leaf_before == _leaf(update.account_before)
            assert update.leaf_after == _leaf(update.account_after)
            root = update.root_after
        assert root == segment.root_after
        assert segment.fee_credit.index == FEE_ACCOUNT_INDEX
        assert segment.fee_credit.account_after is not None
        assert segment.fee_credit.account_before is not None
        assert segment.fee_credit.account_after.balance == segment.fee_credit.account_before.balance + (
            segment.fee_sum
        )
        assert segment.fee_sum == sum(getattr(tx.tx, "fee", 0) for tx in segment.txs)


def test_transfer_witness_has_sender_then_recipient(state: State) -> None:
    result = apply_batch(state, make_batch(state, sequence_txs(state, mixed_makers(1))), 8)
    transfer = result.segments[0].txs[2]
    assert [u.index for u in transfer.updates] == [1, 2]
    sender, recipient = transfer.updates
    assert sender.root_after == recipient.root_before


def test_tampered_witness_does_not_verify(state: State) -> None:
    result = apply_batch(state, make_batch(state, sequence_txs(state, mixed_makers(1))), 8)
    update = result.segments[0].txs[2].updates[0]
    assert not dataclasses.replace(update, leaf_after=update.leaf_before).is_valid()
    assert not dataclasses.replace(update, index=AccountIndex(update.index + 1)).is_valid()
    assert not dataclasses.replace(update, root_before=update.root_after).is_valid()
