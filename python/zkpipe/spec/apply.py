"""The state transition: per-transaction steps, lazy fee crediting, segments and batches.

Rules in brief:

- A deposit is credited to `recipient`, creating the account with the deposit's key if the slot is
  empty. If it cannot be credited (index out of range, the fee account, an invalid key, an occupied
  slot with another key, a balance overflow) it is *refunded*: consumed from the queue and paid
  back to its L1 sender through the withdrawals chain. Funds are never lost or given to another
  key, the queue never blocks, and a circuit enforces it with one selector. Only a deposit out of
  queue order is invalid.
- Fees are credited lazily: each user transaction adds its fee to `pending_fees`; the sum is
  credited to the fee account once, at the segment's end (`process_fee_credit`). During a segment
  the fee account's leaf and balance therefore exclude the segment's fees. To keep that sound and
  independent of segmentation, the fee account is a sink on L2: it neither sends nor receives
  (FEE_ACCOUNT_MISUSE), so no transaction ever reads its balance mid-segment; and a transaction is
  invalid if its fee would take the fee account's balance plus pending fees over u64
  (FEE_OVERFLOW), so the credit at the segment's end cannot overflow. Validity and the state
  after a batch are the same for every segment size. (Paying fees out to the operator is an L1
  matter: aggregated proofs expose the fee total.)
- The three commitment chains start at genesis and run on across batches (`State.commitments`).
- Invalid transactions raise `InvalidTransaction` and leave the state unchanged: every check comes
  before the first write. A batch contains only valid transactions (refunded deposits are valid).
- `process_*` and `apply_tx` mutate the state in place; `apply_segment` and `apply_batch` work on a
  copy, return the new state, and leave theirs untouched.
- The state after a batch, and which transactions are valid, do not depend on the segment size. A
  sequencer may execute with `apply_tx` alone and call `process_fee_credit` once at the batch's end;
  provers re-run `apply_batch` with their segment size to get the witnesses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from zkpipe.errors import BatchError, InvalidBatch, InvalidInput, InvalidTransaction, TxError
from zkpipe.native import validate_public_key
from zkpipe.spec.batch import (
    compute_accumulated_input_hash,
    compute_data_chain_step,
    compute_deposits_chain_step,
    compute_withdrawals_chain_step,
)
from zkpipe.spec.encoding import compute_tx_hash, is_well_formed
from zkpipe.spec.signing import is_valid_signature
from zkpipe.spec.state import (
    State,
    get_account,
    get_leaf_read,
    is_valid_account_index,
    set_account,
)
from zkpipe.spec.types import (
    FEE_ACCOUNT_INDEX,
    MAX_AMOUNT,
    MAX_NONCE,
    SEGMENT_SIZES,
    Account,
    Amount,
    Batch,
    ChainId,
    Commitment,
    Deposit,
    DepositIndex,
    Fee,
    Nonce,
    PublicKey,
    Transaction,
    Transfer,
    TxType,
    UserTransaction,
    Withdraw,
    WithdrawalRecord,
)
from zkpipe.spec.witness import (
    Commitments,
    LeafUpdate,
    Receipt,
    SegmentWitness,
    TxStatus,
    TxWitness,
)

SignatureCheck = Callable[[PublicKey, UserTransaction, ChainId], bool]
"""Decides whether a user transaction's signature is valid under a key on a chain; the spec's own is
`is_valid_signature`. An executor may pass an equivalent check backed by signatures it verified
ahead of time (in parallel); the rule itself does not change."""


@dataclass(frozen=True, slots=True)
class TxEffects:
    """What one step did beside changing the state: leaf updates (the witness) and any L1 payout."""

    updates: tuple[LeafUpdate, ...]
    withdrawal: WithdrawalRecord | None = None


@dataclass(frozen=True, slots=True)
class SegmentResult:
    """The state after a segment and the segment's witness."""

    state: State
    witness: SegmentWitness


@dataclass(frozen=True, slots=True)
class BatchResult:
    """The state after a batch, its receipts, per-segment witnesses, commitments and payouts."""

    state: State
    receipts: tuple[Receipt, ...]
    segments: tuple[SegmentWitness, ...]
    commitments: Commitments
    withdrawals: tuple[WithdrawalRecord, ...]
    accumulated_input_hash: Commitment


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def is_valid_public_key(public_key: PublicKey) -> bool:
    """Whether `public_key` is a valid, non-neutral ECgFp5 point in canonical encoding."""
    try:
        validate_public_key(public_key)
    except InvalidInput:
        return False
    return True


