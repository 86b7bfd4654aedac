"""process_withdraw: signed withdrawals to an L1 address."""

from __future__ import annotations

import dataclasses

import pytest

from zkpipe.native import sign
from zkpipe.spec import (
    FEE_ACCOUNT_INDEX,
    MAX_NONCE,
    Account,
    AccountIndex,
    Amount,
    ChainId,
    Fee,
    L1Address,
    Nonce,
    Signature,
    State,
    TxError,
    TxType,
    WithdrawalRecord,
    apply_tx,
    compute_signing_digest,
    get_total_supply,
    process_withdraw,
    set_account,
    sign_withdraw,
)

from .helpers import (
    INITIAL_BALANCE,
    L1_BOB,
    expect_invalid,
    funded_state,
    make_transfer,
    make_withdraw,
    pk,
    run_process,
    sk,
)


def test_withdraw(state: State) -> None:
    tx = make_withdraw(state, 1, 300, fee=2)
    pre, effects, post = run_process(process_withdraw, state, tx)
    assert post.accounts[AccountIndex(1)] == Account(pk(1), Amount(INITIAL_BALANCE - 302), Nonce(1))
    assert effects.withdrawal == WithdrawalRecord(TxType.WITHDRAW, AccountIndex(1), L1_BOB, Amount(300))
    assert post.pending_fees == 2
    # Supply on L2 drops by exactly the amount paid out on L1; the fee stays (pending).
    assert get_total_supply(post) == get_total_supply(pre) - 300
    (update,) = effects.updates
    assert update.is_valid() and update.root_after == post.tree.root


def test_withdraw_whole_balance(state: State) -> None:
    _, _, post = run_process(process_withdraw, state, make_withdraw(state, 2, INITIAL_BALANCE - 1, fee=1))
    assert post.accounts[AccountIndex(2)].balance == 0


def test_invalid_withdraw_from_fee_account(state: State) -> None:
    # The fee account is an L2 sink; fees leave through L1 (aggregates expose the fee total).
    set_account(state, FEE_ACCOUNT_INDEX, Account(pk(0), Amount(10), Nonce(0)))
    expect_invalid(process_withdraw, state, make_withdraw(state, 0, 10, fee=0), TxError.FEE_ACCOUNT_MISUSE)


def test_invalid_zero_amount(state: State) -> None:
    expect_invalid(process_withdraw, state, make_withdraw(state, 1, 0), TxError.ZERO_AMOUNT)


def test_invalid_zero_l1_address(state: State) -> None:
    tx = make_withdraw(state, 1, 1, to=bytes(20))
    expect_invalid(process_withdraw, state, tx, TxError.ZERO_L1_ADDRESS)


def test_invalid_unknown_sender(state: State) -> None:
    tx = sign_withdraw(sk(5), AccountIndex(5), L1_BOB, Amount(1), Fee(0), Nonce(0))
    expect_invalid(process_withdraw, state, tx, TxError.UNKNOWN_ACCOUNT)


def test_invalid_index_out_of_range() -> None:
    small = funded_state(accounts=1, depth=4)
    tx = sign_withdraw(sk(1), AccountIndex(16), L1_BOB, Amount(1), Fee(0), Nonce(0))
    expect_invalid(process_withdraw, small, tx, TxError.ACCOUNT_INDEX_OUT_OF_RANGE)


def test_invalid_wrong_nonce(state: State) -> None:
    expect_invalid(process_withdraw, state, make_withdraw(state, 1, 1, nonce=7), TxError.WRONG_NONCE)


def test_invalid_nonce_overflow(state: State) -> None:
    set_account(state, AccountIndex(1), Account(pk(1), Amount(10), MAX_NONCE))
    expect_invalid(process_withdraw, state, make_withdraw(state, 1, 1), TxError.NONCE_OVERFLOW)


def test_invalid_signature_redirected_address(state: State) -> None:
    tx = dataclasses.replace(make_withdraw(state, 1, 1), l1_address=L1Address(b"\x01" * 20))
    expect_invalid(process_withdraw, state, tx, TxError.BAD_SIGNATURE)


def test_invalid_signature_from_a_transfer(state: State) -> None:
    # A transfer's signature cannot authorize a withdrawal: the type is part of the digest.
    transfer = make_transfer(state, 1, 2, 5, fee=1)
    tx = make_withdraw(state, 1, 5, fee=1)
    expect_invalid(
        process_withdraw, state, dataclasses.replace(tx, signature=transfer.signature), TxError.BAD_SIGNATURE
    )


def test_invalid_signed_for_another_chain(state: State) -> None:
    tx = make_withdraw(state, 1, 1)
    signed_elsewhere = Signature(sign(sk(1), compute_signing_digest(tx, ChainId(state.chain_id + 1))))
    expect_invalid(
        process_withdraw, state, dataclasses.replace(tx, signature=signed_elsewhere), TxError.BAD_SIGNATURE
    )


def test_invalid_signature_by_other_key(state: State) -> None:
    tx = make_withdraw(state, 1, 1)
    forged = Signature(sign(sk(2), compute_signing_digest(tx)))
    expect_invalid(process_withdraw, state, dataclasses.replace(tx, signature=forged), TxError.BAD_SIGNATURE)


@pytest.mark.parametrize(("amount", "fee"), [(INITIAL_BALANCE + 1, 0), (INITIAL_BALANCE, 1)])
def test_invalid_insufficient_balance(state: State, amount: int, fee: int) -> None:
    tx = make_withdraw(state, 1, amount, fee=fee)
    expect_invalid(process_withdraw, state, tx, TxError.INSUFFICIENT_BALANCE)


def test_invalid_fee_overflow(state: State) -> None:
    set_account(state, FEE_ACCOUNT_INDEX, Account(pk(0), Amount(2**64 - 2), Nonce(0)))
    expect_invalid(process_withdraw, state, make_withdraw(state, 1, 1, fee=2), TxError.FEE_OVERFLOW)


def test_invalid_malformed_address(state: State) -> None:
    tx = dataclasses.replace(make_withdraw(state, 1, 1), l1_address=L1Address(b"\x01" * 19))
    expect_invalid(apply_tx, state, tx, TxError.MALFORMED_ENCODING)
