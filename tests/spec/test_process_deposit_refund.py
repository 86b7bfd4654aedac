"""process_deposit_refund: deposits that cannot be credited are paid back on L1, never lost."""

from __future__ import annotations

import dataclasses

import pytest

from zkpipe.spec import (
    FEE_ACCOUNT_INDEX,
    AccountIndex,
    DepositIndex,
    State,
    TxError,
    TxStatus,
    TxType,
    WithdrawalRecord,
    apply_tx,
    get_deposit_refund_reason,
    get_total_supply,
    process_deposit_refund,
)

from .helpers import L1_ALICE, expect_invalid, funded_state, make_deposit, pk, run_process, snapshot


def test_refund_key_mismatch(state: State) -> None:
    deposit = make_deposit(state, 1, pk(2), 40, l1_sender=L1_ALICE)
    pre, effects, post = run_process(process_deposit_refund, state, deposit)
    assert effects.withdrawal == WithdrawalRecord(TxType.DEPOSIT, AccountIndex(1), L1_ALICE, 40)  # type: ignore[arg-type]
    assert post.next_deposit_index == pre.next_deposit_index + 1
    # Nothing is credited on L2: the victim's account and the root are untouched.
    assert post.tree.root == pre.tree.root
    assert post.accounts == pre.accounts
    assert get_total_supply(post) == get_total_supply(pre)
    # The read of the occupied leaf lets a circuit check the mismatch.
    (read,) = effects.updates
    assert read.account_before == read.account_after == pre.accounts[AccountIndex(1)]
    assert read.is_valid()


@pytest.mark.parametrize(
    ("recipient", "key", "code"),
    [
        (1, 2, TxError.DEPOSIT_KEY_MISMATCH),
        (FEE_ACCOUNT_INDEX, 0, TxError.FEE_ACCOUNT_MISUSE),
        (4, None, TxError.INVALID_PUBLIC_KEY),
    ],
)
def test_apply_tx_refunds_with_reason(state: State, recipient: int, key: int | None, code: TxError) -> None:
    deposit = make_deposit(state, recipient, bytes(40) if key is None else pk(key), 9)
    assert get_deposit_refund_reason(state, deposit) is code
    witness = apply_tx(state, deposit)
    assert witness.receipt.status is TxStatus.REFUNDED
    assert witness.receipt.code is code
    assert witness.withdrawal is not None and witness.withdrawal.amount == 9


def test_refund_index_out_of_range_has_no_read() -> None:
    small = funded_state(accounts=1, depth=4)
    _, effects, _ = run_process(process_deposit_refund, small, make_deposit(small, 2**32 - 1, pk(2), 3))
    assert effects.updates == ()
    assert effects.withdrawal is not None


def test_invalid_refund_of_creditable_deposit(state: State) -> None:
    # A sequencer may not bounce a deposit that can be credited (that would censor it).
    deposit = make_deposit(state, 4, pk(4), 1)
    expect_invalid(process_deposit_refund, state, deposit, TxError.DEPOSIT_NOT_REFUNDABLE)


def test_invalid_refund_out_of_order(state: State) -> None:
    deposit = make_deposit(state, 1, pk(2), 1)
    deposit = dataclasses.replace(deposit, queue_index=DepositIndex(deposit.queue_index + 1))
    expect_invalid(process_deposit_refund, state, deposit, TxError.DEPOSIT_OUT_OF_ORDER)


def test_invalid_apply_tx_deposit_out_of_order_is_not_refunded(state: State) -> None:
    deposit = make_deposit(state, 1, pk(2), 1)
    deposit = dataclasses.replace(deposit, queue_index=DepositIndex(deposit.queue_index + 1))
    before = snapshot(state)
    expect_invalid(apply_tx, state, deposit, TxError.DEPOSIT_OUT_OF_ORDER)
    assert snapshot(state) == before