def get_deposit_refund_reason(state: State, deposit: Deposit) -> TxError | None:
    """Why `deposit` cannot be credited (so must be refunded), or None if it can."""
    if not is_valid_account_index(state, deposit.recipient):
        return TxError.ACCOUNT_INDEX_OUT_OF_RANGE
    # The fee account never receives: its balance may only grow at segment ends.
    if deposit.recipient == FEE_ACCOUNT_INDEX:
        return TxError.FEE_ACCOUNT_MISUSE
    if not is_valid_public_key(deposit.public_key):
        return TxError.INVALID_PUBLIC_KEY
    account = get_account(state, deposit.recipient)
    if account is None:
        return None
    # Crediting another key's account would hand the deposit to a stranger.
    if account.public_key != deposit.public_key:
        return TxError.DEPOSIT_KEY_MISMATCH
    if account.balance + deposit.amount > MAX_AMOUNT:
        return TxError.BALANCE_OVERFLOW
    return None


def _reject(error: TxError, message: str) -> InvalidTransaction:
    return InvalidTransaction(error, message)


# ---------------------------------------------------------------------------
# Transaction steps
# ---------------------------------------------------------------------------


def process_deposit(state: State, deposit: Deposit) -> TxEffects:
    """Credits a deposit from the L1 queue, creating the account if its slot is empty."""
    # Verify the deposit is the next one in the L1 queue
    if deposit.queue_index != state.next_deposit_index:
        raise _reject(
            TxError.DEPOSIT_OUT_OF_ORDER,
            f"deposit {deposit.queue_index} is not the next in the queue ({state.next_deposit_index})",
        )
    # Verify the deposit can be credited: index in range, not the fee account, a valid key, an empty
    # slot or one with the same key, no balance overflow (see get_deposit_refund_reason)
    reason = get_deposit_refund_reason(state, deposit)
    if reason is not None:
        raise _reject(reason, f"deposit {deposit.queue_index} cannot be credited: {reason}")

    account = get_account(state, deposit.recipient)
    if account is None:
        account = Account(deposit.public_key, Amount(0), Nonce(0))
    update = set_account(
        state,
        deposit.recipient,
        Account(account.public_key, Amount(account.balance + deposit.amount), account.nonce),
    )
    state.next_deposit_index = DepositIndex(state.next_deposit_index + 1)
    return TxEffects((update,))


def process_deposit_refund(state: State, deposit: Deposit) -> TxEffects:
    """Consumes a deposit that cannot be credited and pays it back to its L1 sender."""
    # Verify the deposit is the next one in the L1 queue
    if deposit.queue_index != state.next_deposit_index:
        raise _reject(
            TxError.DEPOSIT_OUT_OF_ORDER,
            f"deposit {deposit.queue_index} is not the next in the queue ({state.next_deposit_index})",
        )
    # Verify the deposit cannot be credited: a sequencer may not bounce a good deposit
    reason = get_deposit_refund_reason(state, deposit)
    if reason is None:
        raise _reject(TxError.DEPOSIT_NOT_REFUNDABLE, f"deposit {deposit.queue_index} must be credited")

    # A read of the recipient's leaf lets the circuit check the reason (key mismatch, overflow).
    reads = (
        (get_leaf_read(state, deposit.recipient),) if is_valid_account_index(state, deposit.recipient) else ()
    )
    state.next_deposit_index = DepositIndex(state.next_deposit_index + 1)
    refund = WithdrawalRecord(TxType.DEPOSIT, deposit.recipient, deposit.l1_sender, deposit.amount)
    return TxEffects(reads, refund)


