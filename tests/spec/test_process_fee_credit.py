"""process_fee_credit and lazy fee crediting: fees are summed per segment and credited at its end."""

from __future__ import annotations

import pytest

from zkpipe.spec import (
    FEE_ACCOUNT_INDEX,
    MAX_AMOUNT,
    Account,
    Amount,
    Fee,
    InvalidTransaction,
    Nonce,
    State,
    Transaction,
    TxError,
    apply_segment,
    apply_tx,
    process_fee_credit,
    set_account,
)

from .helpers import expect_invalid, make_deposit, make_transfer, make_withdraw, pk, run_process, snapshot


def test_fee_credit(state: State) -> None:
    state.pending_fees = Fee(7)
    pre, update, post = run_process(lambda s, _: process_fee_credit(s), state, None)
    assert post.accounts[FEE_ACCOUNT_INDEX].balance == pre.accounts[FEE_ACCOUNT_INDEX].balance + 7
    assert post.pending_fees == 0
    assert update.is_valid()
    assert (update.root_before, update.root_after) == (pre.tree.root, post.tree.root)


def test_fee_credit_with_nothing_pending_rewrites_same_leaf(state: State) -> None:
    pre, update, post = run_process(lambda s, _: process_fee_credit(s), state, None)
    assert post.tree.root == pre.tree.root
    assert update.leaf_before == update.leaf_after


def test_invalid_fee_credit_overflow(state: State) -> None:
    set_account(state, FEE_ACCOUNT_INDEX, Account(pk(0), MAX_AMOUNT, Nonce(0)))
    state.pending_fees = Fee(1)
    expect_invalid(lambda s, _: process_fee_credit(s), state, None, TxError.FEE_OVERFLOW)


def test_fee_account_changes_only_at_segment_end(state: State) -> None:
    txs: list[Transaction] = [
        make_transfer(state, 1, 2, 10, fee=3),
        make_transfer(state, 2, 3, 10, fee=4),
        make_withdraw(state, 3, 10, fee=5),
        make_deposit(state, 4, pk(4), 100),
    ]
    fee_leaf = state.tree.get(FEE_ACCOUNT_INDEX)
    fee_balance = state.accounts[FEE_ACCOUNT_INDEX].balance
    replay = state.copy()
    pending = []
    for tx in txs:
        apply_tx(replay, tx)
        # Mid-segment reads of the fee account see its balance without the pending fees.
        assert replay.tree.get(FEE_ACCOUNT_INDEX) == fee_leaf
        assert replay.accounts[FEE_ACCOUNT_INDEX].balance == fee_balance
        pending.append(replay.pending_fees)
    assert pending == [3, 7, 12, 12]

    result = apply_segment(state, txs)
    assert result.witness.fee_sum == 12
    assert result.state.accounts[FEE_ACCOUNT_INDEX].balance == fee_balance + 12
    assert result.state.pending_fees == 0
    assert result.witness.fee_credit.account_after == result.state.accounts[FEE_ACCOUNT_INDEX]
    assert result.witness.fee_credit.root_after == result.state.tree.root
    assert [w.pending_fees_after for w in result.witness.txs] == pending


def test_invalid_fee_account_spending_its_fees(state: State) -> None:
    first = apply_segment(state, [make_transfer(state, 1, 2, 10, fee=30)]).state
    assert first.accounts[FEE_ACCOUNT_INDEX].balance == 30
    expect_invalid(apply_tx, first, make_withdraw(first, 0, 30, fee=0), TxError.FEE_ACCOUNT_MISUSE)
    expect_invalid(apply_tx, first, make_transfer(first, 0, 1, 30, fee=0), TxError.FEE_ACCOUNT_MISUSE)


def test_fee_sum_overflow_rejected_in_segment(state: State) -> None:
    set_account(state, FEE_ACCOUNT_INDEX, Account(pk(0), Amount(MAX_AMOUNT - 10), Nonce(0)))
    apply_tx(state, make_transfer(state, 1, 2, 1, fee=6))
    expect_invalid(apply_tx, state, make_transfer(state, 2, 3, 1, fee=5), TxError.FEE_OVERFLOW)
    apply_tx(state, make_transfer(state, 2, 3, 1, fee=4))
    assert process_fee_credit(state).account_after == Account(pk(0), MAX_AMOUNT, Nonce(0))


def test_invalid_segment_leaves_state_untouched(state: State) -> None:
    before = snapshot(state)
    bad = make_transfer(state, 2, 3, 1, nonce=5)
    with pytest.raises(InvalidTransaction) as info:
        apply_segment(state, [make_transfer(state, 1, 2, 1), bad])
    assert info.value.error is TxError.WRONG_NONCE
    assert snapshot(state) == before
