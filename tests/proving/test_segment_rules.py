"""Soundness of the segment circuit: a witness that breaks one rule of the spec yields no proof.

Each `test_invalid_*` forges a witness that is consistent in every respect (valid Merkle paths
for the after-state a circuit *without* the rule would compute) except the rule under test, so
it fails only if the circuit enforces that rule. Each is paired with an honest forged witness
that proves, which shows the forge itself is sound.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.proving.forge import Slot, Write, add_limbs, fields_of, forge, signed, sub_limbs, with_balance
from tests.spec.helpers import INITIAL_BALANCE, KEYS, funded_state, make_transfer, pk, sequence_txs
from zkpipe import native
from zkpipe.errors import ProvingFailed
from zkpipe.native import SegmentWitnessTuple
from zkpipe.proving import Prover
from zkpipe.proving.witness import (
    KIND_DEPOSIT_CREDIT,
    KIND_TRANSFER,
    KIND_WITHDRAW,
    compute_segment_witness,
)
from zkpipe.spec import (
    FEE_ACCOUNT_INDEX,
    MAX_AMOUNT,
    MAX_NONCE,
    Account,
    AccountIndex,
    Amount,
    Deposit,
    DepositIndex,
    Fee,
    L1Address,
    Nonce,
    PublicKey,
    Signature,
    State,
    Transfer,
    TxType,
    Withdraw,
    WithdrawalRecord,
    apply_segment,
    compute_data_chain,
    compute_tx_elements,
    compute_withdrawals_chain_step,
    encode_tx,
    set_account,
)

K = 8
L1 = L1Address(bytes.fromhex("a1" * 20))


def transfer_elements(sender: int, recipient: int, amount: int, fee: int, nonce: int) -> list[int]:
    tx = Transfer(
        AccountIndex(sender),
        AccountIndex(recipient),
        Amount(amount),
        Fee(fee),
        Nonce(nonce),
        Signature(bytes(80)),
    )
    return compute_tx_elements(tx)


def signer(index: int) -> bytes:
    """The secret key of the test account `index` (its owner signs its transactions)."""
    return KEYS[index][0]


def transfer(
    state: State, sender: int, recipient: int, amount: int, fee: int = 1, nonce: int | None = None
) -> Slot:
    """A transfer slot, signed by its sender, whose writes are what a circuit without checks would compute."""
    sf, rf = fields_of(state, sender), fields_of(state, recipient)
    return Slot(
        KIND_TRANSFER,
        transfer_elements(sender, recipient, amount, fee, sf[7] if nonce is None else nonce),
        Write(sender, with_balance(sf, *sub_limbs(sf, amount + fee), nonce=sf[7] + 1)),
        Write(recipient, with_balance(rf, *add_limbs(rf, amount))),
        signer=signer(sender),
    )


def withdraw(state: State, sender: int, amount: int, l1: bytes = L1, fee: int = 1) -> Slot:
    sf = fields_of(state, sender)
    tx = Withdraw(
        AccountIndex(sender), L1Address(l1), Amount(amount), Fee(fee), Nonce(sf[7]), Signature(bytes(80))
    )
    return Slot(
        KIND_WITHDRAW,
        compute_tx_elements(tx),
        Write(sender, with_balance(sf, *sub_limbs(sf, amount + fee), nonce=sf[7] + 1)),
        signer=signer(sender),
    )


def credit(state: State, recipient: int, key: bytes, amount: int, after_key: bytes | None = None) -> Slot:
    """A credited deposit; `after_key` is the key the forged leaf keeps (the recipient's own by default)."""
    deposit = Deposit(
        DepositIndex(state.next_deposit_index), AccountIndex(recipient), PublicKey(key), Amount(amount), L1
    )
    existing = state.accounts.get(AccountIndex(recipient))
    before = fields_of(state, recipient) if existing else [0] * 8
    kept = compute_tx_elements(deposit)[10:20] if existing is None else None
    after = with_balance(before, *add_limbs(before, amount))
    if kept is not None:  # a new account takes the deposit's key (u32 limbs -> u64 limbs)
        after[:5] = [kept[2 * i] + (kept[2 * i + 1] << 32) for i in range(5)]
    if after_key is not None:
        after[:5] = [int.from_bytes(after_key[i : i + 8], "little") for i in range(0, 40, 8)]
    return Slot(KIND_DEPOSIT_CREDIT, compute_tx_elements(deposit), Write(recipient, after))


def prove(prover: Prover, witness: SegmentWitnessTuple) -> bytes:
    return native.prove_segment(K, witness, threads=0, cache_dir=prover.cache_dir)


def refuse(prover: Prover, witness: SegmentWitnessTuple) -> None:
    with pytest.raises(ProvingFailed):
        prove(prover, witness)


@pytest.fixture
def state() -> State:
    return funded_state(accounts=4)


def test_honest_forged_segment_proves_the_spec_root(prover: Prover, state: State) -> None:
    spec_state = apply_segment(state, [make_transfer(state, 1, 2, 100, fee=3)]).state
    witness = forge(state, [transfer(state, 1, 2, 100, fee=3)])
    statement = native.verify_proof(K, prove(prover, witness), False, cache_dir=prover.cache_dir)
    assert tuple(statement[4:8]) == spec_state.tree.root
    assert statement[32] == 3


def test_honest_withdraw_and_credit_prove(prover: Prover, state: State) -> None:
    prove(prover, forge(state, [withdraw(state, 3, 10), credit(state, 4, pk(4), 5)]))


def test_invalid_wrong_nonce(prover: Prover, state: State) -> None:
    refuse(prover, forge(state, [transfer(state, 1, 2, 10, nonce=7)]))


def test_invalid_insufficient_balance(prover: Prover, state: State) -> None:
    refuse(prover, forge(state, [transfer(state, 1, 2, INITIAL_BALANCE, fee=1)]))


def test_invalid_recipient_balance_overflow(prover: Prover, state: State) -> None:
    set_account(state, AccountIndex(2), Account(pk(2), Amount(MAX_AMOUNT - 3), Nonce(0)))
    prove(prover, forge(state, [transfer(state, 1, 2, 3)]))
    refuse(prover, forge(state, [transfer(state, 1, 2, 4)]))


def test_invalid_nonce_overflow(prover: Prover, state: State) -> None:
    set_account(state, AccountIndex(1), Account(pk(1), Amount(500), Nonce(MAX_NONCE)))
    refuse(prover, forge(state, [transfer(state, 1, 2, 10)]))


def test_invalid_zero_amount(prover: Prover, state: State) -> None:
    refuse(prover, forge(state, [transfer(state, 1, 2, 0)]))


def test_invalid_self_transfer(prover: Prover, state: State) -> None:
    slot = transfer(state, 1, 1, 10)
    sender_after = slot.a.after if slot.a else []
    # The recipient write reads the sender's after-state: a consistent self-transfer.
    receiver_after = with_balance(sender_after, *add_limbs(sender_after, 10))
    refuse(prover, forge(state, [replace(slot, b=Write(1, receiver_after))]))


def test_invalid_transfer_to_fee_account(prover: Prover, state: State) -> None:
    refuse(prover, forge(state, [transfer(state, 1, FEE_ACCOUNT_INDEX, 10)]))


def test_invalid_transfer_from_fee_account(prover: Prover, state: State) -> None:
    set_account(state, FEE_ACCOUNT_INDEX, Account(pk(0), Amount(500), Nonce(0)))
    refuse(prover, forge(state, [transfer(state, FEE_ACCOUNT_INDEX, 1, 10)]))


def test_invalid_unknown_recipient(prover: Prover, state: State) -> None:
    slot = transfer(state, 1, 2, 10)
    elements = transfer_elements(1, 9, 10, 1, 0)
    ghost = Write(9, with_balance([0] * 8, 10, 0))  # an empty slot written as if it existed
    refuse(prover, forge(state, [replace(slot, elements=elements, b=ghost)]))


def test_invalid_account_index_out_of_range(prover: Prover, state: State) -> None:
    # Index 2^32 + 1 has the low bits of account 1: only the range check tells them apart.
    slot = transfer(state, 1, 2, 10)
    elements = list(slot.elements)
    elements[1] = 2**32 + 1
    refuse(prover, forge(state, [replace(slot, elements=elements)]))


def test_invalid_withdraw_to_zero_address(prover: Prover, state: State) -> None:
    prove(prover, forge(state, [withdraw(state, 3, 10)]))
    refuse(prover, forge(state, [withdraw(state, 3, 10, l1=bytes(20))]))


def test_invalid_deposit_credited_to_another_key(prover: Prover, state: State) -> None:
    refuse(prover, forge(state, [credit(state, 1, pk(2), 5)]))


def test_invalid_deposit_credited_to_fee_account(prover: Prover, state: State) -> None:
    refuse(prover, forge(state, [credit(state, FEE_ACCOUNT_INDEX, pk(0), 5)]))


def test_invalid_fee_overflow(prover: Prover, state: State) -> None:
    set_account(state, FEE_ACCOUNT_INDEX, Account(pk(0), Amount(MAX_AMOUNT - 5), Nonce(0)))
    prove(prover, forge(state, [transfer(state, 1, 2, 10, fee=5)]))
    refuse(prover, forge(state, [transfer(state, 1, 2, 10, fee=6)]))


def test_invalid_type_tag_for_kind(prover: Prover, state: State) -> None:
    slot = transfer(state, 1, 2, 10)
    elements = list(slot.elements)
    elements[0] = 3  # says withdraw, witnessed as a transfer
    refuse(prover, forge(state, [replace(slot, elements=elements)]))


def test_invalid_merkle_path(prover: Prover, state: State) -> None:
    root, d, w, p, slots, fee, queue, chain = forge(state, [transfer(state, 1, 2, 10)])
    kind, elements, (empty, fields, siblings), b = slots[0]
    bad = list(siblings)
    bad[7] = (bad[7][0] ^ 1, *bad[7][1:])
    refuse(prover, (root, d, w, p, [(kind, elements, (empty, fields, bad), b)], fee, queue, chain))


def test_invalid_skipped_or_reordered_transaction(prover: Prover, state: State) -> None:
    makers = [lambda s, a=a, b=b: make_transfer(s, a, b, 5) for a, b in ((1, 2), (2, 3), (3, 4))]
    txs = sequence_txs(state, makers)  # type: ignore[arg-type]
    honest = compute_segment_witness(apply_segment(state, txs).witness)
    root, d, w, p, slots, fee, queue, chain = honest
    prove(prover, honest)
    refuse(prover, (root, d, w, p, [slots[0], slots[2]], fee, queue, chain))  # skipped
    refuse(prover, (root, d, w, p, [slots[1], slots[0], slots[2]], fee, queue, chain))  # reordered


def test_invalid_withdrawal_dropped_from_its_commitment(prover: Prover, state: State) -> None:
    # The withdrawal's elements presented as a pad: no debit and no withdrawal record. The data
    # chain would still name the withdrawal, so the circuit must tie the tag to the kind.
    honest = withdraw(state, 3, 10)
    refuse(prover, forge(state, [Slot(0, signed(honest.elements, signer(3), state.chain_id))]))


def test_withdrawal_record_is_in_the_statement(prover: Prover, state: State) -> None:
    proof = prove(prover, forge(state, [withdraw(state, 3, 10)]))
    statement = native.verify_proof(K, proof, False, cache_dir=prover.cache_dir)
    record = WithdrawalRecord(TxType.WITHDRAW, AccountIndex(3), L1, Amount(10))
    expected = compute_withdrawals_chain_step(state.commitments.withdrawals, record)
    assert tuple(statement[20:24]) == expected


def test_the_data_chain_is_the_posted_bytes_of_every_kind(prover: Prover, state: State) -> None:
    """A segment's data chain is the chain over its transactions' posted encodings (ADR 27): the
    bytes L1 hashes, as the data-commitment proof chains them."""
    slots = [transfer(state, 1, 2, 100), withdraw(state, 3, 10), credit(state, 4, pk(4), 5)]
    witness = forge(state, slots)
    signatures = [
        Signature(b"".join(limb.to_bytes(4, "little") for limb in forged[1][23:43])) for forged in witness[4]
    ]
    nonce = {i: Nonce(fields_of(state, i)[7]) for i in (1, 3)}
    txs = [
        Transfer(AccountIndex(1), AccountIndex(2), Amount(100), Fee(1), nonce[1], signatures[0]),
        Withdraw(AccountIndex(3), L1, Amount(10), Fee(1), nonce[3], signatures[1]),
        Deposit(DepositIndex(state.next_deposit_index), AccountIndex(4), PublicKey(pk(4)), Amount(5), L1),
    ]
    assert [list(forged[1]) for forged in witness[4]] == [compute_tx_elements(tx) for tx in txs]
    head = state.commitments.data
    statement = native.verify_proof(K, prove(prover, witness), False, cache_dir=prover.cache_dir)
    assert tuple(statement[8:12]) == head
    assert tuple(statement[12:16]) == compute_data_chain(head, b"".join(encode_tx(tx) for tx in txs))
