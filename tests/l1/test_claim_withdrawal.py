"""`claimWithdrawal` and the withdrawals tree: payouts, proofs, and every rejection."""

from __future__ import annotations

import dataclasses

import pytest

from tests.l1.conftest import Devnet, expect_revert, make_batches
from zkpipe.errors import InvalidInput
from zkpipe.l1.chain import to_address
from zkpipe.l1.hashes import WEI_PER_GWEI, ZERO_HASH, keccak256
from zkpipe.l1.rollup import ClaimedWithdrawal
from zkpipe.l1.withdrawals import (
    Withdrawal,
    WithdrawalTree,
    compute_parent,
    compute_withdrawal_leaf,
    verify_withdrawal_proof,
)

RECIPIENTS = [bytes([0xA0 + i]) * 20 for i in range(5)]
ROOT = bytes.fromhex("aa" * 32)


def withdrawals() -> list[Withdrawal]:
    """Five withdrawals across batches 1 and 2 (a 5-leaf tree pads to 8)."""
    return [
        Withdrawal(1, 0, RECIPIENTS[0], 1_000),
        Withdrawal(1, 1, RECIPIENTS[1], 2_000),
        Withdrawal(2, 0, RECIPIENTS[2], 3),
        Withdrawal(2, 1, RECIPIENTS[3], 4_000_000),
        Withdrawal(2, 2, RECIPIENTS[4], 5),
    ]


def consolidate(devnet: Devnet, tree: WithdrawalTree, *, batches: int = 2, fund_gwei: int = 10**7) -> None:
    """Fund the contract by a deposit, sequence `batches`, and verify them all with `tree`'s root."""
    devnet.mine_receipt(devnet.rollup.deposit(1, b"\x01" * 40, fund_gwei, sender=devnet.user))
    ts = devnet.chain.latest_block().timestamp
    seq = make_batches(devnet, *[(ts, 1)] * batches)
    devnet.mine_receipt(devnet.rollup.sequence_batches(seq, sender=devnet.sequencer))
    devnet.mine_receipt(devnet.verify(batches, ROOT, tree.root))


def test_withdrawal_tree_proofs_verify_against_the_root() -> None:
    tree = WithdrawalTree(withdrawals())
    assert tree.depth == 3
    for position in range(5):
        assert verify_withdrawal_proof(tree.proof(position, final_batch_number=2), tree.root)
    proof = tree.proof(0, final_batch_number=2)
    assert not verify_withdrawal_proof(dataclasses.replace(proof, leaf_position=1), tree.root)


def test_withdrawal_tree_root_is_defined_by_the_docs() -> None:
    leaves = [compute_withdrawal_leaf(w) for w in withdrawals()[:3]] + [ZERO_HASH]
    expected = compute_parent(compute_parent(leaves[0], leaves[1]), compute_parent(leaves[2], leaves[3]))
    assert WithdrawalTree(withdrawals()[:3]).root == expected
    single = withdrawals()[0]
    assert WithdrawalTree([single]).root == compute_withdrawal_leaf(single)
    assert WithdrawalTree([]).root == ZERO_HASH
    assert compute_parent(b"\x01" * 32, b"\x02" * 32) == keccak256(b"\x01" * 32 + b"\x02" * 32)


def test_invalid_withdrawal_tree_proof_position_out_of_range() -> None:
    with pytest.raises(InvalidInput):
        WithdrawalTree(withdrawals()).proof(5, final_batch_number=2)


def test_claim_withdrawal_pays_every_leaf_once(devnet: Devnet) -> None:
    tree = WithdrawalTree(withdrawals())
    consolidate(devnet, tree)
    for position, w in enumerate(withdrawals()):
        proof = tree.proof(position, final_batch_number=2)
        # Anyone may submit a claim; the recipient is paid.
        receipt = devnet.mine_receipt(devnet.rollup.claim_withdrawal(proof, sender=devnet.other))
        recipient = to_address(w.recipient)
        assert devnet.chain.balance_by_address(recipient) == w.amount_gwei * WEI_PER_GWEI
        assert devnet.rollup.is_claimed(compute_withdrawal_leaf(w))
        assert devnet.rollup.events(receipt.block_number, receipt.block_number) == [
            ClaimedWithdrawal(
                2, w.batch_number, w.index, recipient, w.amount_gwei, receipt.block_number, receipt.tx_hash
            )
        ]
    paid = sum(w.amount_gwei for w in withdrawals())
    assert devnet.chain.balance_by_address(devnet.rollup.address) == (10**7 - paid) * WEI_PER_GWEI


