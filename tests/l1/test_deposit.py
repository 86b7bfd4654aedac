"""`deposit`: the L1 -> L2 queue hash chain, its events, the gwei unit, and every rejection."""

from __future__ import annotations

import pytest

from tests.l1.conftest import Devnet, expect_revert, key
from zkpipe.errors import InvalidInput
from zkpipe.l1.hashes import WEI_PER_GWEI, ZERO_HASH, compute_deposit_queue_hash
from zkpipe.l1.rollup import DepositEvent


def test_deposit_extends_the_queue_hash_chain_like_python(devnet: Devnet) -> None:
    sender = bytes.fromhex(devnet.user[2:])
    head = ZERO_HASH
    for i, (account, amount) in enumerate([(7, 1), (9, 2**64 - 1), (7, 123_456)]):
        devnet.mine_receipt(devnet.rollup.deposit(account, key(i), amount, sender=devnet.user))
        head = compute_deposit_queue_hash(head, i, account, key(i), amount, sender)
        assert devnet.rollup.deposit_queue_hash() == head
        assert devnet.rollup.deposit_queue_hash_at(i + 1) == head
    assert devnet.rollup.deposit_count() == 3
    assert devnet.rollup.deposit_queue_hash_at(0) == ZERO_HASH


def test_deposit_emits_event_and_holds_the_value(devnet: Devnet) -> None:
    before = devnet.chain.balance_by_address(devnet.user)
    receipt = devnet.mine_receipt(devnet.rollup.deposit(42, key(5), 1_500, sender=devnet.user))
    (event,) = devnet.rollup.events(receipt.block_number, receipt.block_number)
    assert event == DepositEvent(
        0,
        42,
        key(5),
        1_500,
        devnet.user,
        devnet.rollup.deposit_queue_hash(),
        receipt.block_number,
        receipt.tx_hash,
    )
    assert devnet.chain.balance_by_address(devnet.rollup.address) == 1_500 * WEI_PER_GWEI
    # Gas is free on the devnet (price 0), so the sender pays exactly the value.
    assert devnet.chain.balance_by_address(devnet.user) == before - 1_500 * WEI_PER_GWEI


def test_invalid_deposit_value_not_whole_gwei(devnet: Devnet) -> None:
    tx = devnet.rollup.deposit_wei(1, key(1), WEI_PER_GWEI + 1, sender=devnet.user)
    expect_revert(devnet, tx, "value not whole gwei")
    assert devnet.rollup.deposit_count() == 0


def test_invalid_deposit_zero_value(devnet: Devnet) -> None:
    expect_revert(devnet, devnet.rollup.deposit_wei(1, key(1), 0, sender=devnet.user), "zero deposit")


def test_invalid_deposit_at_or_above_two_to_the_64_gwei(devnet: Devnet) -> None:
    tx = devnet.rollup.deposit_wei(1, key(1), 2**64 * WEI_PER_GWEI, sender=devnet.user)
    expect_revert(devnet, tx, "deposit above u64 gwei")


def test_invalid_deposit_short_public_key(devnet: Devnet) -> None:
    data = devnet.rollup.abi.function("deposit").encode_call([1, b"\x01" * 39])
    tx = devnet.chain.send_transaction(
        sender=devnet.user, to=devnet.rollup.address, data=data, value=WEI_PER_GWEI
    )
    expect_revert(devnet, tx, "public key must be 40 bytes")


def test_invalid_deposit_short_public_key_is_refused_by_the_client(devnet: Devnet) -> None:
    with pytest.raises(InvalidInput):
        devnet.rollup.deposit(1, b"\x01" * 39, 1, sender=devnet.user)