def process_transfer(
    state: State, tx: Transfer, verify_signature: SignatureCheck = is_valid_signature
) -> TxEffects:
    """Moves `amount` from sender to recipient; the fee joins the segment's pending fees."""
    # Verify both indices are slots of the tree
    for index in (tx.sender, tx.recipient):
        if not is_valid_account_index(state, index):
            raise _reject(TxError.ACCOUNT_INDEX_OUT_OF_RANGE, f"account index {index} is out of range")
    # Verify the transfer moves funds between two accounts
    if tx.sender == tx.recipient:
        raise _reject(TxError.SELF_TRANSFER, "sender and recipient are the same account")
    # Verify neither side is the fee account (it only receives fees, at segment ends)
    if FEE_ACCOUNT_INDEX in (tx.sender, tx.recipient):
        raise _reject(TxError.FEE_ACCOUNT_MISUSE, "the fee account cannot send or receive transfers")
    # Verify the amount is positive
    if tx.amount == 0:
        raise _reject(TxError.ZERO_AMOUNT, "amount must be positive")
    # Verify both accounts exist (accounts are created by deposits only)
    sender = get_account(state, tx.sender)
    recipient = get_account(state, tx.recipient)
    if sender is None or recipient is None:
        missing = tx.sender if sender is None else tx.recipient
        raise _reject(TxError.UNKNOWN_ACCOUNT, f"account {missing} does not exist")
    # Verify the nonce is the sender's next one, and that it can still be incremented
    if tx.nonce != sender.nonce:
        raise _reject(TxError.WRONG_NONCE, f"nonce {tx.nonce}, expected {sender.nonce}")
    if sender.nonce == MAX_NONCE:
        raise _reject(TxError.NONCE_OVERFLOW, "the sender's nonce is exhausted")
    # Verify the sender signed the transfer
    if not verify_signature(sender.public_key, tx, state.chain_id):
        raise _reject(TxError.BAD_SIGNATURE, "signature does not verify under the sender's key on this chain")
    # Verify the sender can pay amount plus fee (over the integers: the circuit range-checks limbs)
    if tx.amount + tx.fee > sender.balance:
        raise _reject(TxError.INSUFFICIENT_BALANCE, "balance is below amount plus fee")
    # Verify the recipient's balance stays within u64
    if recipient.balance + tx.amount > MAX_AMOUNT:
        raise _reject(TxError.BALANCE_OVERFLOW, "the recipient's balance would exceed 2**64 - 1")
    # Verify the fee can be credited at the segment's end without overflow (the fee account only
    # loses balance mid-segment, so the bound still holds when the credit lands)
    if state.accounts[FEE_ACCOUNT_INDEX].balance + state.pending_fees + tx.fee > MAX_AMOUNT:
        raise _reject(TxError.FEE_OVERFLOW, "the fee account's balance would exceed 2**64 - 1")

    sender_update = set_account(
        state,
        tx.sender,
        Account(sender.public_key, Amount(sender.balance - tx.amount - tx.fee), Nonce(sender.nonce + 1)),
    )
    recipient_update = set_account(
        state,
        tx.recipient,
        Account(recipient.public_key, Amount(recipient.balance + tx.amount), recipient.nonce),
    )
    state.pending_fees = Fee(state.pending_fees + tx.fee)
    return TxEffects((sender_update, recipient_update))


