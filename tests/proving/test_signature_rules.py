"""Soundness of the segment circuit's signature rule: a user transaction proves only with its
sender's valid signature of exactly its fields on this chain, as `zkpipe.spec` accepts it.

As in `test_segment_rules.py`, each refused witness is consistent everywhere (forged Merkle paths,
the rest of the slot as a circuit without the rule would take it) except the signature.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.proving.forge import SIGNATURE, Slot, compute_elements_digest, forge, signed
from tests.proving.test_deposit_rules import invalid_key
from tests.proving.test_segment_rules import prove, refuse, signer, transfer, withdraw
from tests.spec.helpers import funded_state, make_transfer, make_withdraw, sequence_txs
from zkpipe.proving import Prover
from zkpipe.proving.witness import compute_segment_witness
from zkpipe.spec import (
    CHAIN_ID,
    Account,
    AccountIndex,
    Amount,
    ChainId,
    Nonce,
    PublicKey,
    State,
    apply_segment,
    compute_signing_digest,
    compute_tx_elements,
    compute_u32_limbs,
    set_account,
)

ORDER = 1067993516717146951041484916571792702745057740581727230159139685185762082554198619328292418486241
"""The ECgFp5 group order n (s must be below it)."""

A, B, AMOUNT, FEE, NONCE, L1 = 1, 2, 3, 5, 7, 20


@pytest.fixture
def state() -> State:
    return funded_state(accounts=4)


def signed_by(state: State, slot: Slot, secret: bytes, chain_id: int | None = None) -> Slot:
    """The slot carrying `secret`'s signature of its elements (on `chain_id`, the state's by default)."""
    chain = state.chain_id if chain_id is None else chain_id
    return replace(slot, elements=signed(slot.elements, secret, chain), signer=None)


def with_signature(slot: Slot, signature: bytes) -> Slot:
    return replace(slot, elements=[*slot.elements[:SIGNATURE], *compute_u32_limbs(signature)], signer=None)


def signature_of(state: State, slot: Slot) -> bytes:
    """The honest signature bytes of a slot."""
    limbs = signed(slot.elements, signer(slot.elements[A]), state.chain_id)[SIGNATURE:]
    return b"".join(limb.to_bytes(4, "little") for limb in limbs)


def test_forge_signs_the_specs_digest(state: State) -> None:
    # forge signs elements as the circuit hashes them; that must be the spec's signing digest
    # (the spec-signed batch below proving shows the circuit's digest is the spec's too).
    for tx in (make_transfer(state, 1, 2, 7, fee=2), make_withdraw(state, 3, 9)):
        digest = compute_elements_digest(compute_tx_elements(tx), state.chain_id)
        assert digest == compute_signing_digest(tx, state.chain_id)


def test_invalid_unsigned_or_garbage_signature(prover: Prover, state: State) -> None:
    slot = transfer(state, 1, 2, 10)
    prove(prover, forge(state, [slot]))
    refuse(prover, forge(state, [with_signature(slot, bytes(80))]))
    garbage = bytearray(signature_of(state, slot))
    garbage[3] ^= 0x10  # one bit of s
    refuse(prover, forge(state, [with_signature(slot, bytes(garbage))]))


def test_invalid_signature_under_another_key(prover: Prover, state: State) -> None:
    refuse(prover, forge(state, [signed_by(state, transfer(state, 1, 2, 10), signer(2))]))
    refuse(prover, forge(state, [signed_by(state, withdraw(state, 3, 10), signer(1))]))


@pytest.mark.parametrize(
    ("kind", "position", "delta"),
    [("transfer", AMOUNT, 1), ("transfer", B, 1), ("transfer", FEE, 1), ("transfer", NONCE, 1),
     ("withdraw", L1, 1), ("withdraw", AMOUNT + 1, 1)],
)  # fmt: skip
def test_invalid_signature_of_other_fields(
    prover: Prover, state: State, kind: str, position: int, delta: int
) -> None:
    # The sender signed the transaction with one field changed; the slot holds the original.
    honest = transfer(state, 1, 2, 10) if kind == "transfer" else withdraw(state, 3, 10)
    other = list(honest.elements)
    other[position] += delta
    signature = signed(other, signer(honest.elements[A]), state.chain_id)[SIGNATURE:]
    elements = [*honest.elements[:SIGNATURE], *signature]
    refuse(prover, forge(state, [replace(honest, elements=elements, signer=None)]))


def test_invalid_signature_for_another_chain(prover: Prover, state: State) -> None:
    # Signed for the default chain id, proven in a segment whose statement names another.
    # The refusal comes first: with the statement's chain id replaced by the default one in the
    # circuit's digest (the mutation check), it is this line that fails, not the honest proof.
    slot = transfer(state, 1, 2, 10)
    state.chain_id = ChainId(99)
    refuse(prover, forge(state, [signed_by(state, slot, signer(1), chain_id=CHAIN_ID)]))
    prove(prover, forge(state, [slot]))


def test_invalid_s_plus_the_group_order(prover: Prover, state: State) -> None:
    # s + n gives the same point s·G, so only the rule s < n tells it from the honest signature.
    slot = transfer(state, 1, 2, 10)
    honest = signature_of(state, slot)
    s = int.from_bytes(honest[:40], "little") + ORDER
    assert s < 2**320
    refuse(prover, forge(state, [with_signature(slot, s.to_bytes(40, "little") + honest[40:])]))


def test_invalid_non_canonical_e(prover: Prover, state: State) -> None:
    # e's first element as the limbs (1, 2^32 - 1): p + 1 as an integer, 1 as a field element.
    # Refused (a forger cannot make it verify either; the rule alone is checked by the engine's
    # `a_non_canonical_challenge_element_is_refused`).
    slot = transfer(state, 1, 2, 10)
    honest = signature_of(state, slot)
    bad = (1 + ((2**32 - 1) << 32)).to_bytes(8, "little")
    refuse(prover, forge(state, [with_signature(slot, honest[:40] + bad + honest[48:])]))


def test_invalid_sender_key_not_a_point(prover: Prover, state: State) -> None:
    set_account(state, AccountIndex(1), Account(PublicKey(invalid_key()), Amount(500), Nonce(0)))
    refuse(prover, forge(state, [transfer(state, 1, 2, 10)]))


def test_a_batch_with_any_one_signature_flipped_is_refused(prover: Prover, state: State) -> None:
    makers = [
        lambda s: make_transfer(s, 1, 2, 5),
        lambda s: make_withdraw(s, 3, 4),
        lambda s: make_transfer(s, 2, 4, 6),
    ]
    txs = sequence_txs(state, makers)  # type: ignore[arg-type]
    root, d, w, p, slots, fee, queue, chain = compute_segment_witness(apply_segment(state, txs).witness)
    prove(prover, (root, d, w, p, slots, fee, queue, chain))
    for i, (kind, elements, a, b) in enumerate(slots):
        flipped = list(elements)
        flipped[SIGNATURE + 12] ^= 1  # one bit of e
        bad = [*slots[:i], (kind, flipped, a, b), *slots[i + 1 :]]
        refuse(prover, (root, d, w, p, bad, fee, queue, chain))
