"""The native engine (Block-STM and its sequential reference) against the spec's executor."""

from __future__ import annotations

import contextlib
import dataclasses
import random

import pytest

from zkpipe.errors import InvalidTransaction
from zkpipe.execution import ClosedBatch, ExecutedTx, SequentialExecutor
from zkpipe.execution.engine import NativeExecutor, signing_digests
from zkpipe.native import keygen
from zkpipe.spec import (
    MAX_AMOUNT,
    AccountIndex,
    Amount,
    ChainId,
    Deposit,
    DepositIndex,
    Fee,
    L1Address,
    Nonce,
    PublicKey,
    Signature,
    Timestamp,
    Transaction,
    Transfer,
    UserTransaction,
    compute_signing_digest,
    initial_state,
    is_well_formed,
    sign_transfer,
    sign_withdraw,
)

DEPTH = 10
KEYS = [keygen(bytes([i + 1]) * 32) for i in range(24)]
FEE_PK = PublicKey(keygen(b"\xff" * 32)[1])
L1 = L1Address(b"\x02" * 20)


def _deposit(queue_index: int, recipient: int, key: int, amount: int) -> Deposit:
    return Deposit(
        DepositIndex(queue_index), AccountIndex(recipient), PublicKey(KEYS[key][1]), Amount(amount), L1
    )


def _transfer(key: int, sender: int, recipient: int, amount: int, fee: int, nonce: int) -> Transfer:
    return sign_transfer(
        KEYS[key][0], AccountIndex(sender), AccountIndex(recipient), Amount(amount), Fee(fee), Nonce(nonce)
    )


def _random_workload(seed: int, count: int) -> list[Transaction]:
    """Deposits (some creating accounts mid-way, some refunded), transfers and withdrawals, about a
    fifth of them invalid in one way or another; accounts live at index = key + 1."""
    rng = random.Random(seed)
    scratch = SequentialExecutor(initial_state(FEE_PK, DEPTH))  # tracks the nonces that are valid
    txs: list[Transaction] = []
    created: set[int] = set()

    def add(tx: Transaction) -> None:
        txs.append(tx)
        with contextlib.suppress(InvalidTransaction):
            scratch.execute(tx)

    for i in range(12):  # most accounts exist before the first user transaction
        add(_deposit(i, i + 1, i, rng.choice([50, 500, 5_000])))
        created.add(i)
    for _ in range(count):
        roll = rng.random()
        if roll < 0.08:
            key = rng.randrange(len(KEYS))
            target = rng.choice([key + 1, key + 1, 0, 2**DEPTH, (key + 3) % len(KEYS) + 1])
            # an out-of-order queue index, a huge amount (overflow), or an ordinary one
            queue = scratch.state.next_deposit_index + (0 if rng.random() > 0.1 else 1)
            add(_deposit(queue, target, key, rng.choice([7, 900, MAX_AMOUNT - 10])))
            created.add(key)
            continue
        key = rng.choice(sorted(created)) if rng.random() < 0.95 else rng.randrange(len(KEYS))
        sender = key + 1
        account = scratch.state.accounts.get(AccountIndex(sender))
        nonce = (account.nonce if account is not None else 0) + (0 if rng.random() > 0.05 else 1)
        amount = rng.choice([1, 2, 3, 5, 40, 400, 0]) if rng.random() < 0.95 else MAX_AMOUNT
        fee = rng.choice([0, 1, 2])
        if roll < 0.25:
            add(sign_withdraw(KEYS[key][0], AccountIndex(sender), L1, Amount(amount), Fee(fee), Nonce(nonce)))
            continue
        if roll > 0.99:  # no canonical encoding (amount above u64)
            add(
                Transfer(
                    AccountIndex(sender),
                    AccountIndex(1),
                    Amount(2**64),
                    Fee(0),
                    Nonce(nonce),
                    Signature(bytes(80)),
                )
            )
            continue
        recipient = rng.choice([rng.choice(sorted(created)) + 1] * 8 + [1, 2, 0, sender, 2**DEPTH + 1, 23])
        signer = key if rng.random() > 0.03 else (key + 1) % len(KEYS)
        add(_transfer(signer, sender, recipient, amount, fee, nonce))
    return txs


def _run(
    executor: SequentialExecutor, txs: list[Transaction], cuts: list[int]
) -> tuple[list[object], list[ClosedBatch]]:
    outcomes: list[object] = []
    closed: list[ClosedBatch] = []
    start = 0
    for n, end in enumerate([*cuts, len(txs)]):
        chunk = txs[start:end]
        if isinstance(executor, NativeExecutor):
            results = executor.execute_many(chunk)
        else:
            results = []
            for tx in chunk:
                try:
                    results.append(executor.execute(tx))
                except InvalidTransaction as err:
                    results.append(err)
        outcomes += [r.receipt if isinstance(r, ExecutedTx) else r.error for r in results]
        closed.append(executor.close_batch(Timestamp(1000 + n)))
        start = end
    return outcomes, closed


