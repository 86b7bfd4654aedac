"""`sequenceBatches`: the accumulated input hash chain, its events, and every rejection."""

from __future__ import annotations

import pytest

from tests.l1.conftest import Devnet, expect_revert, key
from zkpipe.errors import InvalidInput
from zkpipe.l1.hashes import ZERO_HASH, compute_acc_input_hash
from zkpipe.l1.rollup import MAX_SEQUENCE_DATA_BYTES, BatchData, SequencedBatch


def now(devnet: Devnet) -> int:
    return devnet.chain.latest_block().timestamp


def test_sequence_batches_matches_python_acc_input_hash_chain(devnet: Devnet) -> None:
    ts = now(devnet)
    first = [BatchData(b"\x01" * 100, ts, 0), BatchData(b"", ts, 0), BatchData(b"\xff" * 5000, ts + 1, 0)]
    devnet.mine_receipt(devnet.rollup.sequence_batches(first, sender=devnet.sequencer))
    second = [BatchData(b"later", now(devnet), 0)]
    devnet.mine_receipt(devnet.rollup.sequence_batches(second, sender=devnet.sequencer))

    acc = ZERO_HASH
    for number, batch in enumerate(first + second, start=1):
        acc = compute_acc_input_hash(acc, batch.data, batch.timestamp, batch.deposit_count)
        assert devnet.rollup.acc_input_hash(number) == acc
    assert devnet.rollup.acc_input_hash(0) == ZERO_HASH
    assert devnet.rollup.last_batch_sequenced() == 4
    assert devnet.rollup.last_batch_timestamp() == second[0].timestamp


def test_sequence_batches_emits_one_event_per_batch(devnet: Devnet) -> None:
    ts = now(devnet)
    batches = [BatchData(bytes([i]) * 10, ts, 0) for i in range(3)]
    receipt = devnet.mine_receipt(devnet.rollup.sequence_batches(batches, sender=devnet.sequencer))
    events = devnet.rollup.events(receipt.block_number, receipt.block_number)
    assert events == [
        SequencedBatch(n, devnet.rollup.acc_input_hash(n), receipt.block_number, receipt.tx_hash)
        for n in (1, 2, 3)
    ]


def test_sequence_batches_consumes_existing_deposits(devnet: Devnet) -> None:
    for i in range(3):
        devnet.mine_receipt(devnet.rollup.deposit(i + 1, key(i), 10, sender=devnet.user))
    batches = [BatchData(b"a", now(devnet), 2), BatchData(b"b", now(devnet), 3)]
    devnet.mine_receipt(devnet.rollup.sequence_batches(batches, sender=devnet.sequencer))
    assert devnet.rollup.last_deposit_consumed() == 3


def test_sequence_batches_accepts_the_maximum_data(devnet: Devnet) -> None:
    half = MAX_SEQUENCE_DATA_BYTES // 2
    batches = [BatchData(b"\x07" * half, now(devnet), 0), BatchData(b"\x08" * half, now(devnet), 0)]
    receipt = devnet.mine_receipt(devnet.rollup.sequence_batches(batches, sender=devnet.sequencer))
    assert receipt.success
    assert devnet.rollup.acc_input_hash(2) == compute_acc_input_hash(
        compute_acc_input_hash(ZERO_HASH, batches[0].data, batches[0].timestamp, 0),
        batches[1].data,
        batches[1].timestamp,
        0,
    )


def test_invalid_sequence_batches_from_non_sequencer(devnet: Devnet) -> None:
    tx = devnet.rollup.sequence_batches([BatchData(b"x", now(devnet), 0)], sender=devnet.user)
    expect_revert(devnet, tx, "only sequencer")


def test_invalid_sequence_batches_empty_list(devnet: Devnet) -> None:
    tx = devnet.rollup.sequence_batches([], sender=devnet.sequencer)
    expect_revert(devnet, tx, "no batches")


def test_invalid_sequence_batches_timestamp_going_backwards(devnet: Devnet) -> None:
    ts = now(devnet)
    devnet.mine_receipt(devnet.rollup.sequence_batches([BatchData(b"x", ts, 0)], sender=devnet.sequencer))
    tx = devnet.rollup.sequence_batches([BatchData(b"y", ts - 1, 0)], sender=devnet.sequencer)
    expect_revert(devnet, tx, "timestamp goes backwards")


def test_invalid_sequence_batches_timestamp_backwards_within_one_call(devnet: Devnet) -> None:
    ts = now(devnet)
    batches = [BatchData(b"x", ts, 0), BatchData(b"y", ts - 1, 0)]
    expect_revert(devnet, devnet.rollup.sequence_batches(batches, sender=devnet.sequencer), "backwards")


def test_invalid_sequence_batches_timestamp_before_deployment(devnet: Devnet) -> None:
    deployed_at = devnet.rollup.last_batch_timestamp()
    tx = devnet.rollup.sequence_batches([BatchData(b"x", deployed_at - 1, 0)], sender=devnet.sequencer)
    expect_revert(devnet, tx, "timestamp goes backwards")


def test_invalid_sequence_batches_timestamp_in_the_future(devnet: Devnet) -> None:
    # The next block is mined at latest + 1 (the fake clock does not move), so + 2 is in its future.
    tx = devnet.rollup.sequence_batches([BatchData(b"x", now(devnet) + 2, 0)], sender=devnet.sequencer)
    expect_revert(devnet, tx, "timestamp in the future")


def test_invalid_sequence_batches_consuming_missing_deposits(devnet: Devnet) -> None:
    devnet.mine_receipt(devnet.rollup.deposit(1, key(1), 10, sender=devnet.user))
    tx = devnet.rollup.sequence_batches([BatchData(b"x", now(devnet), 2)], sender=devnet.sequencer)
    expect_revert(devnet, tx, "consumes missing deposits")


def test_invalid_sequence_batches_deposit_count_going_backwards(devnet: Devnet) -> None:
    devnet.mine_receipt(devnet.rollup.deposit(1, key(1), 10, sender=devnet.user))
    devnet.mine_receipt(
        devnet.rollup.sequence_batches([BatchData(b"x", now(devnet), 1)], sender=devnet.sequencer)
    )
    tx = devnet.rollup.sequence_batches([BatchData(b"y", now(devnet), 0)], sender=devnet.sequencer)
    expect_revert(devnet, tx, "deposit count goes backwards")


def test_invalid_sequence_batches_lengths_beyond_data(devnet: Devnet) -> None:
    fn = devnet.rollup.abi.function("sequenceBatches")
    data = fn.encode_call([[(10, now(devnet), 0)], b"short"])
    tx = devnet.chain.send_transaction(sender=devnet.sequencer, to=devnet.rollup.address, data=data)
    expect_revert(devnet, tx, "batch lengths exceed data")


def test_invalid_sequence_batches_data_beyond_lengths(devnet: Devnet) -> None:
    fn = devnet.rollup.abi.function("sequenceBatches")
    data = fn.encode_call([[(2, now(devnet), 0)], b"trailing"])
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
