"""Reads of the store for the RPC and the KPI report."""

from __future__ import annotations

from zkpipe.node.store.db import Database
from zkpipe.node.store.schema import BATCH_COLUMNS, StoredBatch, StoredTx


class Reads(Database):
    """Transactions and batches by key, chain heads, timings and gas."""

    # -- reads for the RPC ------------------------------------------------------------------

    def tx_by_hash(self, tx_hash: bytes) -> StoredTx | None:
        """A stored transaction and its batch's status."""
        rows = self._read(
            "SELECT t.seq, t.hash, t.batch, t.status, t.code, t.data, t.submitted_at, t.trusted_at, "
            "b.status, b.virtual_at, b.consolidated_at, b.l1_block "
            "FROM txs t LEFT JOIN batches b ON b.number = t.batch WHERE t.hash = ?",
            (tx_hash,),
        )
        if not rows:
            return None
        r = rows[0]
        return StoredTx(
            r[0], bytes(r[1]), r[2], r[3], r[4], bytes(r[5]), r[6], r[7], r[8], r[9], r[10], r[11]
        )

    def batch_by_number(self, number: int) -> StoredBatch | None:
        """A closed batch."""
        rows = self._read(f"SELECT {BATCH_COLUMNS} FROM batches WHERE number = ?", (number,))
        return StoredBatch(*rows[0]) if rows else None

    def tx_hashes_by_batch(self, number: int) -> list[bytes]:
        """The hashes of a batch's transactions, in order."""
        return [
            bytes(h) for (h,) in self._read("SELECT hash FROM txs WHERE batch = ? ORDER BY seq", (number,))
        ]

    def batch_heads(self) -> dict[str, int]:
        """The last closed, virtual and consolidated batch numbers (0 if none)."""
        rows = self._read(
            "SELECT COALESCE(MAX(number), 0), "
            "COALESCE(MAX(CASE WHEN status IN ('virtual', 'consolidated') THEN number END), 0), "
            "COALESCE(MAX(CASE WHEN status = 'consolidated' THEN number END), 0) FROM batches"
        )
        closed, virtual, consolidated = rows[0]
        return {"trusted": int(closed), "virtual": int(virtual), "consolidated": int(consolidated)}

    def tx_count(self) -> int:
        """Stored transactions."""
        return int(self._read("SELECT COUNT(*) FROM txs")[0][0])

    def submitted_times(self, first_batch: int, last_batch: int) -> list[float]:
        """Submission times of the transactions of batches `first_batch..last_batch`."""
        return [
            float(t)
            for (t,) in self._read(
                "SELECT submitted_at FROM txs WHERE batch BETWEEN ? AND ?", (first_batch, last_batch)
            )
        ]

    def tx_times(self) -> list[tuple[float, float, float | None, float | None]]:
        """(submitted, trusted, virtual, consolidated) of every stored transaction, in sequence order."""
        return [
            (float(s), float(t), None if v is None else float(v), None if c is None else float(c))
            for s, t, v, c in self._read(
                "SELECT t.submitted_at, t.trusted_at, b.virtual_at, b.consolidated_at FROM txs t "
                "LEFT JOIN batches b ON b.number = t.batch ORDER BY t.seq"
            )
        ]

    def l1_gas_total(self) -> tuple[int, int]:
        """Total sequencing gas and the number of transactions in the batches it covered."""
        rows = self._read(
            "SELECT COALESCE(SUM(l1_gas), 0), COALESCE(SUM(tx_count), 0) FROM batches "
            "WHERE l1_gas IS NOT NULL"
        )
        return int(rows[0][0]), int(rows[0][1])
