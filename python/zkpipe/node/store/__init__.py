"""The node's durable store (SQLite, WAL): transactions in sequence order, batches, deposits, L1 status.

One `Store` per thread (each has its own connection). Writers are the sequencer (`SequenceLog`:
transactions and batches, one group commit per loop), the L1 sender and syncer (`L1Log`: send status,
events) and the proving pipeline (`WithdrawalLog`: withdrawal claim proofs; `ProvingLog`: the state after
the last consolidated window); readers are the RPC (`Reads`).
"""

from zkpipe.node.store.l1log import L1Log
from zkpipe.node.store.proving import ProvingLog
from zkpipe.node.store.reads import Reads
from zkpipe.node.store.schema import BATCH_STATUSES, SCHEMA, StoredBatch, StoredTx
from zkpipe.node.store.sequence import SequenceLog
from zkpipe.node.store.withdrawals import WithdrawalLog


class Store(SequenceLog, L1Log, Reads, WithdrawalLog, ProvingLog):
    """A connection to the node's database with every part's methods (create one per thread)."""


__all__ = [
    "BATCH_STATUSES",
    "SCHEMA",
    "L1Log",
    "ProvingLog",
    "Reads",
    "SequenceLog",
    "Store",
    "StoredBatch",
    "StoredTx",
    "WithdrawalLog",
]
