"""Soundness of the segment circuit's L1-queue rules, refund reasons and canonical encodings.

As in `test_segment_rules.py`, each refused witness is consistent everywhere (forged Merkle paths
for the after-state a circuit without the rule would compute) except the rule it names, and is
paired with an honest witness that proves.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.proving.forge import P, Slot, Write, add_limbs, fields_of, forge, with_balance
from tests.proving.test_segment_rules import L1, K, credit, prove, refuse, transfer, withdraw
from tests.spec.helpers import funded_state, make_deposit, pk
from zkpipe import native
from zkpipe.proving import Prover, Statement
from zkpipe.proving.witness import KIND_DEPOSIT_CREDIT, KIND_DEPOSIT_REFUND, compute_segment_witness
from zkpipe.spec import (
    FEE_ACCOUNT_INDEX,
    MAX_AMOUNT,
    Account,
    AccountIndex,
    Amount,
    ChainId,
    Deposit,
    DepositIndex,
    Nonce,
    PublicKey,
    State,
    TxStatus,
    apply_segment,
    compute_tx_elements,
    set_account,
)

QUEUE, KEY, L1_AT, SIGNATURE = 8, 10, 20, 23


@pytest.fixture
def state() -> State:
    return funded_state(accounts=4)


def at(slot: Slot, queue_index: int) -> Slot:
    """The same deposit slot naming another queue index."""
    elements = list(slot.elements)
    elements[QUEUE : QUEUE + 2] = [queue_index & 0xFFFFFFFF, queue_index >> 32]
    return replace(slot, elements=elements)


def refund(state: State, recipient: int, key: bytes, amount: int) -> Slot:
    """A refunded deposit: the recipient's leaf is read, not written."""
    deposit = Deposit(
        DepositIndex(state.next_deposit_index), AccountIndex(recipient), PublicKey(key), Amount(amount), L1
    )
    return Slot(
        KIND_DEPOSIT_REFUND, compute_tx_elements(deposit), Write(recipient, fields_of(state, recipient))
    )


def statement_of(prover: Prover, witness: native.SegmentWitnessTuple) -> Statement:
    return Statement.from_elements(
        native.verify_proof(K, prove(prover, witness), False, cache_dir=prover.cache_dir)
    )


# -- the priority queue -------------------------------------------------------------------------


def test_statement_names_queue_counts_and_chain_id(prover: Prover) -> None:
    state = funded_state(accounts=4)
    state.chain_id = ChainId(99)
    first, second = credit(state, 1, pk(1), 5), credit(state, 2, pk(2), 6)
    n = state.next_deposit_index
    statement = statement_of(
        prover, forge(state, [at(first, n), transfer(state, 3, 4, 1), at(second, n + 1)])
    )
    assert (statement.queue_in, statement.queue_out, statement.chain_id) == (n, n + 2, 99)


def test_invalid_deposit_credited_twice(prover: Prover, state: State) -> None:
    first = credit(state, 1, pk(1), 5)
    after = first.a.after if first.a else []
    again = Slot(KIND_DEPOSIT_CREDIT, first.elements, Write(1, with_balance(after, *add_limbs(after, 5))))
    refuse(prover, forge(state, [first, again]))


def test_invalid_queue_entry_skipped_or_reordered(prover: Prover, state: State) -> None:
    first, second = credit(state, 1, pk(1), 5), credit(state, 2, pk(2), 6)
    n = state.next_deposit_index
    prove(prover, forge(state, [at(first, n), at(second, n + 1)]))
    refuse(prover, forge(state, [at(first, n + 1)]))  # skipped
    refuse(prover, forge(state, [at(first, n + 1), at(second, n)]))  # reordered
    refuse(prover, forge(state, [at(first, n - 1)]))  # an entry consumed before


# -- refund reasons ----------------------------------------------------------------------------


def test_refunds_for_each_checked_reason_prove(prover: Prover, state: State) -> None:
    set_account(state, AccountIndex(2), Account(pk(2), Amount(MAX_AMOUNT - 3), Nonce(0)))
    mismatch, overflow = refund(state, 1, pk(3), 5), refund(state, 2, pk(2), 4)
    fee = refund(state, FEE_ACCOUNT_INDEX, pk(3), 5)
    n = state.next_deposit_index
    prove(prover, forge(state, [at(mismatch, n), at(overflow, n + 1), at(fee, n + 2)]))
    # The spec's own witness of a refund (key mismatch) proves too.
    segment = apply_segment(state, [make_deposit(state, 1, pk(2), 5)]).witness
    assert segment.txs[0].receipt.status is TxStatus.REFUNDED
    prove(prover, compute_segment_witness(segment))


def test_invalid_refund_of_a_creditable_deposit(prover: Prover, state: State) -> None:
    refuse(prover, forge(state, [refund(state, 1, pk(1), 5)]))
    set_account(state, AccountIndex(2), Account(pk(2), Amount(MAX_AMOUNT - 3), Nonce(0)))
    refuse(prover, forge(state, [refund(state, 2, pk(2), 3)]))  # fits exactly: no overflow


