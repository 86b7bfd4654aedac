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
    TxError,
    TxStatus,
    apply_segment,
    compute_tx_elements,
    is_valid_public_key,
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
    invalid = refund(state, 3, invalid_key(), 5)  # an occupied slot: the key's validity decides first
    n = state.next_deposit_index
    prove(prover, forge(state, [at(mismatch, n), at(overflow, n + 1), at(fee, n + 2), at(invalid, n + 3)]))
    # The spec's own witness of a refund (key mismatch) proves too.
    segment = apply_segment(state, [make_deposit(state, 1, pk(2), 5)]).witness
    assert segment.txs[0].receipt.status is TxStatus.REFUNDED
    prove(prover, compute_segment_witness(segment))


def test_invalid_refund_of_a_creditable_deposit(prover: Prover, state: State) -> None:
    refuse(prover, forge(state, [refund(state, 1, pk(1), 5)]))
    set_account(state, AccountIndex(2), Account(pk(2), Amount(MAX_AMOUNT - 3), Nonce(0)))
    refuse(prover, forge(state, [refund(state, 2, pk(2), 3)]))  # fits exactly: no overflow


def invalid_key(first_limb: int = 0) -> bytes:
    """A canonical key that is not a curve point, with the given first u64 limb."""
    keys = (first_limb.to_bytes(8, "little") + i.to_bytes(8, "little") + bytes(24) for i in range(1, 99))
    return next(key for key in keys if not is_valid_public_key(PublicKey(key)))


def test_invalid_key_refund_into_an_empty_slot_proves(prover: Prover) -> None:
    # The circuit decides key validity itself, so this refund (once unprovable: a stalled queue)
    # proves, with the spec's statement.
    state = funded_state(accounts=2)
    segment = apply_segment(state, [make_deposit(state, 5, invalid_key(), 5)]).witness
    assert segment.txs[0].receipt.code is TxError.INVALID_PUBLIC_KEY
    assert statement_of(prover, compute_segment_witness(segment)) == Statement.of_segment(segment)


def test_invalid_credit_of_an_invalid_key(prover: Prover, state: State) -> None:
    valid, invalid = credit(state, 9, pk(4), 5), credit(state, 9, invalid_key(), 5)
    prove(prover, forge(state, [valid]))
    refuse(prover, forge(state, [invalid]))  # a new account holding a key nobody can sign for
    set_account(state, AccountIndex(9), Account(PublicKey(invalid_key()), Amount(1), Nonce(0)))
    refuse(prover, forge(state, [credit(state, 9, invalid_key(), 5)]))  # even into its own slot


def test_invalid_refund_of_a_valid_key_into_an_empty_slot(prover: Prover, state: State) -> None:
    prove(prover, forge(state, [read_empty(compute_tx_elements(make_deposit(state, 9, invalid_key(), 5)))]))
    refuse(prover, forge(state, [read_empty(compute_tx_elements(make_deposit(state, 9, pk(4), 5)))]))


def read_empty(elements: list[int]) -> Slot:
    """A refunded deposit into the empty slot 9: the empty leaf is read."""
    return Slot(KIND_DEPOSIT_REFUND, elements, Write(9, None))


# -- canonical encodings -----------------------------------------------------------------------


def refund_with_key_limbs(state: State, key: bytes, first_limbs: list[int]) -> Slot:
    """A refund of an invalid key into empty slot 9, its first two key elements replaced."""
    elements = compute_tx_elements(make_deposit(state, 9, key, 5))
    elements[KEY : KEY + 2] = first_limbs
    return read_empty(elements)


def test_invalid_key_limb_not_below_p(prover: Prover, state: State) -> None:
    key = invalid_key(0)
    prove(prover, forge(state, [refund_with_key_limbs(state, key, [0, 0])]))
    # lo = 1, hi = 2^32 - 1 packs to exactly p, which the field reads as 0 (the same invalid key).
    refuse(prover, forge(state, [refund_with_key_limbs(state, key, [1, 2**32 - 1])]))


def test_invalid_limbs_and_chunks_out_of_range(prover: Prover, state: State) -> None:
    key = invalid_key(2**32)
    prove(prover, forge(state, [refund_with_key_limbs(state, key, [0, 1])]))
    # A u32 key limb of 2^32 packs to the same key as (0, 1).
    refuse(prover, forge(state, [refund_with_key_limbs(state, key, [2**32, 0])]))
    for position, value in ((L1_AT, 2**56), (L1_AT + 2, 2**48)):
        slot = withdraw(state, 3, 10)
        elements = list(slot.elements)
        elements[position] = value - 1
        prove(prover, forge(state, [replace(slot, elements=elements)]))
        elements[position] = value
        refuse(prover, forge(state, [replace(slot, elements=elements)]))
    slot = transfer(state, 1, 2, 10)
    elements = forge(state, [slot])[4][0][1]  # signed
    elements[SIGNATURE] += 2**32  # the same bits of s, if limbs were not 32-bit
    refuse(prover, forge(state, [replace(slot, elements=elements, signer=None)]))
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
