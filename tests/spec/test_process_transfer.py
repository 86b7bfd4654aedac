"""process_transfer: signed transfers between existing accounts."""

from __future__ import annotations

import dataclasses

import pytest

from zkpipe.spec import (
    FEE_ACCOUNT_INDEX,
    MAX_AMOUNT,
    MAX_NONCE,
    Account,
    AccountIndex,
    Amount,
    ChainId,
    Fee,
    Nonce,
    Signature,
    State,
    TxError,
    apply_tx,
    get_total_supply,
    process_transfer,
    set_account,
    sign_transfer,
)

from .helpers import INITIAL_BALANCE, expect_invalid, funded_state, make_transfer, pk, run_process, sk


def test_transfer(state: State) -> None:
    tx = make_transfer(state, 1, 2, 100, fee=3)
    pre, effects, post = run_process(process_transfer, state, tx)
    sender, recipient = post.accounts[AccountIndex(1)], post.accounts[AccountIndex(2)]
    assert sender == Account(pk(1), Amount(INITIAL_BALANCE - 103), Nonce(1))
    assert recipient == Account(pk(2), Amount(INITIAL_BALANCE + 100), Nonce(0))
    # The fee is pending: the fee account's leaf and balance do not change mid-segment.
    assert post.pending_fees == 3
    assert post.accounts[FEE_ACCOUNT_INDEX] == pre.accounts[FEE_ACCOUNT_INDEX]
    assert post.tree.get(FEE_ACCOUNT_INDEX) == pre.tree.get(FEE_ACCOUNT_INDEX)
    assert get_total_supply(post) == get_total_supply(pre)
    assert [u.index for u in effects.updates] == [1, 2]
    assert effects.withdrawal is None


def test_transfer_with_zero_fee(state: State) -> None:
    _, _, post = run_process(process_transfer, state, make_transfer(state, 1, 2, 5, fee=0))
    assert post.pending_fees == 0


def test_transfer_of_whole_balance(state: State) -> None:
    tx = make_transfer(state, 1, 2, INITIAL_BALANCE - 10, fee=10)
    _, _, post = run_process(process_transfer, state, tx)
    assert post.accounts[AccountIndex(1)].balance == 0


def test_transfer_nonces_increase_by_one(state: State) -> None:
    for expected in range(3):
        assert state.accounts[AccountIndex(1)].nonce == expected
        process_transfer(state, make_transfer(state, 1, 2, 1))
    assert state.accounts[AccountIndex(1)].nonce == 3
    assert state.accounts[AccountIndex(2)].nonce == 0


def test_invalid_transfer_from_fee_account(state: State) -> None:
    # The fee account is a sink: nothing reads its balance mid-segment, where it lags pending fees.
    set_account(state, FEE_ACCOUNT_INDEX, Account(pk(0), Amount(50), Nonce(0)))
    expect_invalid(process_transfer, state, make_transfer(state, 0, 1, 30, fee=1), TxError.FEE_ACCOUNT_MISUSE)


def test_invalid_transfer_to_fee_account(state: State) -> None:
    expect_invalid(process_transfer, state, make_transfer(state, 1, 0, 1), TxError.FEE_ACCOUNT_MISUSE)


def test_invalid_self_transfer(state: State) -> None:
    expect_invalid(process_transfer, state, make_transfer(state, 1, 1, 1), TxError.SELF_TRANSFER)


def test_invalid_zero_amount(state: State) -> None:
    expect_invalid(process_transfer, state, make_transfer(state, 1, 2, 0), TxError.ZERO_AMOUNT)


def test_invalid_unknown_recipient(state: State) -> None:
    expect_invalid(process_transfer, state, make_transfer(state, 1, 9, 1), TxError.UNKNOWN_ACCOUNT)


def test_invalid_unknown_sender(state: State) -> None:
    tx = sign_transfer(sk(4), AccountIndex(4), AccountIndex(1), Amount(1), Fee(0), Nonce(0))
    expect_invalid(process_transfer, state, tx, TxError.UNKNOWN_ACCOUNT)


@pytest.mark.parametrize(("sender", "recipient"), [(1, 16), (16, 1)])
def test_invalid_index_out_of_range(sender: int, recipient: int) -> None:
    small = funded_state(accounts=1, depth=4)
    tx = sign_transfer(sk(1), AccountIndex(sender), AccountIndex(recipient), Amount(1), Fee(0), Nonce(0))
    expect_invalid(process_transfer, small, tx, TxError.ACCOUNT_INDEX_OUT_OF_RANGE)


@pytest.mark.parametrize("nonce", [1, 2**32 - 1])
def test_invalid_wrong_nonce(state: State, nonce: int) -> None:
    expect_invalid(process_transfer, state, make_transfer(state, 1, 2, 1, nonce=nonce), TxError.WRONG_NONCE)


