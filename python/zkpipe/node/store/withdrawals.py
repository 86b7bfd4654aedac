"""The withdrawals half of the store: every payout's claim proof, kept with the window that covers it."""

from __future__ import annotations

from collections.abc import Sequence

from zkpipe.l1.withdrawals import Withdrawal, WithdrawalProof
from zkpipe.node.store.db import Database


class WithdrawalLog(Database):
    """Claim proofs by the L2 transaction that made the payout (a withdrawal or a refunded deposit)."""

    def store_claim_proofs(self, proofs: Sequence[tuple[bytes, WithdrawalProof, bytes]]) -> None:
        """Stores `(tx_hash, proof, withdrawals_root)` durably (before the window goes to L1)."""
        rows = [
            (
                p.final_batch_number,
                p.withdrawal.batch_number,
                p.withdrawal.index,
                tx_hash,
                p.withdrawal.recipient,
                str(p.withdrawal.amount_gwei),
                p.leaf_position,
                b"".join(p.siblings),
                root,
            )
            for tx_hash, p, root in proofs
        ]
        self._write([("INSERT OR REPLACE INTO claim_proofs VALUES (?,?,?,?,?,?,?,?,?)", rows, True)])

    def claim_proofs_by_tx(self, tx_hash: bytes) -> list[tuple[WithdrawalProof, bytes]]:
        """`(proof, withdrawals_root)` of the payout of `tx_hash`, newest window first (a window that
        failed on L1 and was formed again leaves an older row)."""
        rows = self._read(
            "SELECT final_batch, batch, idx, recipient, amount, position, siblings, root FROM claim_proofs "
            "WHERE tx_hash = ? ORDER BY final_batch DESC",
            (tx_hash,),
        )
        out = []
        for final, batch, idx, recipient, amount, position, siblings, root in rows:
            raw = bytes(siblings)
            proof = WithdrawalProof(
                int(final),
                Withdrawal(int(batch), int(idx), bytes(recipient), int(amount)),
                int(position),
                tuple(raw[i : i + 32] for i in range(0, len(raw), 32)),
            )
            out.append((proof, bytes(root)))
        return out
