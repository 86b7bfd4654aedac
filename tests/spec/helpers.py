"""Helpers for spec tests: deterministic keys, signed transactions, funded states, pre/post runners."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from zkpipe.native import keygen
from zkpipe.spec import (
    AccountIndex,
    Amount,
    Batch,
    Deposit,
    DepositIndex,
    Fee,
    InvalidTransaction,
    L1Address,
    Nonce,
    PublicKey,
    State,
    Transfer,
    TxError,
    Withdraw,
    apply_tx,
    initial_state,
    sign_transfer,
    sign_withdraw,
)
from zkpipe.workload import next_batch

KEYS: list[tuple[bytes, bytes]] = [keygen(bytes([i + 1]) * 32) for i in range(6)]
"""(secret, public) pairs; KEYS[0] is the operator's (fee account), KEYS[i] owns account i."""
FEE_SK, FEE_PK = KEYS[0]
L1_ALICE = L1Address(bytes.fromhex("a1" * 20))
L1_BOB = L1Address(bytes.fromhex("b0" * 20))
INITIAL_BALANCE = 1_000_000

T = TypeVar("T")


def pk(i: int) -> PublicKey:
    """The public key of account i."""
    return PublicKey(KEYS[i][1])


def sk(i: int) -> bytes:
    """The secret key of account i."""
    return KEYS[i][0]


def make_deposit(
    state: State, recipient: int, key: bytes, amount: int, l1_sender: bytes = L1_ALICE
) -> Deposit:
    """The next deposit in the queue of `state`."""
    return Deposit(
        DepositIndex(state.next_deposit_index),
        AccountIndex(recipient),
        PublicKey(key),
        Amount(amount),
        L1Address(l1_sender),
    )


def make_transfer(
    state: State, sender: int, recipient: int, amount: int, fee: int = 1, nonce: int | None = None
) -> Transfer:
    """A transfer signed by the owner of `sender` (with its next nonce unless told)."""
    if nonce is None:
        nonce = state.accounts[AccountIndex(sender)].nonce
    return sign_transfer(
        sk(sender), AccountIndex(sender), AccountIndex(recipient), Amount(amount), Fee(fee), Nonce(nonce),
        chain_id=state.chain_id,
    )  # fmt: skip


def make_withdraw(
    state: State, sender: int, amount: int, fee: int = 1, nonce: int | None = None, to: bytes = L1_BOB
) -> Withdraw:
    """A withdrawal signed by the owner of `sender` (with its next nonce unless told)."""
    if nonce is None:
        nonce = state.accounts[AccountIndex(sender)].nonce
    return sign_withdraw(
        sk(sender), AccountIndex(sender), L1Address(to), Amount(amount), Fee(fee), Nonce(nonce),
        chain_id=state.chain_id,
    )  # fmt: skip


def funded_state(accounts: int = 3, depth: int = 32, balance: int = INITIAL_BALANCE) -> State:
    """Genesis plus accounts 1..`accounts`, each deposited `balance` (no pending fees)."""
    state = initial_state(PublicKey(FEE_PK), depth=depth)
    for i in range(1, accounts + 1):
        apply_tx(state, make_deposit(state, i, pk(i), balance))
    return state


@dataclass(frozen=True)
class Snapshot:
    """Everything observable about a state, for before/after comparisons."""

    root: Any
    accounts: Any
    counters: Any


def snapshot(state: State) -> Snapshot:
    """A comparable copy of the state's content."""
    return Snapshot(
        state.tree.root,
        dict(state.accounts),
        (
            state.next_deposit_index,
            state.pending_fees,
            state.commitments,
            state.batch_number,
            state.timestamp,
            state.accumulated_input_hash,
        ),
    )


def run_process(process: Callable[[State, T], Any], state: State, op: T) -> tuple[State, Any, State]:
    """Runs a step on a copy; returns (pre-state, result, post-state) — the shape of a test vector."""
    pre = state.copy()
    post = state.copy()
    result = process(post, op)
    return pre, result, post


def expect_invalid(process: Callable[[State, T], Any], state: State, op: T, code: TxError) -> None:
    """Asserts the step rejects `op` with `code` and leaves the state unchanged."""
    before = snapshot(state)
    with pytest.raises(InvalidTransaction) as info:
        process(state, op)
    assert info.value.error is code
    assert info.value.code == str(code)
    assert snapshot(state) == before


__all__ = [
    "FEE_PK",
    "FEE_SK",
    "INITIAL_BALANCE",
    "L1_ALICE",
    "L1_BOB",
    "expect_invalid",
    "funded_state",
    "make_batch",
    "make_deposit",
    "make_transfer",
    "make_withdraw",
    "mixed_makers",
    "pk",
    "run_process",
    "sequence_txs",
    "sk",
    "snapshot",
]


def sequence_txs(state: State, makers: list[Callable[[State], Any]]) -> list[Any]:
    """Transactions built one by one against a scratch copy of `state` (so nonces and queue indices fit)."""
    scratch = state.copy()
    txs = []
    for make in makers:
        tx = make(scratch)
        apply_tx(scratch, tx)
        txs.append(tx)
    return txs


def make_batch(state: State, txs: list[Any], timestamp: int = 1_700_000_000) -> Batch:
    """A batch of `txs` that follows `state`: next number, its input hash, the deposits it consumes."""
    return next_batch(state, txs, timestamp)


def mixed_makers(rounds: int) -> list[Callable[[State], Any]]:
    """A varied workload: deposits (one refunded), transfers, withdrawals, with fees."""
    makers: list[Callable[[State], Any]] = [
        lambda s: make_deposit(s, 4, pk(4), 5_000),
        lambda s: make_deposit(s, 1, pk(2), 77),  # key mismatch: refunded
    ]
    for r in range(rounds):
        makers += _round_makers(r)
    return makers


def _round_makers(r: int) -> list[Callable[[State], Any]]:
    return [
        lambda s: make_transfer(s, 1, 2, 10 + r, fee=r % 3),
        lambda s: make_transfer(s, 2, 3, 5, fee=1 + r % 2),
        lambda s: make_withdraw(s, 3, 1 + r, fee=2),
        lambda s: make_transfer(s, 4, 1, 3, fee=r % 5),
    ]