def test_invalid_claim_withdrawal_twice(devnet: Devnet) -> None:
    tree = WithdrawalTree(withdrawals())
    consolidate(devnet, tree)
    proof = tree.proof(1, final_batch_number=2)
    devnet.mine_receipt(devnet.rollup.claim_withdrawal(proof, sender=devnet.user))
    expect_revert(devnet, devnet.rollup.claim_withdrawal(proof, sender=devnet.user), "already claimed")
    assert devnet.chain.balance_by_address(to_address(RECIPIENTS[1])) == 2_000 * WEI_PER_GWEI


def test_invalid_claim_withdrawal_with_bad_proof(devnet: Devnet) -> None:
    tree = WithdrawalTree(withdrawals())
    consolidate(devnet, tree)
    proof = tree.proof(3, final_batch_number=2)
    inflated = dataclasses.replace(
        proof, withdrawal=dataclasses.replace(proof.withdrawal, amount_gwei=5_000_000)
    )
    wrong_sibling = dataclasses.replace(proof, siblings=(ZERO_HASH, *proof.siblings[1:]))
    wrong_position = dataclasses.replace(proof, leaf_position=2)
    for bad in (inflated, wrong_sibling, wrong_position):
        expect_revert(devnet, devnet.rollup.claim_withdrawal(bad, sender=devnet.user), "bad proof")
    assert devnet.chain.balance_by_address(to_address(RECIPIENTS[3])) == 0


def test_invalid_claim_withdrawal_position_outside_tree(devnet: Devnet) -> None:
    tree = WithdrawalTree(withdrawals())
    consolidate(devnet, tree)
    proof = tree.proof(0, final_batch_number=2)
    aliased = dataclasses.replace(proof, leaf_position=proof.leaf_position + 2**tree.depth)
    expect_revert(
        devnet, devnet.rollup.claim_withdrawal(aliased, sender=devnet.user), "position outside tree"
    )


def test_invalid_claim_withdrawal_unknown_verification(devnet: Devnet) -> None:
    tree = WithdrawalTree(withdrawals())
    consolidate(devnet, tree, batches=3)
    # Batches 1..3 were verified at once: there is no verification ending at 2.
    proof = tree.proof(0, final_batch_number=2)
    expect_revert(devnet, devnet.rollup.claim_withdrawal(proof, sender=devnet.user), "unknown verification")


def test_invalid_claim_withdrawal_batch_outside_verification(devnet: Devnet) -> None:
    outside = [*withdrawals(), Withdrawal(3, 0, RECIPIENTS[0], 7)]
    tree = WithdrawalTree(outside)
    consolidate(devnet, tree)  # verifies batches 1..2, but the tree has a leaf of batch 3
    proof = tree.proof(5, final_batch_number=2)
    tx = devnet.rollup.claim_withdrawal(proof, sender=devnet.user)
    expect_revert(devnet, tx, "batch outside verification")


def test_invalid_claim_withdrawal_before_any_verification(devnet: Devnet) -> None:
    proof = WithdrawalTree(withdrawals()).proof(0, final_batch_number=1)
    expect_revert(devnet, devnet.rollup.claim_withdrawal(proof, sender=devnet.user), "unknown verification")


def test_invalid_claim_withdrawal_against_an_empty_root(devnet: Devnet) -> None:
    consolidate(devnet, WithdrawalTree([]))
    proof = WithdrawalTree(withdrawals()[:1]).proof(0, final_batch_number=2)
    expect_revert(devnet, devnet.rollup.claim_withdrawal(proof, sender=devnet.user), "bad proof")


def test_invalid_claim_withdrawal_the_contract_cannot_pay_stays_claimable(devnet: Devnet) -> None:
    tree = WithdrawalTree(withdrawals())
    consolidate(devnet, tree, fund_gwei=1_000)  # holds 1_000 gwei; leaf 3 asks for 4_000_000
    proof = tree.proof(3, final_batch_number=2)
    expect_revert(devnet, devnet.rollup.claim_withdrawal(proof, sender=devnet.user), "reverted")
    assert not devnet.rollup.is_claimed(compute_withdrawal_leaf(proof.withdrawal))
