"""The native executor: the engine crate's Block-STM (or its sequential reference) behind `Executor`.

The engine applies the spec's rules for deposits, transfers and withdrawals to its own account map,
with the spec's codes and receipts (a differential test holds it to `zkpipe.spec`). Everything else
stays here: the signing digest and transaction hash come from the spec, and any transaction type
the engine does not know runs through the spec's `apply_tx` on the synchronised `State` — never a
silently different rule.

The `State` it exposes has the engine's accounts and counters after every call, but its tree is
brought up to date only when a batch closes (Merkleisation once per batch, from the touched leaves,
in parallel): between closes `state.tree.root` is the last closed batch's root.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from zkpipe.errors import InvalidTransaction, TxError
from zkpipe.execution.executor import ClosedBatch, ExecutedTx, SequentialExecutor
from zkpipe.native import (
    ZERO_DIGEST,
    Digest,
    ExecutionEngine,
    NativeAccount,
    NativeTx,
    data_chain,
    poseidon_hashes,
    tx_hashes,
)
from zkpipe.spec import (
    CHAIN_ID,
    Account,
    AccountIndex,
    Amount,
    ChainId,
    Commitments,
    Deposit,
    DepositIndex,
    Fee,
    Nonce,
    PublicKey,
    Receipt,
    SignatureCheck,
    State,
    Timestamp,
    Transaction,
    Transfer,
    TxStatus,
    TxType,
    UserTransaction,
    Withdraw,
    WithdrawalRecord,
    apply_tx,
    compute_deposits_chain_step,
    compute_signing_digest,
    compute_signing_elements,
    compute_withdrawals_chain_step,
    encode_tx,
    is_valid_signature,
    is_well_formed,
)
from zkpipe.spec.types import DOMAIN_TX_HASH

ExecutorFactory = Callable[[State, SignatureCheck], SequentialExecutor]
"""Builds an executor from a state at a batch boundary and a signature check."""


def executor_factory(engine: str) -> ExecutorFactory:
    """The executor for `execution.engine`: "parallel" (native, Block-STM) or "sequential" (the spec's)."""
    if engine == "sequential":
        return SequentialExecutor
    if engine == "parallel":
        return lambda state, check: NativeExecutor(state, check, parallel=True)
    raise ValueError(f"unknown execution engine {engine!r}")


VerifiedKey = Callable[[UserTransaction], PublicKey | None]
"""The key a user transaction's signature already verified under, if any (e.g. `VerifiedSignatures.take`)."""

_MALFORMED: NativeTx = (0, 0, 0, 0, 0, 0, b"", b"", ZERO_DIGEST, b"", None)


def to_native_tx(
    tx: Transaction,
    verified_key: PublicKey | None = None,
    chain_id: ChainId = CHAIN_ID,
    digest: Digest | None = None,
) -> NativeTx | None:
    """`tx` in the engine's form on chain `chain_id`, or None if the engine does not implement its type
    (`digest`: its signing digest, if already computed)."""
    kind = type(tx)
    if kind not in (Deposit, Transfer, Withdraw):
        return None
    if not is_well_formed(tx):
        return _MALFORMED
    if isinstance(tx, Deposit):
        return (1, tx.recipient, tx.queue_index, tx.amount, 0, 0, tx.public_key, b"", ZERO_DIGEST, b"", None)
    if digest is None:
        digest = compute_signing_digest(tx, chain_id)
    if isinstance(tx, Transfer):
        return (
            2,
            tx.sender,
            tx.recipient,
            tx.amount,
            tx.fee,
            tx.nonce,
            b"",
            b"",
            digest,
            tx.signature,
            verified_key,
        )
    assert isinstance(tx, Withdraw)
    return (
        3,
        tx.sender,
        0,
        tx.amount,
        tx.fee,
        tx.nonce,
        b"",
        tx.l1_address,
        digest,
        tx.signature,
        verified_key,
    )


def signing_digests(
    txs: Sequence[Transaction], chain_id: ChainId = CHAIN_ID, *, threads: int = 0
) -> list[Digest | None]:
    """The signing digest of each well-formed transfer and withdrawal of `txs` (None for the rest),
    in one native call for the chunk: `compute_signing_digest` without a call per transaction."""
    at: list[int] = []
    rows: list[list[int]] = []
    for i, tx in enumerate(txs):
        if isinstance(tx, Transfer | Withdraw) and is_well_formed(tx):
            at.append(i)
            rows.append(compute_signing_elements(tx, chain_id))
    digests: list[Digest | None] = [None] * len(txs)
    for i, digest in zip(at, poseidon_hashes(rows, threads=threads) if rows else [], strict=True):
        digests[i] = digest
    return digests


def native_accounts(state: State) -> list[NativeAccount]:
    """The state's accounts in the engine's form."""
    return [(i, a.public_key, a.balance, a.nonce) for i, a in state.accounts.items()]


def _payout(tx: Transaction, status: TxStatus) -> WithdrawalRecord | None:
    """The L1 payout of an applied transaction: a withdrawal, or a refunded deposit."""
    if isinstance(tx, Withdraw):
        return WithdrawalRecord(TxType.WITHDRAW, tx.sender, tx.l1_address, tx.amount)
    if isinstance(tx, Deposit) and status is TxStatus.REFUNDED:
        return WithdrawalRecord(TxType.DEPOSIT, tx.recipient, tx.l1_sender, tx.amount)
    return None


class NativeExecutor(SequentialExecutor):
    """Executes with the native engine: `parallel` (Block-STM, falling back to sequential when it
    cannot pay) or the native sequential engine; results equal the spec's `SequentialExecutor`."""

    verifies_signatures = True

    def __init__(
        self,
        state: State,
        verify_signature: SignatureCheck = is_valid_signature,
        *,
        parallel: bool = True,
        threads: int = 0,
        verified_key: VerifiedKey | None = None,
    ) -> None:
        super().__init__(state, verify_signature)
        self._engine = ExecutionEngine(state.tree.depth, native_accounts(state), state.next_deposit_index)
        self._parallel = parallel
        self._threads = threads
        self._verified_key = verified_key

    def execute(self, tx: Transaction) -> ExecutedTx:
        """Applies `tx`; raises InvalidTransaction (state unchanged) if invalid."""
        (result,) = self.execute_many([tx])
        if isinstance(result, InvalidTransaction):
            raise result
        return result

    def execute_many(self, txs: Sequence[Transaction]) -> list[ExecutedTx | InvalidTransaction]:
        """Applies `txs` in order, as one engine call per run of natively known transactions."""
        results: list[ExecutedTx | InvalidTransaction] = []
        run: list[Transaction] = []
        native: list[NativeTx] = []
        chain_id = self._state.chain_id
        digests = signing_digests(txs, chain_id, threads=self._threads)
        for tx, digest in zip(txs, digests, strict=True):
            key = None
            if self._verified_key is not None and isinstance(tx, Transfer | Withdraw):
                key = self._verified_key(tx)
            converted = to_native_tx(tx, key, chain_id, digest)
            if converted is not None:
                run.append(tx)
                native.append(converted)
                continue
            results += self._run(run, native)
            run, native = [], []
            results.append(self._execute_with_spec(tx))
        results += self._run(run, native)
        return results

    def _run(self, txs: list[Transaction], native: list[NativeTx]) -> list[ExecutedTx | InvalidTransaction]:
        """One engine call for a run; its applied transactions are hashed and chained per run, natively."""
        if not txs:
            return []
        outcomes = self._engine.execute(native, parallel=self._parallel, threads=self._threads)
        self._sync_from_engine()
        results: list[ExecutedTx | InvalidTransaction | None] = []
        applied: list[tuple[int, Transaction, TxStatus, str | None, bytes]] = []
        for tx, (status, code) in zip(txs, outcomes, strict=True):
            if status == 2:
                error = TxError(str(code))
                results.append(InvalidTransaction(error, f"{type(tx).__name__.lower()} rejected: {error}"))
                continue
            tx_status = TxStatus.OK if status == 0 else TxStatus.REFUNDED
            applied.append((len(results), tx, tx_status, code, encode_tx(tx)))
            results.append(None)
        if applied:
            encodings = [encoding for *_, encoding in applied]
            hashes = tx_hashes(DOMAIN_TX_HASH, encodings, threads=self._threads)
            heads = self._state.commitments
            withdrawals, deposits = heads.withdrawals, heads.deposits
            for (at, tx, tx_status, code, encoding), tx_hash in zip(applied, hashes, strict=True):
                payout = _payout(tx, tx_status)
                if payout is not None:
                    withdrawals = compute_withdrawals_chain_step(withdrawals, payout)
                if isinstance(tx, Deposit):
                    deposits = compute_deposits_chain_step(deposits, tx)
                receipt = Receipt(tx_hash, tx_status, None if code is None else TxError(code))
                results[at] = self._append(tx, receipt, encoding)
            # The data chain over the run's encodings in one call: the chain over each in turn (ADR 27).
            self._state.commitments = Commitments(
                data_chain(heads.data, b"".join(encodings)), withdrawals, deposits
            )
        done = [r for r in results if r is not None]
        assert len(done) == len(txs), "every applied transaction was recorded"
        return done

    def _sync_from_engine(self) -> None:
        """Copies the engine's changed accounts and counters into the spec `State`."""
        state = self._state
        for index, key, balance, nonce in self._engine.take_touched():
            state.accounts[AccountIndex(index)] = Account(PublicKey(key), Amount(balance), Nonce(nonce))
        state.next_deposit_index = DepositIndex(self._engine.next_deposit_index)
        state.pending_fees = Fee(self._engine.pending_fees)

    def _execute_with_spec(self, tx: Transaction) -> ExecutedTx | InvalidTransaction:
        """A transaction the engine does not implement: the spec applies it, the engine learns the result."""
        state = self._state
        self._engine.root(state.tree, threads=self._threads)  # the spec's witness needs the current tree
        try:
            witness = apply_tx(state, tx, self._verify_signature)
        except InvalidTransaction as err:
            return err
        for update in witness.updates:
            account = update.account_after
            if account is not None and account != update.account_before:
                self._engine.set_account((update.index, account.public_key, account.balance, account.nonce))
        self._engine.take_touched()
        self._engine.set_counters(state.next_deposit_index, state.pending_fees)
        return self._record(tx, witness.receipt, witness.withdrawal)

    def close_batch(self, timestamp: Timestamp) -> ClosedBatch:
        """Credits the fees, hashes the batch's touched leaves into the tree, closes the batch."""
        code = self._engine.credit_fees()
        if code is not None:  # unreachable: every accepted fee passed the FEE_OVERFLOW check
            raise InvalidTransaction(TxError(code), "the batch's fees cannot be credited")
        self._sync_from_engine()
        self._engine.root(self._state.tree, threads=self._threads)
        return self._seal(timestamp)
