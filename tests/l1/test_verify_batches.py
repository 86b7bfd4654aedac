"""`verifyBatches` (trusted-aggregator mode): consolidation, events, and every rejection."""

from __future__ import annotations

from tests.l1.conftest import GENESIS_ROOT, Devnet, expect_revert, make_batches
from zkpipe.l1.rollup import VerifiedBatches

ROOT_A = bytes.fromhex("aa" * 32)
ROOT_B = bytes.fromhex("bb" * 32)
WROOT = bytes.fromhex("cc" * 32)


def sequence(devnet: Devnet, count: int) -> None:
    ts = devnet.chain.latest_block().timestamp
    batches = make_batches(devnet, *[(ts, 0)] * count)
    devnet.mine_receipt(devnet.rollup.sequence_batches(batches, sender=devnet.sequencer))


def test_verify_batches_moves_the_consolidated_state(devnet: Devnet) -> None:
    assert devnet.rollup.consolidated_state_root() == GENESIS_ROOT
    sequence(devnet, 3)
    receipt = devnet.mine_receipt(devnet.rollup.verify_batches(2, ROOT_A, WROOT, sender=devnet.aggregator))
    assert devnet.rollup.last_verified_batch() == 2
    assert devnet.rollup.consolidated_state_root() == ROOT_A
    assert devnet.rollup.withdrawals_root(2) == WROOT
    assert devnet.rollup.events(receipt.block_number, receipt.block_number) == [
        VerifiedBatches(2, ROOT_A, WROOT, receipt.block_number, receipt.tx_hash)
    ]
    devnet.mine_receipt(devnet.rollup.verify_batches(3, ROOT_B, bytes(32), sender=devnet.aggregator))
    assert devnet.rollup.last_verified_batch() == 3
    assert devnet.rollup.consolidated_state_root() == ROOT_B


def test_invalid_verify_batches_from_non_aggregator(devnet: Devnet) -> None:
    sequence(devnet, 1)
    for sender in (devnet.sequencer, devnet.user):
        expect_revert(
            devnet, devnet.rollup.verify_batches(1, ROOT_A, WROOT, sender=sender), "only trusted aggregator"
        )
    assert devnet.rollup.last_verified_batch() == 0


def test_invalid_verify_batches_beyond_sequenced(devnet: Devnet) -> None:
    sequence(devnet, 2)
    tx = devnet.rollup.verify_batches(3, ROOT_A, WROOT, sender=devnet.aggregator)
    expect_revert(devnet, tx, "batch not sequenced")
    assert devnet.rollup.consolidated_state_root() == GENESIS_ROOT


def test_invalid_verify_batches_nothing_sequenced(devnet: Devnet) -> None:
    tx = devnet.rollup.verify_batches(0, ROOT_A, WROOT, sender=devnet.aggregator)
    expect_revert(devnet, tx, "batch already verified")


def test_invalid_verify_batches_not_beyond_consolidated(devnet: Devnet) -> None:
    sequence(devnet, 3)
    devnet.mine_receipt(devnet.rollup.verify_batches(2, ROOT_A, WROOT, sender=devnet.aggregator))
    for final in (1, 2):
        tx = devnet.rollup.verify_batches(final, ROOT_B, WROOT, sender=devnet.aggregator)
        expect_revert(devnet, tx, "batch already verified")
    assert devnet.rollup.consolidated_state_root() == ROOT_A