def process_withdraw(
    state: State, tx: Withdraw, verify_signature: SignatureCheck = is_valid_signature
) -> TxEffects:
    """Burns `amount` from the sender and records an L1 payout; the fee joins the pending fees."""
    # Verify the sender index is a slot of the tree
    if not is_valid_account_index(state, tx.sender):
        raise _reject(TxError.ACCOUNT_INDEX_OUT_OF_RANGE, f"account index {tx.sender} is out of range")
    # Verify the sender is not the fee account (it only receives fees, at segment ends)
    if tx.sender == FEE_ACCOUNT_INDEX:
        raise _reject(TxError.FEE_ACCOUNT_MISUSE, "the fee account cannot withdraw")
    # Verify the amount is positive
    if tx.amount == 0:
        raise _reject(TxError.ZERO_AMOUNT, "amount must be positive")
    # Verify the L1 address is not zero (funds sent there are burnt for good)
    if not any(tx.l1_address):
        raise _reject(TxError.ZERO_L1_ADDRESS, "cannot withdraw to the zero address")
    # Verify the sender exists
    sender = get_account(state, tx.sender)
    if sender is None:
        raise _reject(TxError.UNKNOWN_ACCOUNT, f"account {tx.sender} does not exist")
    # Verify the nonce is the sender's next one, and that it can still be incremented
    if tx.nonce != sender.nonce:
        raise _reject(TxError.WRONG_NONCE, f"nonce {tx.nonce}, expected {sender.nonce}")
    if sender.nonce == MAX_NONCE:
        raise _reject(TxError.NONCE_OVERFLOW, "the sender's nonce is exhausted")
    # Verify the sender signed the withdrawal
    if not verify_signature(sender.public_key, tx, state.chain_id):
        raise _reject(TxError.BAD_SIGNATURE, "signature does not verify under the sender's key on this chain")
    # Verify the sender can pay amount plus fee
    if tx.amount + tx.fee > sender.balance:
        raise _reject(TxError.INSUFFICIENT_BALANCE, "balance is below amount plus fee")
    # Verify the fee can be credited at the segment's end without overflow (the fee account only
    # loses balance mid-segment, so the bound still holds when the credit lands)
    if state.accounts[FEE_ACCOUNT_INDEX].balance + state.pending_fees + tx.fee > MAX_AMOUNT:
        raise _reject(TxError.FEE_OVERFLOW, "the fee account's balance would exceed 2**64 - 1")

    update = set_account(
        state,
        tx.sender,
        Account(sender.public_key, Amount(sender.balance - tx.amount - tx.fee), Nonce(sender.nonce + 1)),
    )
    state.pending_fees = Fee(state.pending_fees + tx.fee)
    return TxEffects((update,), WithdrawalRecord(TxType.WITHDRAW, tx.sender, tx.l1_address, tx.amount))


def process_fee_credit(state: State) -> LeafUpdate:
    """Credits the pending fees to the fee account: the last step of every segment.

    The fee account's leaf is written even when no fee is pending, so every segment has one update.
    """
    fee_account = state.accounts[FEE_ACCOUNT_INDEX]
    # Verify the credit fits (guaranteed by FEE_OVERFLOW checks; kept so a bug cannot mint or wrap)
    if fee_account.balance + state.pending_fees > MAX_AMOUNT:
        raise _reject(TxError.FEE_OVERFLOW, "the fee account's balance would exceed 2**64 - 1")

    update = set_account(
        state,
        FEE_ACCOUNT_INDEX,
        Account(fee_account.public_key, Amount(fee_account.balance + state.pending_fees), fee_account.nonce),
    )
    state.pending_fees = Fee(0)
    return update


# ---------------------------------------------------------------------------
# Transactions, segments, batches
# ---------------------------------------------------------------------------


def apply_tx(
    state: State, tx: Transaction, verify_signature: SignatureCheck = is_valid_signature
) -> TxWitness:
    """Applies one transaction in place (fees stay pending); raises InvalidTransaction if invalid."""
    # Verify the transaction has a canonical encoding (hand-built ones may not)
    if not is_well_formed(tx):
        raise _reject(TxError.MALFORMED_ENCODING, "a field is out of range or has the wrong length")

    pending_before = state.pending_fees
    status, code = TxStatus.OK, None
    if isinstance(tx, Deposit):
        reason = get_deposit_refund_reason(state, tx)
        if reason is None:
            effects = process_deposit(state, tx)
        else:
            effects = process_deposit_refund(state, tx)
            status, code = TxStatus.REFUNDED, reason
    elif isinstance(tx, Transfer):
        effects = process_transfer(state, tx, verify_signature)
    else:
        effects = process_withdraw(state, tx, verify_signature)
    return TxWitness(
        tx=tx,
        receipt=Receipt(compute_tx_hash(tx), status, code),
        updates=effects.updates,
        withdrawal=effects.withdrawal,
        pending_fees_before=pending_before,
        pending_fees_after=state.pending_fees,
    )


def compute_commitments_step(heads: Commitments, witness: TxWitness) -> Commitments:
    """The chain heads after one applied transaction: data always, then withdrawals and deposits if any."""
    tx, withdrawal = witness.tx, witness.withdrawal
    return Commitments(
        data=compute_data_chain_step(heads.data, tx),
        withdrawals=heads.withdrawals
        if withdrawal is None
        else compute_withdrawals_chain_step(heads.withdrawals, withdrawal),
        deposits=compute_deposits_chain_step(heads.deposits, tx)
        if isinstance(tx, Deposit)
        else heads.deposits,
    )


