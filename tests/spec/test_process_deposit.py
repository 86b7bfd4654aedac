"""process_deposit: crediting deposits from the L1 queue."""

from __future__ import annotations

import dataclasses

import pytest

from zkpipe.native import ZERO_DIGEST
from zkpipe.spec import (
    FEE_ACCOUNT_INDEX,
    MAX_AMOUNT,
    Account,
    AccountIndex,
    Amount,
    DepositIndex,
    Nonce,
    PublicKey,
    State,
    TxError,
    compute_account_leaf,
    get_total_supply,
    process_deposit,
    set_account,
)

from .helpers import INITIAL_BALANCE, expect_invalid, funded_state, make_deposit, pk, run_process


def test_deposit_creates_account(state: State) -> None:
    deposit = make_deposit(state, 4, pk(4), 500)
    pre, effects, post = run_process(process_deposit, state, deposit)
    assert pre.accounts.get(AccountIndex(4)) is None
    assert post.accounts[AccountIndex(4)] == Account(pk(4), Amount(500), Nonce(0))
    assert post.tree.get(4) == compute_account_leaf(post.accounts[AccountIndex(4)])
    assert post.next_deposit_index == pre.next_deposit_index + 1
    assert effects.withdrawal is None
    (update,) = effects.updates
    assert update.leaf_before == ZERO_DIGEST and update.account_before is None
    assert update.root_before == pre.tree.root and update.root_after == post.tree.root
    assert get_total_supply(post) == get_total_supply(pre) + 500


def test_deposit_credits_existing_account(state: State) -> None:
    deposit = make_deposit(state, 2, pk(2), 7)
    _, _, post = run_process(process_deposit, state, deposit)
    account = post.accounts[AccountIndex(2)]
    assert account.balance == INITIAL_BALANCE + 7
    assert account.nonce == 0 and account.public_key == pk(2)


def test_deposit_of_zero_registers_account(state: State) -> None:
    _, _, post = run_process(process_deposit, state, make_deposit(state, 5, pk(5), 0))
    assert post.accounts[AccountIndex(5)].balance == 0


def test_deposit_up_to_max_balance(state: State) -> None:
    deposit = make_deposit(state, 1, pk(1), MAX_AMOUNT - INITIAL_BALANCE)
    _, _, post = run_process(process_deposit, state, deposit)
    assert post.accounts[AccountIndex(1)].balance == MAX_AMOUNT


@pytest.mark.parametrize("offset", [1, 5])
def test_invalid_deposit_ahead_of_queue(state: State, offset: int) -> None:
    deposit = make_deposit(state, 4, pk(4), 1)
    ahead = dataclasses.replace(deposit, queue_index=DepositIndex(deposit.queue_index + offset))
    expect_invalid(process_deposit, state, ahead, TxError.DEPOSIT_OUT_OF_ORDER)


def test_invalid_deposit_replayed(state: State) -> None:
    replay = make_deposit(state, 1, pk(1), 1)
    replay = dataclasses.replace(replay, queue_index=DepositIndex(replay.queue_index - 1))
    expect_invalid(process_deposit, state, replay, TxError.DEPOSIT_OUT_OF_ORDER)


def test_invalid_deposit_key_mismatch(state: State) -> None:
    expect_invalid(process_deposit, state, make_deposit(state, 1, pk(2), 1), TxError.DEPOSIT_KEY_MISMATCH)


@pytest.mark.parametrize(
    "key",
    [bytes(40), b"\xff" * 40, bytes([1]) + bytes(39)],
    ids=["neutral", "non-canonical", "not-on-curve"],
)
def test_invalid_deposit_public_key(state: State, key: bytes) -> None:
    expect_invalid(process_deposit, state, make_deposit(state, 4, key, 1), TxError.INVALID_PUBLIC_KEY)


def test_invalid_deposit_to_fee_account(state: State) -> None:
    deposit = make_deposit(state, FEE_ACCOUNT_INDEX, pk(0), 1)
    expect_invalid(process_deposit, state, deposit, TxError.FEE_ACCOUNT_MISUSE)


def test_invalid_deposit_index_out_of_range() -> None:
    small = funded_state(accounts=1, depth=4)
    deposit = make_deposit(small, 16, pk(2), 1)
    expect_invalid(process_deposit, small, deposit, TxError.ACCOUNT_INDEX_OUT_OF_RANGE)


def test_invalid_deposit_balance_overflow(state: State) -> None:
    set_account(state, AccountIndex(1), Account(pk(1), MAX_AMOUNT, Nonce(0)))
    expect_invalid(process_deposit, state, make_deposit(state, 1, pk(1), 1), TxError.BALANCE_OVERFLOW)


def test_key_of_a_valid_deposit_is_unchanged_by_credit(state: State) -> None:
    # A credit never rewrites the key: the account keeps the key it was created with.
    _, _, post = run_process(process_deposit, state, make_deposit(state, 3, pk(3), 1))
    assert post.accounts[AccountIndex(3)].public_key == PublicKey(pk(3))
