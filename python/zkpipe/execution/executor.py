"""The executor interface and the sequential engine over the spec's `apply_tx`.

The sequencer applies transactions one at a time with `apply_tx` and credits the fees once, when
the batch closes (`process_fee_credit`); the spec guarantees the same state and validity as the
provers' `apply_batch` with any segment size.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from zkpipe.errors import InvalidTransaction
from zkpipe.native import Digest
from zkpipe.spec import (
    FEE_ACCOUNT_INDEX,
    Account,
    AccountIndex,
    Batch,
    BatchHeader,
    BatchNumber,
    Commitment,
    Commitments,
    Deposit,
    DepositIndex,
    Receipt,
    SignatureCheck,
    State,
    StateRoot,
    Timestamp,
    Transaction,
    Transfer,
    TxWitness,
    WithdrawalRecord,
    apply_tx,
    compute_accumulated_input_hash,
    compute_commitments_step,
    encode_batch,
    encode_tx,
    is_valid_signature,
    process_fee_credit,
)

_DIGEST = struct.Struct("<4Q")


def digest_bytes(digest: Digest) -> bytes:
    """A digest (four u64 field elements) as 32 bytes: each element little-endian, in order."""
    return _DIGEST.pack(*digest)


def bytes_digest(data: bytes) -> Digest:
    """The inverse of `digest_bytes`."""
    if len(data) != 32:
        raise ValueError("a digest is 32 bytes")
    a, b, c, d = _DIGEST.unpack(data)
    return (a, b, c, d)


@dataclass(frozen=True, slots=True)
class ExecutedTx:
    """A transaction the executor applied: its receipt, canonical encoding and batch."""

    tx: Transaction
    receipt: Receipt
    encoding: bytes
    batch_number: BatchNumber
    """The (open) batch the transaction belongs to."""


@dataclass(frozen=True, slots=True)
class ClosedBatch:
    """A batch the executor closed, with the state it leaves behind."""

    batch: Batch
    encoding: bytes
    accumulated_input_hash: Commitment
    state_root: StateRoot
    commitments: Commitments
    accounts: dict[AccountIndex, Account]
    """Every account the batch touched, as it stands after the batch (a state snapshot delta)."""


class Executor(Protocol):
    """Applies ordered transactions to the trusted state and cuts them into batches."""

    verifies_signatures: bool
    """Whether it verifies signatures on every core itself (else its caller may verify them ahead)."""

    def execute(self, tx: Transaction) -> ExecutedTx:
        """Applies `tx` to the open batch; raises InvalidTransaction and changes nothing if invalid."""
        ...

    def execute_many(self, txs: Sequence[Transaction]) -> list[ExecutedTx | InvalidTransaction]:
        """Applies `txs` in order, as `execute` would one by one; each result or its rejection."""
        ...

    def close_batch(self, timestamp: Timestamp) -> ClosedBatch:
        """Closes the open batch (credits its fees) and opens the next one."""
        ...

    def account_by_index(self, index: AccountIndex) -> Account | None:
        """The trusted account at `index` (the fee account excludes the open batch's fees)."""
        ...

    def open_batch_size(self) -> tuple[int, int]:
        """Transactions and data bytes in the open batch."""
        ...

    @property
    def state(self) -> State:
        """The trusted state (read-only for callers)."""
        ...


class SequentialExecutor:
    """The reference engine: `apply_tx` per transaction, in order, on one thread."""

    verifies_signatures = False
    """Whether the executor verifies signatures on every core itself (else the caller may do it ahead)."""

    def __init__(self, state: State, verify_signature: SignatureCheck = is_valid_signature) -> None:
        if state.pending_fees != 0:
            raise ValueError("an executor starts at a batch boundary (no pending fees)")
        self._state = state
        self._verify_signature = verify_signature
        self._open: list[Transaction] = []
        self._open_bytes = 0
        self._touched: set[AccountIndex] = set()
        self._deposit_start = state.next_deposit_index

    @property
    def state(self) -> State:
        """The trusted state."""
        return self._state

    def execute(self, tx: Transaction) -> ExecutedTx:
        """Applies `tx` with the spec; raises InvalidTransaction (state unchanged) if invalid."""
        witness = apply_tx(self._state, tx, self._verify_signature)
        return self._record(tx, witness.receipt, witness.withdrawal)

    def execute_many(self, txs: Sequence[Transaction]) -> list[ExecutedTx | InvalidTransaction]:
        """Applies `txs` in order, one by one; each result or its rejection."""
        results: list[ExecutedTx | InvalidTransaction] = []
        for tx in txs:
            try:
                results.append(self.execute(tx))
            except InvalidTransaction as err:
                results.append(err)
        return results

    def _record(self, tx: Transaction, receipt: Receipt, withdrawal: WithdrawalRecord | None) -> ExecutedTx:
        """Adds an applied transaction to the open batch and advances the chains."""
        state = self._state
        # The chains read only the transaction and its payout, so a witness without leaf updates serves.
        step = TxWitness(tx, receipt, (), withdrawal, state.pending_fees, state.pending_fees)
        state.commitments = compute_commitments_step(state.commitments, step)
        return self._append(tx, receipt, encode_tx(tx))

    def _append(self, tx: Transaction, receipt: Receipt, encoding: bytes) -> ExecutedTx:
        """Adds an applied transaction, whose chain steps are done, to the open batch."""
        state = self._state
        self._open.append(tx)
        self._open_bytes += len(encoding)
        if isinstance(tx, Deposit):
            self._touched.add(tx.recipient)
        else:
            self._touched.add(tx.sender)
            if isinstance(tx, Transfer):
                self._touched.add(tx.recipient)
        return ExecutedTx(tx, receipt, encoding, BatchNumber(state.batch_number + 1))

    def close_batch(self, timestamp: Timestamp) -> ClosedBatch:
        """Credits the fees, computes the header and accumulated input hash, and opens the next batch."""
        process_fee_credit(self._state)
        return self._seal(timestamp)

    def _seal(self, timestamp: Timestamp) -> ClosedBatch:
        """Closes the open batch once its fees are credited and its tree is up to date."""
        state = self._state
        header = BatchHeader(
            number=BatchNumber(state.batch_number + 1),
            timestamp=Timestamp(max(timestamp, state.timestamp)),
            deposit_start=self._deposit_start,
            deposit_end=DepositIndex(state.next_deposit_index),
            previous_accumulated_input_hash=state.accumulated_input_hash,
        )
        accumulated = compute_accumulated_input_hash(
            state.accumulated_input_hash, header, state.commitments.data
        )
        state.batch_number = header.number
        state.timestamp = header.timestamp
        state.accumulated_input_hash = accumulated
        batch = Batch(header, tuple(self._open))
        touched = self._touched | {FEE_ACCOUNT_INDEX}
        accounts = {index: state.accounts[index] for index in touched if index in state.accounts}
        self._open = []
        self._open_bytes = 0
        self._touched = set()
        self._deposit_start = state.next_deposit_index
        return ClosedBatch(
            batch, encode_batch(batch), accumulated, state.tree.root, state.commitments, accounts
        )

    def account_by_index(self, index: AccountIndex) -> Account | None:
        """The trusted account at `index`."""
        return self._state.accounts.get(index)

    def open_batch_size(self) -> tuple[int, int]:
        """Transactions and data bytes in the open batch."""
        return len(self._open), self._open_bytes