def apply_segment(state: State, txs: Sequence[Transaction]) -> SegmentResult:
    """Applies consecutive transactions and credits their fees at the end; `state` is left untouched.

    The chains continue from `state.commitments`. Raises InvalidTransaction on the first invalid
    transaction.
    """
    if state.pending_fees != 0:
        raise InvalidInput("a segment must start with no pending fees")
    post = state.copy()
    root_before = post.tree.root
    commitments = heads = post.commitments
    queue_before = post.next_deposit_index
    witnesses: list[TxWitness] = []
    for tx in txs:
        witness = apply_tx(post, tx)
        witnesses.append(witness)
        heads = Commitments(
            data=compute_data_chain_step(heads.data, tx),
            withdrawals=heads.withdrawals
            if witness.withdrawal is None
            else compute_withdrawals_chain_step(heads.withdrawals, witness.withdrawal),
            deposits=compute_deposits_chain_step(heads.deposits, tx)
            if isinstance(tx, Deposit)
            else heads.deposits,
        )
    fee_sum = post.pending_fees
    fee_credit = process_fee_credit(post)
    post.commitments = heads
    segment = SegmentWitness(
        root_before=root_before,
        root_after=post.tree.root,
        txs=tuple(witnesses),
        fee_sum=fee_sum,
        fee_credit=fee_credit,
        commitments_before=commitments,
        commitments_after=heads,
        queue_before=queue_before,
        queue_after=post.next_deposit_index,
        chain_id=post.chain_id,
    )
    return SegmentResult(post, segment)


def apply_batch(state: State, batch: Batch, segment_size: int) -> BatchResult:
    """Applies a sequenced batch, cut into segments of `segment_size` (the last may be shorter).

    `state` is left untouched. Raises InvalidBatch if the batch does not follow `state`, and
    InvalidTransaction on any invalid transaction: a sequenced batch contains only valid ones. The
    resulting state does not depend on `segment_size`.
    """
    header = batch.header
    # Verify the segment size is one the circuits support
    if segment_size not in SEGMENT_SIZES:
        raise InvalidBatch(BatchError.BAD_SEGMENT_SIZE, f"segment size {segment_size} not in {SEGMENT_SIZES}")
    # Verify the batch follows the last one
    if header.number != state.batch_number + 1:
        raise InvalidBatch(BatchError.WRONG_BATCH_NUMBER, f"batch {header.number} after {state.batch_number}")
    if header.previous_accumulated_input_hash != state.accumulated_input_hash:
        raise InvalidBatch(BatchError.WRONG_PREVIOUS_INPUT_HASH, "previous accumulated input hash differs")
    if header.timestamp < state.timestamp:
        raise InvalidBatch(BatchError.TIMESTAMP_DECREASES, "timestamp is earlier than the last batch's")
    # Verify the deposit range starts where the queue stands and holds exactly the batch's deposits
    deposit_count = sum(isinstance(tx, Deposit) for tx in batch.transactions)
    if (
        header.deposit_start != state.next_deposit_index
        or header.deposit_end != header.deposit_start + deposit_count
    ):
        raise InvalidBatch(
            BatchError.DEPOSIT_RANGE_MISMATCH, "deposit range does not match the batch's deposits"
        )

    post = state.copy()
    segments: list[SegmentWitness] = []
    for start in range(0, len(batch.transactions), segment_size):
        result = apply_segment(post, batch.transactions[start : start + segment_size])
        post = result.state
        segments.append(result.witness)
    heads = post.commitments

    accumulated = compute_accumulated_input_hash(state.accumulated_input_hash, header, heads.data)
    post.batch_number = header.number
    post.timestamp = header.timestamp
    post.accumulated_input_hash = accumulated
    txs = [tx for segment in segments for tx in segment.txs]
    return BatchResult(
        state=post,
        receipts=tuple(tx.receipt for tx in txs),
        segments=tuple(segments),
        commitments=heads,
        withdrawals=tuple(tx.withdrawal for tx in txs if tx.withdrawal is not None),
        accumulated_input_hash=accumulated,
    )
