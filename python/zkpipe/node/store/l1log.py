"""The L1 half of the store: sequenceBatches sends, and the events the syncer read with its cursor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zkpipe.node.store.db import Database
from zkpipe.node.store.schema import BATCH_COLUMNS, StoredBatch
from zkpipe.spec import AccountIndex, Amount, Deposit, DepositIndex, L1Address, PublicKey


class L1Log(Database):
    """Send records, batch L1 status, the deposit queue and the syncer's cursor."""

    # -- the sequence sender ---------------------------------------------------------------------

    def batches_by_status(self, status: str, limit: int = 1000) -> list[StoredBatch]:
        """Batches in `status`, oldest first."""
        rows = self._read(
            f"SELECT {BATCH_COLUMNS} FROM batches WHERE status = ? ORDER BY number LIMIT ?", (status, limit)
        )
        return [StoredBatch(*r) for r in rows]

    def mark_sending(self, numbers: Sequence[int], l1_tx_hash: str, sent_at: float) -> None:
        """Records that batches `numbers` went to L1 in `l1_tx_hash`."""
        self._write(
            [
                (
                    "UPDATE batches SET status = 'sending', l1_tx_hash = ?, sent_at = ? "
                    "WHERE number = ? AND status = 'closed'",
                    [(l1_tx_hash, sent_at, n) for n in numbers],
                    True,
                ),
                (
                    "INSERT OR REPLACE INTO l1_sends VALUES (?, ?, ?, ?, 'sent', NULL, NULL)",
                    (l1_tx_hash, min(numbers), max(numbers), sent_at),
                    False,
                ),
            ]
        )

    def record_send_outcome(
        self, l1_tx_hash: str, status: str, gas_used: int | None, block: int | None
    ) -> None:
        """Stores what became of a sequenceBatches transaction; shares its gas among its batches by bytes."""
        statements: list[tuple[str, Any, bool]] = [
            (
                "UPDATE l1_sends SET status = ?, gas_used = ?, l1_block = ? WHERE l1_tx_hash = ?",
                (status, gas_used, block, l1_tx_hash),
                False,
            )
        ]
        if status in ("failed", "lost"):
            # Why back to closed: the batches are not on L1, so the sender must post them again.
            statements.append(
                (
                    "UPDATE batches SET status = 'closed', l1_tx_hash = NULL, sent_at = NULL "
                    "WHERE l1_tx_hash = ? AND status = 'sending'",
                    (l1_tx_hash,),
                    False,
                )
            )
        elif gas_used is not None:
            rows = self._read("SELECT number, LENGTH(data) FROM batches WHERE l1_tx_hash = ?", (l1_tx_hash,))
            total = sum(length for _, length in rows) or 1
            statements.append(
                (
                    "UPDATE batches SET l1_gas = ? WHERE number = ?",
                    [(gas_used * length // total, number) for number, length in rows],
                    True,
                )
            )
        self._write(statements)

    def sends_by_status(self, status: str) -> list[tuple[str, int, int]]:
        """`(l1_tx_hash, first_batch, last_batch)` of sends in `status`."""
        return [
            (str(h), int(a), int(b))
            for h, a, b in self._read(
                "SELECT l1_tx_hash, first_batch, last_batch FROM l1_sends "
                "WHERE status = ? ORDER BY first_batch",
                (status,),
            )
        ]

    def count_sends_covering(self, number: int) -> int:
        """How many mined sequenceBatches transactions covered batch `number` (must be at most 1)."""
        return int(
            self._read(
                "SELECT COUNT(*) FROM l1_sends "
                "WHERE status = 'mined' AND first_batch <= ? AND last_batch >= ?",
                (number, number),
            )[0][0]
        )

    # -- the syncer ---------------------------------------------------------------------------------

    def apply_l1_events(
        self,
        *,
        cursor: int,
        deposits: Sequence[tuple[Deposit, int, float]],
        virtual: Sequence[tuple[int, int, float]],
        consolidated: Sequence[tuple[int, float]],
    ) -> None:
        """Stores what the syncer read from L1 up to block `cursor`, atomically with the cursor.

        `deposits` are `(deposit, l1_block, seen_at)`; `virtual` `(batch, l1_block, at)`;
        `consolidated` `(final_batch, at)`.
        """
        statements: list[tuple[str, Any, bool]] = [
            (
                "INSERT OR IGNORE INTO deposits VALUES (?,?,?,?,?,?,?)",
                [
                    (d.queue_index, d.recipient, d.public_key, str(d.amount), d.l1_sender, block, at)
                    for d, block, at in deposits
                ],
                True,
            ),
            (
                "UPDATE batches SET status = 'virtual', l1_block = ?, virtual_at = ? "
                "WHERE number = ? AND status IN ('closed', 'sending')",
                [(block, at, number) for number, block, at in virtual],
                True,
            ),
            (
                "UPDATE batches SET status = 'consolidated', consolidated_at = ? "
                "WHERE number <= ? AND status != 'consolidated'",
                [(at, final) for final, at in consolidated],
                True,
            ),
            ("INSERT OR REPLACE INTO meta VALUES ('l1_cursor', ?)", (str(cursor),), False),
        ]
        self._write(statements)

    def rewind_l1(self, cursor: int) -> None:
        """Forgets what the syncer stored from blocks after `cursor` (a re-sync reads them again):
        batches it marked virtual there go back to `closed`, and the cursor moves back."""
        self._write(
            [
                (
                    "UPDATE batches SET status = 'closed', l1_block = NULL, virtual_at = NULL "
                    "WHERE status = 'virtual' AND l1_block > ?",
                    (cursor,),
                    False,
                ),
                ("INSERT OR REPLACE INTO meta VALUES ('l1_cursor', ?)", (str(cursor),), False),
            ]
        )

    def deposits_from(self, queue_index: int) -> list[tuple[Deposit, float]]:
        """Stored deposits from `queue_index` on, in queue order, with when they were seen."""
        return [
            (
                Deposit(
                    DepositIndex(q), AccountIndex(r), PublicKey(bytes(k)), Amount(int(a)), L1Address(bytes(s))
                ),
                float(at),
            )
            for q, r, k, a, s, at in self._read(
                "SELECT queue_index, recipient, public_key, amount, l1_sender, seen_at FROM deposits "
                "WHERE queue_index >= ? ORDER BY queue_index",
                (queue_index,),
            )
        ]