def test_invalid_key_refund_into_an_empty_slot_cannot_be_proven(prover: Prover) -> None:
    # "Invalid public key" needs curve arithmetic in the circuit (issue 10); until then such a
    # refund is refused rather than trusted (docs/security.md: the liveness consequence).
    state = funded_state(accounts=2)
    bad_key = bytes([1]) + bytes(39)
    segment = apply_segment(state, [make_deposit(state, 5, bad_key, 5)]).witness
    assert segment.txs[0].receipt.status is TxStatus.REFUNDED
    refuse(prover, compute_segment_witness(segment))


# -- canonical encodings -----------------------------------------------------------------------


def new_account_credit(state: State, key_limbs: list[int], key_after: list[int]) -> Slot:
    """A credit to empty slot 9 whose key elements are `key_limbs`; the forged leaf keeps `key_after`."""
    deposit = Deposit(DepositIndex(state.next_deposit_index), AccountIndex(9), pk(4), Amount(5), L1)
    elements = compute_tx_elements(deposit)
    elements[KEY : KEY + 10] = key_limbs
    return Slot(KIND_DEPOSIT_CREDIT, elements, Write(9, [*key_after, 5, 0, 0]))


def test_invalid_key_limb_not_below_p(prover: Prover, state: State) -> None:
    limbs = compute_tx_elements(make_deposit(state, 9, pk(4), 5))[KEY : KEY + 10]
    rest = [limbs[2 * i] + (limbs[2 * i + 1] << 32) for i in range(1, 5)]
    prove(prover, forge(state, [new_account_credit(state, [0, 0, *limbs[2:]], [0, *rest])]))
    # lo = 1, hi = 2^32 - 1 packs to exactly p, which the field reads as 0.
    refuse(prover, forge(state, [new_account_credit(state, [1, 2**32 - 1, *limbs[2:]], [0, *rest])]))


def test_invalid_limbs_and_chunks_out_of_range(prover: Prover, state: State) -> None:
    limbs = compute_tx_elements(make_deposit(state, 9, pk(4), 5))[KEY : KEY + 10]
    rest = [limbs[2 * i] + (limbs[2 * i + 1] << 32) for i in range(1, 5)]
    prove(prover, forge(state, [new_account_credit(state, [0, 1, *limbs[2:]], [2**32, *rest])]))
    # A u32 key limb of 2^32 packs to the same key as (0, 1).
    refuse(prover, forge(state, [new_account_credit(state, [2**32, 0, *limbs[2:]], [2**32, *rest])]))
    for position, value in ((L1_AT, 2**56), (L1_AT + 2, 2**48)):
        slot = withdraw(state, 3, 10)
        elements = list(slot.elements)
        elements[position] = value - 1
        prove(prover, forge(state, [replace(slot, elements=elements)]))
        elements[position] = value
        refuse(prover, forge(state, [replace(slot, elements=elements)]))
    slot = transfer(state, 1, 2, 10)
    elements = list(slot.elements)
    elements[SIGNATURE] = 2**32
    refuse(prover, forge(state, [replace(slot, elements=elements)]))
    elements = list(credit(state, 1, pk(1), 5).elements)
    # lo + 2^32·hi is the right index modulo p, with both limbs out of range.
    elements[QUEUE : QUEUE + 2] = [state.next_deposit_index + 2**32, P - 1]
    refuse(prover, forge(state, [replace(credit(state, 1, pk(1), 5), elements=elements)]))


@pytest.mark.parametrize(
    ("kind", "position"),
    [("transfer", QUEUE), ("transfer", KEY), ("transfer", L1_AT), ("withdraw", 2), ("withdraw", KEY),
     ("deposit", 2), ("deposit", 5), ("deposit", 7), ("deposit", SIGNATURE), ("pad", 1), ("pad", 3)],
)  # fmt: skip
def test_invalid_unused_field_not_zero(prover: Prover, state: State, kind: str, position: int) -> None:
    slots = {
        "transfer": transfer(state, 1, 2, 10),
        "withdraw": withdraw(state, 3, 10),
        "deposit": credit(state, 1, pk(1), 5),
        "pad": Slot(0, [0] * 43),
    }
    slot = slots[kind]
    elements = list(slot.elements)
    elements[position] = 1
    refuse(prover, forge(state, [replace(slot, elements=elements)]))


def test_spec_statement_of_a_deposit_segment_is_the_proofs(prover: Prover) -> None:
    state = funded_state(accounts=2)
    state.chain_id = ChainId(5)
    segment = apply_segment(state, [make_deposit(state, 1, pk(1), 7)]).witness
    assert statement_of(prover, compute_segment_witness(segment)) == Statement.of_segment(segment)
