"""The sequencer's half of the store: group commits of transactions and batches, and recovery reads."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from zkpipe.execution import ClosedBatch, ExecutedTx, digest_bytes
from zkpipe.node.store.db import Database
from zkpipe.node.store.schema import BATCH_COLUMNS, StoredBatch
from zkpipe.spec import Account, AccountIndex, Amount, Deposit, Nonce, PublicKey, get_tx_type


class SequenceLog(Database):
    """Transactions in sequence order, closed batches and the account snapshot."""

    # -- the sequencer's group commit -----------------------------------------------------

    def commit_group(
        self,
        txs: Sequence[tuple[int, ExecutedTx, float]],
        batches: Sequence[tuple[ClosedBatch, bytes, float]],
        trusted_at: float,
    ) -> None:
        """Stores executed transactions `(seq, tx, submitted_at)` and closed batches `(batch, l1_acc, at)`
        in one durable transaction: when this returns, all of them survive a crash."""
        tx_rows = [
            (
                seq,
                digest_bytes(ex.receipt.tx_hash),
                ex.batch_number,
                int(get_tx_type(ex.tx)),
                None if isinstance(ex.tx, Deposit) else ex.tx.sender,
                None if isinstance(ex.tx, Deposit) else ex.tx.nonce,
                str(ex.receipt.status),
                None if ex.receipt.code is None else str(ex.receipt.code),
                ex.encoding,
                submitted_at,
                trusted_at,
            )
            for seq, ex, submitted_at in txs
        ]
        statements: list[tuple[str, Any, bool]] = [
            ("INSERT INTO txs VALUES (?,?,?,?,?,?,?,?,?,?,?)", tx_rows, True)
        ]
        for closed, l1_acc, closed_at in batches:
            h = closed.batch.header
            c = closed.commitments
            statements.append(
                (
                    f"INSERT INTO batches ({BATCH_COLUMNS}) VALUES "
                    "(?,?,?,?,?,?,?,?,?,?,?,'closed',NULL,NULL,NULL,NULL,NULL,NULL)",
                    (
                        h.number,
                        h.timestamp,
                        h.deposit_start,
                        h.deposit_end,
                        len(closed.batch.transactions),
                        closed.encoding,
                        digest_bytes(closed.accumulated_input_hash),
                        l1_acc,
                        digest_bytes(closed.state_root),
                        digest_bytes(c.data) + digest_bytes(c.withdrawals) + digest_bytes(c.deposits),
                        closed_at,
                    ),
                    False,
                )
            )
            statements.append(
                (
                    "INSERT OR REPLACE INTO accounts VALUES (?,?,?,?)",
                    [(i, a.public_key, str(a.balance), a.nonce) for i, a in sorted(closed.accounts.items())],
                    True,
                )
            )
        self._write(statements)

    # -- recovery ----------------------------------------------------------------------

    def last_seq(self) -> int:
        """The sequence number of the last stored transaction (0 if none)."""
        return int(self._read("SELECT COALESCE(MAX(seq), 0) FROM txs")[0][0])

    def last_batch(self) -> StoredBatch | None:
        """The last closed batch."""
        rows = self._read(f"SELECT {BATCH_COLUMNS} FROM batches ORDER BY number DESC LIMIT 1")
        return StoredBatch(*rows[0]) if rows else None

    def accounts(self) -> dict[AccountIndex, Account]:
        """The account snapshot as of the last closed batch."""
        return {
            AccountIndex(i): Account(PublicKey(bytes(k)), Amount(int(b)), Nonce(n))
            for i, k, b, n in self._read("SELECT idx, public_key, balance, nonce FROM accounts")
        }

    def txs_after_batch(self, batch: int) -> Iterator[tuple[int, bytes, float]]:
        """`(seq, encoding, submitted_at)` of every stored transaction of batches after `batch`, in order."""
        yield from (
            (int(s), bytes(d), float(t))
            for s, d, t in self._read(
                "SELECT seq, data, submitted_at FROM txs WHERE batch > ? ORDER BY seq", (batch,)
            )
        )

    def tx_encodings(self) -> list[bytes]:
        """Every stored transaction's encoding in sequence order (for audits and tests)."""
        return [bytes(d) for (d,) in self._read("SELECT data FROM txs ORDER BY seq")]