def test_invalid_replayed_transfer(state: State) -> None:
    tx = make_transfer(state, 1, 2, 1)
    process_transfer(state, tx)
    expect_invalid(process_transfer, state, tx, TxError.WRONG_NONCE)


def test_invalid_nonce_overflow(state: State) -> None:
    set_account(state, AccountIndex(1), Account(pk(1), Amount(10), MAX_NONCE))
    expect_invalid(process_transfer, state, make_transfer(state, 1, 2, 1), TxError.NONCE_OVERFLOW)


def test_invalid_signature_by_other_key(state: State) -> None:
    tx = sign_transfer(sk(2), AccountIndex(1), AccountIndex(2), Amount(1), Fee(0), Nonce(0))
    expect_invalid(process_transfer, state, tx, TxError.BAD_SIGNATURE)


def test_invalid_signed_for_another_chain(state: State) -> None:
    # The signing digest names the deployment: a transfer signed for chain B is valid there only.
    other = ChainId(state.chain_id + 1)
    tx = sign_transfer(sk(1), AccountIndex(1), AccountIndex(2), Amount(1), Fee(0), Nonce(0), chain_id=other)
    there = state.copy()
    there.chain_id = other
    process_transfer(there, tx)
    expect_invalid(process_transfer, state, tx, TxError.BAD_SIGNATURE)


@pytest.mark.parametrize("field", ["recipient", "amount", "fee", "nonce"])
def test_invalid_signature_after_tampering(state: State, field: str) -> None:
    tx = make_transfer(state, 1, 2, 5, fee=1)
    tampered = dataclasses.replace(tx, **{field: getattr(tx, field) + 1})
    if field == "nonce":
        set_account(state, AccountIndex(1), Account(pk(1), Amount(INITIAL_BALANCE), Nonce(1)))
    expect_invalid(process_transfer, state, tampered, TxError.BAD_SIGNATURE)


@pytest.mark.parametrize("signature", [b"\xff" * 80, bytes(80)], ids=["non-canonical", "zero"])
def test_invalid_malformed_signature(state: State, signature: bytes) -> None:
    tx = dataclasses.replace(make_transfer(state, 1, 2, 1), signature=Signature(signature))
    expect_invalid(process_transfer, state, tx, TxError.BAD_SIGNATURE)


def test_invalid_insufficient_balance_for_fee(state: State) -> None:
    # The amount alone fits; amount plus fee does not.
    tx = make_transfer(state, 1, 2, INITIAL_BALANCE, fee=1)
    expect_invalid(process_transfer, state, tx, TxError.INSUFFICIENT_BALANCE)


def test_invalid_insufficient_balance_huge_values(state: State) -> None:
    tx = make_transfer(state, 1, 2, MAX_AMOUNT, fee=MAX_AMOUNT)
    expect_invalid(process_transfer, state, tx, TxError.INSUFFICIENT_BALANCE)


def test_invalid_recipient_balance_overflow(state: State) -> None:
    set_account(state, AccountIndex(2), Account(pk(2), MAX_AMOUNT, Nonce(0)))
    expect_invalid(process_transfer, state, make_transfer(state, 1, 2, 1), TxError.BALANCE_OVERFLOW)


def test_invalid_fee_overflow(state: State) -> None:
    set_account(state, FEE_ACCOUNT_INDEX, Account(pk(0), Amount(MAX_AMOUNT - 5), Nonce(0)))
    state.pending_fees = Fee(3)
    expect_invalid(process_transfer, state, make_transfer(state, 1, 2, 1, fee=3), TxError.FEE_OVERFLOW)
    process_transfer(state, make_transfer(state, 1, 2, 1, fee=2))  # exactly fits
    assert state.pending_fees == 5


@pytest.mark.parametrize(
    "changes",
    [{"amount": 2**64}, {"fee": -1}, {"nonce": 2**32}, {"signature": b"\x00" * 79}, {"recipient": 2**32}],
)
def test_invalid_malformed_transfer(state: State, changes: dict[str, object]) -> None:
    tx = dataclasses.replace(make_transfer(state, 1, 2, 1), **changes)  # type: ignore[arg-type]
    expect_invalid(apply_tx, state, tx, TxError.MALFORMED_ENCODING)


def test_invalid_signature_by_the_injected_check(state: State) -> None:
    # apply_tx takes the signature rule as a parameter (executors verify ahead, in parallel).
    from zkpipe.spec import InvalidTransaction, apply_tx

    with pytest.raises(InvalidTransaction) as info:
        apply_tx(state, make_transfer(state, 1, 2, 1), lambda key, tx, chain: False)
    assert info.value.error is TxError.BAD_SIGNATURE
