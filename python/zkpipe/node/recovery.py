"""Rebuilding the trusted state after a restart: the account snapshot of the last batch, then the tail."""

from __future__ import annotations

import logging

from zkpipe.errors import SnapshotInvalid, StorageError, ZkpipeError
from zkpipe.execution import Executor, SequentialExecutor, digest_bytes
from zkpipe.execution.engine import ExecutorFactory
from zkpipe.execution.executor import bytes_digest
from zkpipe.native import SparseMerkleTree
from zkpipe.node.store import Store, StoredBatch
from zkpipe.spec import (
    CHAIN_ID,
    Account,
    AccountIndex,
    BatchNumber,
    ChainId,
    Commitments,
    DepositIndex,
    Fee,
    PublicKey,
    SignatureCheck,
    State,
    Timestamp,
    compute_account_leaf,
    decode_tx,
    initial_state,
    is_valid_signature,
)

logger = logging.getLogger("zkpipe.node.recovery")

ZERO_HASH = bytes(32)


def recover(
    store: Store,
    fee_public_key: PublicKey,
    depth: int,
    verify_signature: SignatureCheck = is_valid_signature,
    new_executor: ExecutorFactory = SequentialExecutor,
    *,
    chain_id: ChainId = CHAIN_ID,
) -> tuple[Executor, int, bytes]:
    """The executor at the stored trusted state, the last sequence number and the last L1 acc hash.

    The state at the last closed batch comes from the `accounts` snapshot (checked against the
    batch's stored state root); the transactions of the open batch are replayed through the spec.
    """
    last = store.last_batch()
    if last is None:
        state = initial_state(fee_public_key, depth, chain_id)
        l1_acc = ZERO_HASH
        after = 0
    else:
        try:
            state = compute_state_at(last, store.accounts(), depth, chain_id)
        except SnapshotInvalid as err:
            # Why critical here: this snapshot is the only copy of the trusted state (no replay from it).
            raise StorageError(err.message) from None
        l1_acc = last.l1_acc_input_hash
        after = last.number
    executor = new_executor(state, verify_signature)
    replayed = 0
    for seq, data, _ in store.txs_after_batch(after):
        try:
            executor.execute(decode_tx(data))
        except ZkpipeError as err:
            raise StorageError(f"stored transaction {seq} no longer applies: {err}") from None
        replayed += 1
    logger.info("event=recovered batch=%d replayed=%d", after, replayed)
    return executor, store.last_seq(), l1_acc


def compute_state_at(
    batch: StoredBatch, accounts: dict[AccountIndex, Account], depth: int, chain_id: ChainId
) -> State:
    """The state after stored `batch` with these accounts; SnapshotInvalid unless their tree's root is
    the batch's stored state root (the counters and chain heads come from the batch row)."""
    tree = SparseMerkleTree(depth)
    tree.update([(index, compute_account_leaf(account)) for index, account in sorted(accounts.items())])
    if digest_bytes(tree.root) != batch.state_root:
        raise SnapshotInvalid(f"the account snapshot does not match the state root of batch {batch.number}")
    c = batch.commitments
    return State(
        tree=tree,
        accounts=accounts,
        next_deposit_index=DepositIndex(batch.deposit_end),
        pending_fees=Fee(0),
        commitments=Commitments(bytes_digest(c[:32]), bytes_digest(c[32:64]), bytes_digest(c[64:])),
        batch_number=BatchNumber(batch.number),
        timestamp=Timestamp(batch.timestamp),
        accumulated_input_hash=bytes_digest(batch.acc_input_hash),
        chain_id=chain_id,
    )
