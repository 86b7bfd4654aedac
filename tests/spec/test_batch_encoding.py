"""Batch data posted to L1 and the commitment chains' step functions."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkpipe.errors import DecodeError, InvalidInput
from zkpipe.native import GOLDILOCKS_P, ZERO_DIGEST
from zkpipe.spec import (
    AccountIndex,
    Amount,
    Batch,
    BatchHeader,
    BatchNumber,
    Deposit,
    DepositIndex,
    L1Address,
    State,
    Timestamp,
    Transaction,
    TxType,
    WithdrawalRecord,
    compute_data_chain_step,
    compute_data_commitment,
    compute_deposits_chain_step,
    compute_withdrawals_chain_step,
    compute_withdrawals_commitment,
    decode_batch,
    encode_batch,
    encode_tx,
)

from .helpers import make_batch, mixed_makers, sequence_txs
from .strategies import deposits, transactions, u64

digests = st.tuples(*[st.integers(0, GOLDILOCKS_P - 1)] * 4)
headers = st.builds(BatchHeader, u64, u64, u64, u64, digests)
batches = st.builds(Batch, headers, st.lists(transactions, max_size=6).map(tuple))


@settings(max_examples=100, deadline=None)
@given(batches)
def test_batch_round_trip(batch: Batch) -> None:
    data = encode_batch(batch)
    assert len(data) == 68 + sum(len(encode_tx(tx)) for tx in batch.transactions)
    assert decode_batch(data) == batch


def test_batch_data_holds_signatures(state: State) -> None:
    # Anyone can re-check every authorization from the posted data alone.
    batch = make_batch(state, sequence_txs(state, mixed_makers(2)))
    data = encode_batch(batch)
    for tx in batch.transactions:
        assert encode_tx(tx) in data
        if hasattr(tx, "signature"):
            assert tx.signature in data


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_decode_batch_never_crashes(data: bytes) -> None:
    try:
        batch = decode_batch(data)
    except DecodeError:
        return
    assert encode_batch(batch) == data


@settings(max_examples=100, deadline=None)
@given(batches, st.integers(0, 10_000), st.integers(0, 255))
def test_decode_mutated_batch(batch: Batch, position: int, value: int) -> None:
    data = bytearray(encode_batch(batch))
    data[position % len(data)] = value
    try:
        decoded = decode_batch(bytes(data))
    except DecodeError:
        return
    assert encode_batch(decoded) == bytes(data)


def _header() -> BatchHeader:
    return BatchHeader(BatchNumber(1), Timestamp(2), DepositIndex(0), DepositIndex(0), ZERO_DIGEST)


def test_invalid_decode_batch_structure() -> None:
    data = encode_batch(Batch(_header(), ()))
    with pytest.raises(DecodeError):
        decode_batch(data[:-1])  # short header
    with pytest.raises(DecodeError):
        decode_batch(data + b"\x00")  # trailing byte
    with pytest.raises(DecodeError):
        decode_batch(data[:-4] + struct.pack("<I", 1))  # announces a transaction it lacks
    with pytest.raises(DecodeError):
        decode_batch(data[:-4] + struct.pack("<I", 2**32 - 1))


def test_invalid_decode_batch_non_canonical_hash() -> None:
    data = bytearray(encode_batch(Batch(_header(), ())))
    data[32:40] = GOLDILOCKS_P.to_bytes(8, "little")
    with pytest.raises(DecodeError, match="canonical"):
        decode_batch(bytes(data))


def test_invalid_encode_batch_out_of_range() -> None:
    header = BatchHeader(BatchNumber(2**64), Timestamp(0), DepositIndex(0), DepositIndex(0), ZERO_DIGEST)
    with pytest.raises(InvalidInput):
        encode_batch(Batch(header, ()))
    header = BatchHeader(
        BatchNumber(1), Timestamp(0), DepositIndex(0), DepositIndex(0), (GOLDILOCKS_P, 0, 0, 0)
    )
    with pytest.raises(InvalidInput):
        encode_batch(Batch(header, ()))


@settings(max_examples=50, deadline=None)
@given(st.lists(transactions, min_size=1, max_size=4))
def test_data_chain_is_a_fold_of_its_step(txs: list[Transaction]) -> None:
    head = ZERO_DIGEST
    for tx in txs:
        head = compute_data_chain_step(head, tx)
    assert compute_data_commitment(txs) == head
    if len(txs) > 1 and encode_tx(txs[0]) != encode_tx(txs[1]):
        swapped = [txs[1], txs[0], *txs[2:]]
        assert compute_data_commitment(swapped) != head  # order matters


def test_chains_are_domain_separated() -> None:
    record = WithdrawalRecord(TxType.WITHDRAW, AccountIndex(1), L1Address(b"\x01" * 20), Amount(5))
    assert compute_withdrawals_commitment([]) == ZERO_DIGEST
    assert compute_withdrawals_chain_step(ZERO_DIGEST, record) != compute_withdrawals_chain_step(
        ZERO_DIGEST, WithdrawalRecord(TxType.DEPOSIT, record.account, record.l1_address, record.amount)
    )


@settings(max_examples=20, deadline=None)
@given(deposits)
def test_deposit_chain_differs_from_data_chain(deposit: Deposit) -> None:
    assert compute_deposits_chain_step(ZERO_DIGEST, deposit) != compute_data_chain_step(ZERO_DIGEST, deposit)
