"""`sequenceBatches`: the accumulated input hash chain, its events, the queue check, and every rejection."""

from __future__ import annotations

import dataclasses

import pytest

from tests.l1.conftest import (
    ROLLUP_CHAIN_ID,
    Devnet,
    expect_revert,
    filler,
    key,
    make_batches,
    queued_deposits,
)
from zkpipe.errors import InvalidInput
from zkpipe.l1.chain import TxHash
from zkpipe.l1.hashes import ZERO_HASH, keccak256
from zkpipe.l1.rollup import MAX_SEQUENCE_DATA_BYTES, BatchData, SequencedBatch
from zkpipe.native import ZERO_DIGEST
from zkpipe.spec import (
    AccountIndex,
    Amount,
    Batch,
    BatchHeader,
    BatchNumber,
    Deposit,
    DepositIndex,
    L1Address,
    PublicKey,
    Timestamp,
    Transaction,
    compute_batch_input_hash,
    encode_batch,
    encode_tx,
)


def now(devnet: Devnet) -> int:
    return devnet.chain.latest_block().timestamp


def test_sequence_batches_matches_python_acc_input_hash_chain(devnet: Devnet) -> None:
    ts = now(devnet)
    first = make_batches(devnet, (ts, 0, 1), (ts, 0), (ts + 1, 0, 40))
    devnet.mine_receipt(devnet.rollup.sequence_batches(first, sender=devnet.sequencer))
    second = make_batches(devnet, (now(devnet), 0, 2))
    devnet.mine_receipt(devnet.rollup.sequence_batches(second, sender=devnet.sequencer))

    acc = ZERO_HASH
    for number, batch in enumerate(first + second, start=1):
        acc = compute_batch_input_hash(acc, batch.data, ROLLUP_CHAIN_ID)
        assert devnet.rollup.acc_input_hash(number) == acc
    assert devnet.rollup.acc_input_hash(0) == ZERO_HASH
    assert devnet.rollup.last_batch_sequenced() == 4
    assert devnet.rollup.last_batch_timestamp() == second[0].timestamp


def test_sequence_batches_emits_one_event_per_batch(devnet: Devnet) -> None:
    ts = now(devnet)
    batches = make_batches(devnet, (ts, 0, 1), (ts, 0, 2), (ts, 0, 3))
    receipt = devnet.mine_receipt(devnet.rollup.sequence_batches(batches, sender=devnet.sequencer))
    events = devnet.rollup.events(receipt.block_number, receipt.block_number)
    assert events == [
        SequencedBatch(n, devnet.rollup.acc_input_hash(n), receipt.block_number, receipt.tx_hash)
        for n in (1, 2, 3)
    ]


def test_sequence_batches_consumes_existing_deposits(devnet: Devnet) -> None:
    for i in range(3):
        devnet.mine_receipt(devnet.rollup.deposit(i + 1, key(i), 10, sender=devnet.user))
    batches = make_batches(devnet, (now(devnet), 2, 1), (now(devnet), 3))
    devnet.mine_receipt(devnet.rollup.sequence_batches(batches, sender=devnet.sequencer))
    assert devnet.rollup.last_deposit_consumed() == 3


def test_deposit_records_the_hash_of_its_batch_data_record(devnet: Devnet) -> None:
    devnet.mine_receipt(devnet.rollup.deposit(7, key(3), 12, sender=devnet.user))
    (deposit,) = queued_deposits(devnet)
    assert devnet.rollup.deposit_record_hash(0) == keccak256(encode_tx(deposit))


