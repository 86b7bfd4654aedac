"""`verifyBatches` through the dev verifier: consolidation, events, the public input and every rejection.

The real Groth16 verifier's consolidations (a committed wrap proof) are in tests/wrap/test_rollup_verify.py.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.l1.conftest import GENESIS_ROOT, ROLLUP_CHAIN_ID, Devnet, expect_revert, key, make_batches
from zkpipe.l1.rollup import VerifiedBatches
from zkpipe.proving.wrap import statement_hash

ROOT_A = bytes.fromhex("aa" * 32)
ROOT_B = bytes.fromhex("bb" * 32)
WROOT = bytes.fromhex("cc" * 32)


def sequence(devnet: Devnet, count: int) -> None:
    ts = devnet.chain.latest_block().timestamp
    batches = make_batches(devnet, *[(ts, 0)] * count)
    devnet.mine_receipt(devnet.rollup.sequence_batches(batches, sender=devnet.sequencer))


def elements(digest: bytes) -> list[int]:
    """A stored digest's four little-endian u64 elements."""
    return [int.from_bytes(digest[i : i + 8], "little") for i in range(0, 32, 8)]


def test_verify_batches_moves_the_consolidated_state(devnet: Devnet) -> None:
    assert devnet.rollup.consolidated_state_root() == GENESIS_ROOT
    sequence(devnet, 3)
    receipt = devnet.mine_receipt(devnet.verify(2, ROOT_A, WROOT))
    assert devnet.rollup.last_verified_batch() == 2
    assert devnet.rollup.consolidated_state_root() == ROOT_A
    assert devnet.rollup.consolidated_chains() == [bytes([2, i]) * 16 for i in range(3)]
    assert devnet.rollup.withdrawals_root(2) == WROOT
    assert devnet.rollup.events(receipt.block_number, receipt.block_number) == [
        VerifiedBatches(2, ROOT_A, WROOT, receipt.block_number, receipt.tx_hash)
    ]
    devnet.mine_receipt(devnet.verify(3, ROOT_B, bytes(32)))
    assert devnet.rollup.last_verified_batch() == 3
    assert devnet.rollup.consolidated_state_root() == ROOT_B


def test_public_input_is_the_statement_hash_of_the_contracts_own_records(devnet: Devnet) -> None:
    for n in (1, 2):
        devnet.mine_receipt(devnet.rollup.deposit(n, key(n), 5, sender=devnet.user))
    ts = devnet.chain.latest_block().timestamp
    batches = make_batches(devnet, (ts, 1), (ts, 1), (ts, 2))
    devnet.mine_receipt(devnet.rollup.sequence_batches(batches, sender=devnet.sequencer))
    devnet.mine_receipt(devnet.verify(1, ROOT_A, WROOT))
    assert devnet.rollup.consolidated_deposit_count() == 1
    chains = [bytes(range(32 * i, 32 * i + 32)) for i in range(3)]
    old_chains = [e for c in devnet.rollup.consolidated_chains() for e in elements(c)]
    statement = [
        *elements(ROOT_A), *elements(ROOT_B),
        *old_chains[0:4], *elements(chains[0]),
        *old_chains[4:8], *elements(chains[1]),
        *old_chains[8:12], *elements(chains[2]),
        77, 1, 2, ROLLUP_CHAIN_ID,
    ]  # fmt: skip
    assert devnet.rollup.public_input(ROOT_B, chains, 77, 2) == statement_hash(statement)


@pytest.mark.parametrize("field", ["data", "timestamp", "deposit_count"])
def test_invalid_verify_batches_with_another_final_batch_record(devnet: Devnet, field: str) -> None:
    # The queue count a proof ends at comes from this record, which must be what L1 sequenced.
    devnet.mine_receipt(devnet.rollup.deposit(1, key(1), 5, sender=devnet.user))
    ts = devnet.chain.latest_block().timestamp
    devnet.mine_receipt(
        devnet.rollup.sequence_batches(make_batches(devnet, (ts, 1)), sender=devnet.sequencer)
    )
    real = devnet.posted[1]
    changed = {"data": real.data + b"\0", "timestamp": real.timestamp + 1, "deposit_count": 0}[field]
    devnet.posted[1] = dataclasses.replace(real, **{field: changed})
    expect_revert(devnet, devnet.verify(1, ROOT_A, WROOT), "final batch record differs")
    devnet.posted[1] = real
    devnet.mine_receipt(devnet.verify(1, ROOT_A, WROOT))


def test_invalid_verify_batches_from_another_address_under_the_dev_verifier(devnet: Devnet) -> None:
    sequence(devnet, 1)
    for sender in (devnet.sequencer, devnet.user):
        expect_revert(devnet, devnet.verify(1, ROOT_A, WROOT, sender=sender), "only its aggregator")
    assert devnet.rollup.last_verified_batch() == 0


def test_invalid_verify_batches_beyond_sequenced(devnet: Devnet) -> None:
    sequence(devnet, 2)
    expect_revert(devnet, devnet.verify(3, ROOT_A, WROOT), "batch not sequenced")
    assert devnet.rollup.consolidated_state_root() == GENESIS_ROOT


def test_invalid_verify_batches_nothing_sequenced(devnet: Devnet) -> None:
    expect_revert(devnet, devnet.verify(0, ROOT_A, WROOT), "batch already verified")


def test_invalid_verify_batches_not_beyond_consolidated(devnet: Devnet) -> None:
    sequence(devnet, 3)
    devnet.mine_receipt(devnet.verify(2, ROOT_A, WROOT))
    for final in (1, 2):
        expect_revert(devnet, devnet.verify(final, ROOT_B, WROOT), "batch already verified")
    assert devnet.rollup.consolidated_state_root() == ROOT_A
