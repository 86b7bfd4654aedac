"""The node's durable store (SQLite, WAL): transactions in sequence order, batches, deposits, L1 status.

One `Store` per thread (each has its own connection). Writers are the sequencer (transactions and
batches, one group commit per loop) and the L1 worker (send status, events); readers are the RPC.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zkpipe.errors import StorageError
from zkpipe.execution import ClosedBatch, ExecutedTx, digest_bytes
from zkpipe.spec import (
    Account,
    AccountIndex,
    Amount,
    Deposit,
    DepositIndex,
    L1Address,
    Nonce,
    PublicKey,
    get_tx_type,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS txs (
    seq INTEGER PRIMARY KEY,            -- sequence order, from 1
    hash BLOB NOT NULL UNIQUE,          -- compute_tx_hash as 32 bytes
    batch INTEGER NOT NULL,             -- the batch it belongs to (no batches row yet: the open batch)
    kind INTEGER NOT NULL,              -- TxType
    sender INTEGER,                     -- NULL for deposits
    nonce INTEGER,
    status TEXT NOT NULL,               -- ok | refunded
    code TEXT,                          -- TxError of a refunded deposit
    data BLOB NOT NULL,                 -- canonical encoding
    submitted_at REAL NOT NULL,         -- unix seconds: RPC arrival, or when the syncer saw the deposit
    trusted_at REAL NOT NULL            -- unix seconds: when the group commit holding it finished
);
CREATE INDEX IF NOT EXISTS txs_batch ON txs(batch);
CREATE TABLE IF NOT EXISTS batches (
    number INTEGER PRIMARY KEY,
    timestamp INTEGER NOT NULL,
    deposit_start INTEGER NOT NULL,
    deposit_end INTEGER NOT NULL,
    tx_count INTEGER NOT NULL,
    data BLOB NOT NULL,                 -- encode_batch: what goes to L1
    acc_input_hash BLOB NOT NULL,       -- the spec's (Poseidon) accumulated input hash
    l1_acc_input_hash BLOB NOT NULL,    -- the contract's (keccak) accumulated input hash
    state_root BLOB NOT NULL,
    commitments BLOB NOT NULL,          -- data | withdrawals | deposits chain heads, 96 bytes
    closed_at REAL NOT NULL,
    status TEXT NOT NULL,               -- closed | sending | virtual | consolidated
    l1_tx_hash TEXT,
    sent_at REAL,
    l1_block INTEGER,
    virtual_at REAL,
    consolidated_at REAL,
    l1_gas INTEGER                      -- this batch's share (by bytes) of its sequenceBatches gas
);
CREATE INDEX IF NOT EXISTS batches_status ON batches(status);
CREATE TABLE IF NOT EXISTS accounts (   -- every account as of the last closed batch (recovery snapshot)
    idx INTEGER PRIMARY KEY,
    public_key BLOB NOT NULL,
    balance TEXT NOT NULL,              -- u64 as decimal (SQLite integers are signed 64-bit)
    nonce INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deposits (   -- the L1 deposit queue as the syncer saw it
    queue_index INTEGER PRIMARY KEY,
    recipient INTEGER NOT NULL,
    public_key BLOB NOT NULL,
    amount TEXT NOT NULL,
    l1_sender BLOB NOT NULL,
    l1_block INTEGER NOT NULL,
    seen_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS l1_sends (   -- every sequenceBatches transaction
    l1_tx_hash TEXT PRIMARY KEY,
    first_batch INTEGER NOT NULL,
    last_batch INTEGER NOT NULL,
    sent_at REAL NOT NULL,
    status TEXT NOT NULL,               -- sent | mined | failed | lost
    gas_used INTEGER,
    l1_block INTEGER
);
"""

BATCH_STATUSES = ("closed", "sending", "virtual", "consolidated")
"""A batch's L1 status, in order."""


@dataclass(frozen=True, slots=True)
class StoredTx:
    """One row of `txs`, joined with its batch's L1 status."""

    seq: int
    hash: bytes
    batch: int
    status: str
    code: str | None
    data: bytes
    submitted_at: float
    trusted_at: float
    batch_status: str | None
    """None while the batch is open."""
    virtual_at: float | None
    consolidated_at: float | None
    l1_block: int | None


@dataclass(frozen=True, slots=True)
class StoredBatch:
    """One row of `batches`."""

    number: int
    timestamp: int
    deposit_start: int
    deposit_end: int
    tx_count: int
    data: bytes
    acc_input_hash: bytes
    l1_acc_input_hash: bytes
    state_root: bytes
    commitments: bytes
    closed_at: float
    status: str
    l1_tx_hash: str | None
    sent_at: float | None
    l1_block: int | None
    virtual_at: float | None
    consolidated_at: float | None
    l1_gas: int | None


_BATCH_COLUMNS = (
    "number, timestamp, deposit_start, deposit_end, tx_count, data, acc_input_hash, l1_acc_input_hash, "
    "state_root, commitments, closed_at, status, l1_tx_hash, sent_at, l1_block, virtual_at, "
    "consolidated_at, l1_gas"
)


class Store:
    """A connection to the node's database (create one per thread)."""

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Why isolation_level=None: transactions are explicit (BEGIN IMMEDIATE … COMMIT), one per group.
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as err:
            raise StorageError(f"cannot open the store at {path}: {err}") from None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Closes the connection."""
        self._db.close()

    # -- plumbing --------------------------------------------------------------------

    def _write(self, statements: Sequence[tuple[str, Sequence[Any] | list[Sequence[Any]], bool]]) -> None:
        """Runs `(sql, params, many)` statements in one durable transaction."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for sql, params, many in statements:
                        if many:
                            self._db.executemany(sql, params)
                        else:
                            self._db.execute(sql, params)
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as err:
                raise StorageError(f"write failed: {err}") from None

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as err:
                raise StorageError(f"read failed: {err}") from None

    # -- meta ------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """A stored setting (fee key, contract address, L1 cursor, …)."""
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def set_meta(self, **values: str) -> None:
        """Stores settings durably."""
        self._write([("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()), True)])

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
                    f"INSERT INTO batches ({_BATCH_COLUMNS}) VALUES "
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
        rows = self._read(f"SELECT {_BATCH_COLUMNS} FROM batches ORDER BY number DESC LIMIT 1")
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
        rows = self._read(f"SELECT {_BATCH_COLUMNS} FROM batches WHERE number = ?", (number,))
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

    # -- the sequence sender ---------------------------------------------------------------------

    def batches_by_status(self, status: str, limit: int = 1000) -> list[StoredBatch]:
        """Batches in `status`, oldest first."""
        rows = self._read(
            f"SELECT {_BATCH_COLUMNS} FROM batches WHERE status = ? ORDER BY number LIMIT ?", (status, limit)
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
