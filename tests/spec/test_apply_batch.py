"""apply_batch and apply_segment: batches cut into segments, their commitments and checks."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from zkpipe.native import ZERO_DIGEST
from zkpipe.spec import (
    FEE_ACCOUNT_INDEX,
    INITIAL_COMMITMENTS,
    SEGMENT_SIZES,
    BatchError,
    BatchNumber,
    ChainId,
    Commitments,
    Deposit,
    DepositIndex,
    InvalidBatch,
    InvalidTransaction,
    State,
    Timestamp,
    TxError,
    TxStatus,
    apply_batch,
    compute_accumulated_input_hash,
    compute_data_commitment,
    compute_deposits_commitment,
    compute_withdrawals_commitment,
    get_total_supply,
)

from .helpers import (
    make_batch,
    make_transfer,
    mixed_makers,
    sequence_txs,
    snapshot,
)


def test_batch(state: State) -> None:
    before = snapshot(state)
    txs = sequence_txs(state, mixed_makers(5))
    batch = make_batch(state, txs)
    result = apply_batch(state, batch, 8)
    assert snapshot(state) == before  # apply_batch works on a copy

    post = result.state
    assert post.batch_number == 1
    assert post.timestamp == batch.header.timestamp
    assert post.next_deposit_index == batch.header.deposit_end
    assert post.pending_fees == 0
    assert [r.status for r in result.receipts[:2]] == [TxStatus.OK, TxStatus.REFUNDED]
    assert all(r.status is TxStatus.OK for r in result.receipts[2:])
    assert result.receipts[1].code is TxError.DEPOSIT_KEY_MISMATCH

    assert result.commitments == Commitments(
        data=compute_data_commitment(txs),
        withdrawals=compute_withdrawals_commitment(result.withdrawals),
        deposits=compute_deposits_commitment(tx for tx in txs if isinstance(tx, Deposit)),
    )
    assert len(result.withdrawals) == 6  # one refund, five withdrawals
    assert result.accumulated_input_hash == compute_accumulated_input_hash(
        ZERO_DIGEST, batch.header, result.commitments.data
    )
    assert post.accumulated_input_hash == result.accumulated_input_hash

    fees = sum(getattr(tx, "fee", 0) for tx in txs)
    assert post.accounts[FEE_ACCOUNT_INDEX].balance == fees
    deposited = sum(tx.amount for tx in txs if isinstance(tx, Deposit))
    paid_out = sum(w.amount for w in result.withdrawals)
    assert get_total_supply(post) == get_total_supply(state) + deposited - paid_out


def test_batch_result_is_independent_of_segment_size(state: State) -> None:
    batch = make_batch(state, sequence_txs(state, mixed_makers(8)))
    results = [apply_batch(state, batch, k) for k in SEGMENT_SIZES]
    first = results[0]
    for k, result in zip(SEGMENT_SIZES, results, strict=True):
        assert len(result.segments) == -(-len(batch.transactions) // k)
        assert snapshot(result.state) == snapshot(first.state)
        assert result.receipts == first.receipts
        assert result.commitments == first.commitments
        assert result.withdrawals == first.withdrawals


def test_segments_connect(state: State) -> None:
    result = apply_batch(state, make_batch(state, sequence_txs(state, mixed_makers(6))), 8)
    segments = result.segments
    assert segments[0].root_before == state.tree.root
    assert segments[0].commitments_before == state.commitments == INITIAL_COMMITMENTS
    for left, right in itertools.pairwise(segments):
        assert left.root_after == right.root_before
        assert left.commitments_after == right.commitments_before
    assert segments[-1].root_after == result.state.tree.root
    assert segments[-1].commitments_after == result.commitments == result.state.commitments


def test_chains_run_on_across_batches(state: State) -> None:
    first = apply_batch(state, make_batch(state, sequence_txs(state, mixed_makers(3))), 8)
    second_batch = make_batch(
        first.state, sequence_txs(first.state, mixed_makers(3)), timestamp=1_700_000_001
    )
    second = apply_batch(first.state, second_batch, 8)
    assert second.segments[0].commitments_before == first.commitments
    assert second.commitments.data == compute_data_commitment(
        second_batch.transactions, first.commitments.data
    )


def test_fee_account_collects_fees_across_batches(state: State) -> None:
    first = apply_batch(state, make_batch(state, [make_transfer(state, 1, 2, 10, fee=40)]), 8).state
    second = apply_batch(
        first, make_batch(first, [make_transfer(first, 2, 1, 5, fee=2)], timestamp=1_700_000_001), 8
    )
    assert second.state.accounts[FEE_ACCOUNT_INDEX].balance == 42


def test_empty_batch(state: State) -> None:
    result = apply_batch(state, make_batch(state, []), 16)
    assert result.segments == () and result.receipts == ()
    assert result.state.tree.root == state.tree.root
    assert result.commitments == INITIAL_COMMITMENTS
    assert result.state.batch_number == 1


def test_consecutive_batches_chain_input_hash(state: State) -> None:
    first = apply_batch(state, make_batch(state, [make_transfer(state, 1, 2, 1)]), 8)
    second_batch = make_batch(first.state, [make_transfer(first.state, 1, 2, 1)], timestamp=1_700_000_005)
    second = apply_batch(first.state, second_batch, 8)
    assert second.accumulated_input_hash == compute_accumulated_input_hash(
        first.accumulated_input_hash, second_batch.header, second.commitments.data
    )


@pytest.mark.parametrize("segment_size", [0, 1, 7, 256])
def test_invalid_segment_size(state: State, segment_size: int) -> None:
    with pytest.raises(InvalidBatch) as info:
        apply_batch(state, make_batch(state, []), segment_size)
    assert info.value.error is BatchError.BAD_SEGMENT_SIZE


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"number": BatchNumber(2)}, BatchError.WRONG_BATCH_NUMBER),
        ({"number": BatchNumber(0)}, BatchError.WRONG_BATCH_NUMBER),
        ({"previous_accumulated_input_hash": (1, 0, 0, 0)}, BatchError.WRONG_PREVIOUS_INPUT_HASH),
        ({"deposit_start": DepositIndex(2)}, BatchError.DEPOSIT_RANGE_MISMATCH),  # queue is at 3
        ({"deposit_end": DepositIndex(4)}, BatchError.DEPOSIT_RANGE_MISMATCH),  # a deposit it lacks
    ],
)
def test_invalid_header(state: State, change: dict[str, object], code: BatchError) -> None:
    batch = make_batch(state, [make_transfer(state, 1, 2, 1)])
    bad = dataclasses.replace(batch, header=dataclasses.replace(batch.header, **change))  # type: ignore[arg-type]
    before = snapshot(state)
    with pytest.raises(InvalidBatch) as info:
        apply_batch(state, bad, 8)
    assert info.value.error is code
    assert snapshot(state) == before


def test_invalid_timestamp_decreases(state: State) -> None:
    first = apply_batch(state, make_batch(state, []), 8).state
    batch = make_batch(first, [])
    bad = dataclasses.replace(batch, header=dataclasses.replace(batch.header, timestamp=Timestamp(5)))
    with pytest.raises(InvalidBatch) as info:
        apply_batch(first, bad, 8)
    assert info.value.error is BatchError.TIMESTAMP_DECREASES


def test_invalid_transaction_in_batch(state: State) -> None:
    txs = sequence_txs(state, mixed_makers(3))
    txs[9] = dataclasses.replace(txs[9], amount=txs[9].amount + 1)  # breaks its signature
    before = snapshot(state)
    with pytest.raises(InvalidTransaction) as info:
        apply_batch(state, make_batch(state, txs), 8)
    assert info.value.error is TxError.BAD_SIGNATURE
    assert snapshot(state) == before


def test_invalid_batch_of_another_chain(state: State) -> None:
    # What provers run: a batch sequenced for chain B has no witness on chain A (so no proof of it
    # on A), and applies on B.
    elsewhere = state.copy()
    elsewhere.chain_id = ChainId(state.chain_id + 1)
    batch = make_batch(elsewhere, [make_transfer(elsewhere, 1, 2, 5)])
    assert apply_batch(elsewhere, batch, 8).state.chain_id == elsewhere.chain_id
    with pytest.raises(InvalidTransaction) as info:
        apply_batch(state, batch, 8)
    assert info.value.error is TxError.BAD_SIGNATURE
