"""The store's tables and the records read from them."""

from __future__ import annotations

from dataclasses import dataclass

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
CREATE TABLE IF NOT EXISTS proven_accounts (  -- every account after batch meta 'proven_batch', consolidated
    idx INTEGER PRIMARY KEY,                   -- on L1 (the proving pipeline's start-up snapshot)
    public_key BLOB NOT NULL,
    balance TEXT NOT NULL,
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
CREATE TABLE IF NOT EXISTS claim_proofs (  -- what claimWithdrawal needs, for every payout of a window
    final_batch INTEGER NOT NULL,       -- the window's last batch (names its verification on L1)
    batch INTEGER NOT NULL,
    idx INTEGER NOT NULL,               -- the payout's index within its batch
    tx_hash BLOB NOT NULL,              -- the L2 transaction that made it (withdraw or refunded deposit)
    recipient BLOB NOT NULL,
    amount TEXT NOT NULL,               -- gwei, u64 as decimal
    position INTEGER NOT NULL,          -- leaf position in the window's tree
    siblings BLOB NOT NULL,             -- bottom-up sibling hashes, 32 bytes each
    root BLOB NOT NULL,                 -- the window's withdrawals root
    PRIMARY KEY (final_batch, batch, idx)
);
CREATE INDEX IF NOT EXISTS claim_proofs_tx ON claim_proofs(tx_hash);
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


BATCH_COLUMNS = (
    "number, timestamp, deposit_start, deposit_end, tx_count, data, acc_input_hash, l1_acc_input_hash, "
    "state_root, commitments, closed_at, status, l1_tx_hash, sent_at, l1_block, virtual_at, "
    "consolidated_at, l1_gas"
)
