"""Withdrawals a user can claim: a window's payouts, their claim proofs, and serving them.

The claim proofs of a window are computed from the spec's results and stored (with the L2
transaction that made each payout) *before* the window's verifyBatches goes to L1, so a node
killed at any point still has them. A stored proof is served only once L1's withdrawals root for
its window equals the root it was built against: that is the proof `claimWithdrawal` accepts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zkpipe.execution import digest_bytes
from zkpipe.l1.rollup import RollupContract
from zkpipe.l1.withdrawals import (
    Withdrawal,
    WithdrawalProof,
    WithdrawalTree,
    compute_withdrawal_leaf,
    withdrawal_proof_to_json,
)
from zkpipe.node.store import WithdrawalLog
from zkpipe.spec import BatchResult


@dataclass(frozen=True, slots=True)
class Payout:
    """One payout of a window and the L2 transaction that made it (a withdrawal or a refunded deposit)."""

    tx_hash: bytes
    withdrawal: Withdrawal


def compute_window_payouts(batches: Sequence[tuple[int, BatchResult]]) -> list[Payout]:
    """The payouts of a window's batches `(number, result)`, in order (index = position in its batch)."""
    payouts = []
    for number, result in batches:
        index = 0
        for segment in result.segments:
            for tx in segment.txs:
                if tx.withdrawal is None:
                    continue
                w = tx.withdrawal
                payouts.append(
                    Payout(
                        digest_bytes(tx.receipt.tx_hash),
                        Withdrawal(number, index, bytes(w.l1_address), int(w.amount)),
                    )
                )
                index += 1
    return payouts


def compute_claim_proofs(
    payouts: Sequence[Payout], final_batch_number: int
) -> tuple[WithdrawalTree, list[tuple[bytes, WithdrawalProof, bytes]]]:
    """The window's withdrawals tree and every payout's `(tx_hash, claim proof, root)`."""
    tree = WithdrawalTree([p.withdrawal for p in payouts])
    proofs = [
        (p.tx_hash, tree.proof(position, final_batch_number=final_batch_number), tree.root)
        for position, p in enumerate(payouts)
    ]
    return tree, proofs


def withdrawal_proof_json(
    store: WithdrawalLog, rollup: RollupContract, tx_hash: bytes
) -> dict[str, Any] | None:
    """The claim proof of the payout made by `tx_hash`, once L1 verified its window; None before
    (or if the transaction made no payout). `claimed` says whether L1 has paid it already."""
    for proof, root in store.claim_proofs_by_tx(tx_hash):
        if rollup.withdrawals_root(proof.final_batch_number) != root:
            continue  # that window is not (or not yet) the one L1 verified
        return {
            "tx_hash": "0x" + tx_hash.hex(),
            **withdrawal_proof_to_json(proof),
            "withdrawals_root": "0x" + root.hex(),
            "claimed": rollup.is_claimed(compute_withdrawal_leaf(proof.withdrawal)),
        }
    return None