def _assert_same(
    reference: SequentialExecutor, engine: NativeExecutor, txs: list[Transaction], cuts: list[int]
) -> None:
    expected, expected_batches = _run(reference, txs, cuts)
    got, batches = _run(engine, txs, cuts)
    assert got == expected
    assert batches == expected_batches  # header, encoding, root, chains and touched accounts
    assert engine.state.accounts == reference.state.accounts
    assert engine.state.tree.root == reference.state.tree.root


@pytest.mark.parametrize(("seed", "parallel"), [(1, True), (2, True), (3, False)])
def test_random_batches_match_the_spec(seed: int, parallel: bool) -> None:
    txs = _random_workload(seed, 260)
    cuts = [40, 200]  # batches closed mid-way: same roots as the spec at each close
    _assert_same(
        SequentialExecutor(initial_state(FEE_PK, DEPTH)),
        NativeExecutor(initial_state(FEE_PK, DEPTH), parallel=parallel, threads=2),
        txs,
        cuts,
    )


def _conflicting_workload() -> list[Transaction]:
    """Chains through one account, one sender's nonce run, credits that overflow only after others,
    and a fee that overflows the fee account only after earlier fees."""
    txs: list[Transaction] = [_deposit(i, i + 1, i, 100) for i in range(8)]
    txs.append(_deposit(8, 1, 0, 1_000))  # account 1 also pays a long nonce run below
    txs.append(_deposit(9, 10, 9, MAX_AMOUNT - 150))  # account 10 is nearly full
    txs.append(_deposit(10, 11, 10, MAX_AMOUNT))  # account 11 can pay fees that overflow the fee account
    # A chain: 1 -> 2 -> ... -> 8, each hop spending what the previous one sent (valid only in order).
    txs += [_transfer(hop - 1, hop, hop + 1, 100 + 50 * (hop - 1), 0, 0) for hop in range(1, 8)]
    # Credits into account 10: the first two fit, the third overflows, the fourth fits again.
    txs += [_transfer(7, 8, 10, 60, 1, n) for n in range(3)] + [_transfer(6, 7, 10, 20, 1, 1)]
    # Fees that overflow the fee account only after an earlier one; then a small one that fits.
    txs += [
        _transfer(10, 11, 1, 1, 2**63, 0),
        _transfer(9, 10, 1, 1, 2**63, 0),
        _transfer(10, 11, 1, 1, 5, 1),
    ]
    # A sender's nonce sequence interleaved with transfers of others through the same recipients.
    others = {3: 1, 5: 1}
    for n in range(24):
        txs.append(_transfer(0, 1, 2 + n % 5, 1, 0, 1 + n))
        sender = 3 if n % 2 else 5
        txs.append(_transfer(sender - 1, sender, 1 + n % 2, 1, 0, others[sender]))
        others[sender] += 1
    return txs


def test_conflicts_by_construction_match_the_spec() -> None:
    txs = _conflicting_workload()
    _assert_same(
        SequentialExecutor(initial_state(FEE_PK, DEPTH)),
        NativeExecutor(initial_state(FEE_PK, DEPTH), parallel=True, threads=2),
        txs,
        [],
    )


def test_results_do_not_depend_on_threads_or_runs() -> None:
    txs = _random_workload(5, 200)
    runs = []
    for threads in (1, 2, 4, 2):
        executor = NativeExecutor(initial_state(FEE_PK, DEPTH), parallel=True, threads=threads)
        runs.append(_run(executor, txs, [120]))
    assert all(run == runs[0] for run in runs)


@dataclasses.dataclass(frozen=True, slots=True)
class _NewTransfer(Transfer):
    """Stands for a transaction type the engine does not implement (the spec may add some)."""


def test_a_type_the_engine_does_not_know_runs_through_the_spec() -> None:
    txs = _random_workload(9, 120)
    for i in range(30, len(txs), 17):
        tx = txs[i]
        if type(tx) is Transfer:
            txs[i] = _NewTransfer(
                tx.sender, tx.recipient, tx.amount, tx.fee, tx.nonce, Signature(tx.signature)
            )
    _assert_same(
        SequentialExecutor(initial_state(FEE_PK, DEPTH)),
        NativeExecutor(initial_state(FEE_PK, DEPTH), parallel=True, threads=2),
        txs,
        [60],
    )


def test_signing_digests_of_a_chunk_are_the_specs_one_by_one() -> None:
    txs = _random_workload(4, 80)  # deposits, withdrawals, transfers, one without an encoding
    for chain_id in (ChainId(1), ChainId(77)):
        got = signing_digests(txs, chain_id)
        users = [isinstance(tx, UserTransaction) and is_well_formed(tx) for tx in txs]
        expected = [
            compute_signing_digest(tx, chain_id) if user else None  # type: ignore[arg-type]
            for tx, user in zip(txs, users, strict=True)
        ]
        assert got == expected and any(d is None for d in got) and any(d is not None for d in got)