def test_sequence_batches_accepts_the_maximum_data(devnet: Devnet) -> None:
    fill = (MAX_SEQUENCE_DATA_BYTES // 2 - 68) // 112
    batches = make_batches(devnet, (now(devnet), 0, fill), (now(devnet), 0, fill))
    assert MAX_SEQUENCE_DATA_BYTES - 2 * 112 < sum(len(b.data) for b in batches) <= MAX_SEQUENCE_DATA_BYTES
    receipt = devnet.mine_receipt(devnet.rollup.sequence_batches(batches, sender=devnet.sequencer))
    assert receipt.success
    assert devnet.rollup.acc_input_hash(2) == compute_batch_input_hash(
        compute_batch_input_hash(ZERO_HASH, batches[0].data, ROLLUP_CHAIN_ID),
        batches[1].data,
        ROLLUP_CHAIN_ID,
    )


def test_invalid_sequence_batches_from_non_sequencer(devnet: Devnet) -> None:
    tx = devnet.rollup.sequence_batches(make_batches(devnet, (now(devnet), 0)), sender=devnet.user)
    expect_revert(devnet, tx, "only sequencer")


def test_invalid_sequence_batches_empty_list(devnet: Devnet) -> None:
    tx = devnet.rollup.sequence_batches([], sender=devnet.sequencer)
    expect_revert(devnet, tx, "no batches")


def test_invalid_sequence_batches_timestamp_going_backwards(devnet: Devnet) -> None:
    ts = now(devnet)
    devnet.mine_receipt(
        devnet.rollup.sequence_batches(make_batches(devnet, (ts, 0)), sender=devnet.sequencer)
    )
    tx = devnet.rollup.sequence_batches(make_batches(devnet, (ts - 1, 0)), sender=devnet.sequencer)
    expect_revert(devnet, tx, "timestamp goes backwards")


def test_invalid_sequence_batches_timestamp_backwards_within_one_call(devnet: Devnet) -> None:
    ts = now(devnet)
    batches = make_batches(devnet, (ts, 0), (ts - 1, 0))
    expect_revert(devnet, devnet.rollup.sequence_batches(batches, sender=devnet.sequencer), "backwards")


def test_invalid_sequence_batches_timestamp_before_deployment(devnet: Devnet) -> None:
    deployed_at = devnet.rollup.last_batch_timestamp()
    tx = devnet.rollup.sequence_batches(make_batches(devnet, (deployed_at - 1, 0)), sender=devnet.sequencer)
    expect_revert(devnet, tx, "timestamp goes backwards")


def test_invalid_sequence_batches_timestamp_in_the_future(devnet: Devnet) -> None:
    # The next block is mined at latest + 1 (the fake clock does not move), so + 2 is in its future.
    tx = devnet.rollup.sequence_batches(make_batches(devnet, (now(devnet) + 2, 0)), sender=devnet.sequencer)
    expect_revert(devnet, tx, "timestamp in the future")


def test_invalid_sequence_batches_consuming_missing_deposits(devnet: Devnet) -> None:
    devnet.mine_receipt(devnet.rollup.deposit(1, key(1), 10, sender=devnet.user))
    (batch,) = make_batches(devnet, (now(devnet), 1))
    tx = devnet.rollup.sequence_batches([BatchData(batch.data, batch.timestamp, 2)], sender=devnet.sequencer)
    expect_revert(devnet, tx, "deposit count differs from the data")
    header = encode_batch(Batch(BatchHeader(BatchNumber(1), Timestamp(now(devnet)), DepositIndex(0),
                                            DepositIndex(2), ZERO_DIGEST), ()))  # fmt: skip
    tx = devnet.rollup.sequence_batches([BatchData(header, now(devnet), 2)], sender=devnet.sequencer)
    expect_revert(devnet, tx, "consumes missing deposits|deposit range differs")


def test_invalid_sequence_batches_deposit_count_going_backwards(devnet: Devnet) -> None:
    devnet.mine_receipt(devnet.rollup.deposit(1, key(1), 10, sender=devnet.user))
    batches = make_batches(devnet, (now(devnet), 1))
    devnet.mine_receipt(devnet.rollup.sequence_batches(batches, sender=devnet.sequencer))
    header = BatchHeader(
        BatchNumber(2), Timestamp(now(devnet)), DepositIndex(1), DepositIndex(0), ZERO_DIGEST
    )
    data = encode_batch(Batch(header, ()))
    tx = devnet.rollup.sequence_batches([BatchData(data, now(devnet), 0)], sender=devnet.sequencer)
    expect_revert(devnet, tx, "deposit count goes backwards|deposit range differs")


# -- the posted deposits are exactly the queue's entries -----------------------------------------


def queue_three(devnet: Devnet) -> list[Deposit]:
    for i in range(3):
        devnet.mine_receipt(devnet.rollup.deposit(i + 1, key(i + 1), 10 + i, sender=devnet.user))
    return queued_deposits(devnet)


def sequence_txs(devnet: Devnet, txs: list[Transaction], start: int, end: int) -> TxHash:
    header = BatchHeader(BatchNumber(devnet.rollup.last_batch_sequenced() + 1), Timestamp(now(devnet)),
                         DepositIndex(start), DepositIndex(end), ZERO_DIGEST)  # fmt: skip
    batch = BatchData(encode_batch(Batch(header, tuple(txs))), now(devnet), end)
    return devnet.rollup.sequence_batches([batch], sender=devnet.sequencer)


def test_exact_queue_entries_sequence(devnet: Devnet) -> None:
    queue = queue_three(devnet)
    devnet.mine_receipt(sequence_txs(devnet, [queue[0], *filler(2), queue[1]], 0, 2))
    devnet.mine_receipt(sequence_txs(devnet, [queue[2]], 2, 3))
    assert devnet.rollup.last_deposit_consumed() == 3


@pytest.mark.parametrize(
    "change",
    [{"amount": Amount(11)}, {"recipient": AccountIndex(9)}, {"public_key": PublicKey(key(9))},
     {"l1_sender": L1Address(bytes(19) + b"\x01")}, {"queue_index": DepositIndex(1)}],
)  # fmt: skip
def test_invalid_deposit_altered_in_the_data(devnet: Devnet, change: dict[str, object]) -> None:
    queue = queue_three(devnet)
    altered = dataclasses.replace(queue[0], **change)  # type: ignore[arg-type]
    expect_revert(devnet, sequence_txs(devnet, [altered], 0, 1), "deposit is not the next queue entry")


def test_invalid_queue_entry_skipped_reordered_repeated_or_invented(devnet: Devnet) -> None:
    queue = queue_three(devnet)
    invented = dataclasses.replace(queue[2], queue_index=DepositIndex(3))
    for txs in ([queue[1]], [queue[1], queue[0]], [queue[0], queue[0]], [*queue, invented]):
        tx = sequence_txs(devnet, txs, 0, len(txs))
        expect_revert(devnet, tx, "deposit is not the next queue entry|consumes missing deposits")


def test_invalid_deposit_with_a_non_canonical_key_is_not_queued(devnet: Devnet) -> None:
    limbs = (2**64 - 2**32 + 1).to_bytes(8, "little") + bytes(32)  # limb 0 is p itself
    expect_revert(
        devnet, devnet.rollup.deposit(1, limbs, 10, sender=devnet.user), "public key limb not below p"
    )
    almost = (2**64 - 2**32).to_bytes(8, "little") + bytes(32)
    devnet.mine_receipt(devnet.rollup.deposit(1, almost, 10, sender=devnet.user))


# -- malformed data is never sequenced -----------------------------------------------------------


def test_invalid_batch_data_that_does_not_parse(devnet: Devnet) -> None:
    ts = now(devnet)
    (good,) = make_batches(devnet, (ts, 0, 2))
    transfer_at = 68
    cases = {
        "batch shorter than its header": good.data[:67],
        "unknown transaction tag": good.data[:transfer_at] + b"\x04" + good.data[transfer_at + 1 :],
        "batch length differs from its transactions": good.data[:-1],
        "fewer transactions than the header": good.data[:64] + (3).to_bytes(4, "little") + good.data[68:],
        "wrong batch number": (2).to_bytes(8, "little") + good.data[8:],
        "timestamp differs from the data": good.data[:8] + (ts - 1).to_bytes(8, "little") + good.data[16:],
        "wrong deposit start": good.data[:16] + (1).to_bytes(8, "little") + good.data[24:],
    }
    for reason, data in cases.items():
        tx = devnet.rollup.sequence_batches([BatchData(data, ts, 0)], sender=devnet.sequencer)
        expect_revert(devnet, tx, reason)
    devnet.mine_receipt(devnet.rollup.sequence_batches([good], sender=devnet.sequencer))


def test_invalid_sequence_batches_lengths_beyond_data(devnet: Devnet) -> None:
    fn = devnet.rollup.abi.function("sequenceBatches")
    data = fn.encode_call([[(10, now(devnet), 0)], b"short"])
    tx = devnet.chain.send_transaction(sender=devnet.sequencer, to=devnet.rollup.address, data=data)
    expect_revert(devnet, tx, "batch lengths exceed data")


def test_invalid_sequence_batches_data_beyond_lengths(devnet: Devnet) -> None:
    fn = devnet.rollup.abi.function("sequenceBatches")
    (batch,) = make_batches(devnet, (now(devnet), 0))
    data = fn.encode_call([[(len(batch.data), batch.timestamp, 0)], batch.data + b"trailing"])
    tx = devnet.chain.send_transaction(sender=devnet.sequencer, to=devnet.rollup.address, data=data)
    expect_revert(devnet, tx, "data longer than its batches")


def test_invalid_sequence_batches_over_the_data_limit_is_refused_by_the_client(devnet: Devnet) -> None:
    too_big = [BatchData(b"\x01" * (MAX_SEQUENCE_DATA_BYTES + 1), now(devnet), 0)]
    with pytest.raises(InvalidInput):
        devnet.rollup.sequence_batches(too_big, sender=devnet.sequencer)


def test_invalid_sequence_batches_over_the_data_limit_reverts_on_chain(devnet: Devnet) -> None:
    fn = devnet.rollup.abi.function("sequenceBatches")
    size = MAX_SEQUENCE_DATA_BYTES + 1
    data = fn.encode_call([[(size, now(devnet), 0)], b"\x01" * size])
    tx = devnet.chain.send_transaction(sender=devnet.sequencer, to=devnet.rollup.address, data=data)
    devnet.chain.mine()
    receipt = devnet.chain.receipt_by_hash(tx)
    assert receipt is not None and not receipt.success
    assert devnet.rollup.last_batch_sequenced() == 0


def test_acc_input_hash_binds_every_data_byte_the_header_and_the_chain_id(devnet: Devnet) -> None:
    # What a proof must reproduce: L1's value is the spec's SHA-256 chain over exactly the posted
    # bytes, this deployment's chain id and the batch's header, so data differing from L1's by one
    # byte (or a proof for another chain) gives another value.
    for i in range(2):
        devnet.mine_receipt(devnet.rollup.deposit(i + 1, key(i), 10, sender=devnet.user))
    (batch,) = make_batches(devnet, (now(devnet), 2, 3))
    devnet.mine_receipt(devnet.rollup.sequence_batches([batch], sender=devnet.sequencer))
    on_l1 = devnet.rollup.acc_input_hash(1)
    assert on_l1 == compute_batch_input_hash(ZERO_HASH, batch.data, ROLLUP_CHAIN_ID)
    assert on_l1 != compute_batch_input_hash(ZERO_HASH, batch.data, ROLLUP_CHAIN_ID + 1)
    for position in (0, 8, 16, 24, 40, 68, len(batch.data) - 1):  # header fields, deposits, transfers
        flipped = bytearray(batch.data)
        flipped[position] ^= 1
        assert on_l1 != compute_batch_input_hash(ZERO_HASH, bytes(flipped), ROLLUP_CHAIN_ID), position
