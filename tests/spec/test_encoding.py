"""Canonical encodings: binary and JSON round trips, strict decoders, field elements and digests."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkpipe.errors import DecodeError, InvalidInput
from zkpipe.native import GOLDILOCKS_P
from zkpipe.spec import (
    TX_ELEMENT_COUNT,
    TX_ENCODING_BYTES,
    AccountIndex,
    Amount,
    Fee,
    L1Address,
    Nonce,
    Signature,
    Transaction,
    Transfer,
    TxType,
    Withdraw,
    compute_packed_elements,
    compute_signing_digest,
    compute_tx_elements,
    compute_tx_hash,
    decode_tx,
    encode_tx,
    get_tx_type,
    tx_from_json,
    tx_to_json,
)

from .strategies import transactions, transfers, withdrawals

SETTINGS = settings(max_examples=200, deadline=None)


@SETTINGS
@given(transactions)
def test_binary_round_trip(tx: Transaction) -> None:
    data = encode_tx(tx)
    assert len(data) == TX_ENCODING_BYTES[get_tx_type(tx)]
    assert data[:4] == get_tx_type(tx).to_bytes(4, "little")
    assert len(data) % 16 == 0  # whole chunks of the data chain (ADR 27)
    assert decode_tx(data) == tx


@SETTINGS
@given(transactions)
def test_json_round_trip(tx: Transaction) -> None:
    text = json.dumps(tx_to_json(tx))
    assert tx_from_json(json.loads(text)) == tx


def test_encoding_sizes() -> None:
    assert TX_ENCODING_BYTES == {TxType.DEPOSIT: 96, TxType.TRANSFER: 112, TxType.WITHDRAW: 128}


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_decode_never_crashes(data: bytes) -> None:
    try:
        tx = decode_tx(data)
    except DecodeError:
        return
    assert encode_tx(tx) == data  # whatever decodes is canonical


@SETTINGS
@given(transactions, st.integers(0, 127), st.integers(0, 255))
def test_decode_mutated_encodings(tx: Transaction, position: int, value: int) -> None:
    data = bytearray(encode_tx(tx))
    data[position % len(data)] = value
    try:
        decoded = decode_tx(bytes(data))
    except DecodeError:
        return
    assert encode_tx(decoded) == bytes(data)


@pytest.mark.parametrize("tag", [0, 4, 255, 2 + 256, 2 + 2**24])
def test_invalid_decode_unknown_tag(tag: int) -> None:
    with pytest.raises(DecodeError):
        decode_tx(tag.to_bytes(4, "little") + bytes(108))


def test_invalid_decode_deposit_with_nonzero_padding() -> None:
    data = bytearray(bytes([1]) + bytes(95))
    assert decode_tx(bytes(data)).amount == 0  # type: ignore[union-attr]
    data[-1] = 1
    with pytest.raises(DecodeError, match="padding"):
        decode_tx(bytes(data))


@pytest.mark.parametrize("kind", list(TxType))
def test_invalid_decode_wrong_length(kind: TxType) -> None:
    size = TX_ENCODING_BYTES[kind]
    for length in (1, size - 1):
        with pytest.raises(DecodeError):
            decode_tx(bytes([kind]) + bytes(length - 1))
    with pytest.raises(DecodeError, match="trailing"):
        decode_tx(bytes([kind]) + bytes(size))


def test_invalid_decode_empty_and_not_bytes() -> None:
    with pytest.raises(DecodeError):
        decode_tx(b"")
    with pytest.raises(DecodeError):
        decode_tx("02" * 112)  # type: ignore[arg-type]


def test_invalid_encode_out_of_range() -> None:
    tx = Transfer(AccountIndex(1), AccountIndex(2), Amount(2**64), Fee(0), Nonce(0), bytes(80))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        encode_tx(tx)
    with pytest.raises(InvalidInput):
        tx_to_json(tx)


def _valid_json() -> dict[str, Any]:
    tx = Withdraw(AccountIndex(3), L1Address(b"\xab" * 20), Amount(10), Fee(1), Nonce(2), bytes(80))  # type: ignore[arg-type]
    return tx_to_json(tx)


def test_json_form() -> None:
    obj = _valid_json()
    assert obj == {
        "type": "withdraw",
        "sender": 3,
        "l1_address": "0x" + "ab" * 20,
        "amount": "10",
        "fee": "1",
        "nonce": 2,
        "signature": "0x" + "00" * 80,
    }


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": "010"},
        {"amount": "-1"},
        {"amount": "+1"},
        {"amount": 10},
        {"amount": "1e3"},
        {"amount": "18446744073709551616"},
        {"amount": " 10"},
        {"sender": "3"},
        {"sender": True},
        {"sender": 3.0},
        {"sender": -1},
        {"nonce": 2**32},
        {"l1_address": "0x" + "AB" * 20},
        {"l1_address": "ab" * 21},
        {"l1_address": "0x" + "ab" * 19},
        {"signature": None},
        {"type": "transfer"},
        {"type": "mint"},
        {"extra": 1},
    ],
)
def test_invalid_json_non_canonical(changes: dict[str, Any]) -> None:
    with pytest.raises(DecodeError):
        tx_from_json({**_valid_json(), **changes})


def test_invalid_json_missing_key_and_not_object() -> None:
    obj = _valid_json()
    del obj["fee"]
    with pytest.raises(DecodeError):
        tx_from_json(obj)
    values: tuple[object, ...] = ([], "withdraw", None, 3)
    for value in values:
        with pytest.raises(DecodeError):
            tx_from_json(value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=8)
    ),
    max_leaves=20,
)


@SETTINGS
@given(json_values)
def test_json_decoder_never_crashes(value: object) -> None:
    with contextlib.suppress(DecodeError):
        tx_from_json(value)


@SETTINGS
@given(transactions, st.sampled_from(["amount", "sender", "recipient", "type", "nonce"]), json_values)
def test_json_decoder_never_crashes_on_mutated_fields(tx: Transaction, key: str, value: object) -> None:
    obj = tx_to_json(tx)
    obj[key] = value
    try:
        decoded = tx_from_json(obj)
    except DecodeError:
        return
    assert tx_to_json(decoded) == obj


@SETTINGS
@given(st.binary(max_size=200))
def test_packed_elements_are_canonical(data: bytes) -> None:
    elements = compute_packed_elements(data)
    assert len(elements) == -(-len(data) // 7)
    assert all(0 <= e < 2**56 < GOLDILOCKS_P for e in elements)
    assert b"".join(e.to_bytes(7, "little") for e in elements)[: len(data)] == data


@settings(max_examples=50, deadline=None)
@given(st.one_of(transfers, withdrawals))
def test_signing_digest_covers_every_field(tx: Transfer | Withdraw) -> None:
    digest = compute_signing_digest(tx)
    assert all(0 <= e < GOLDILOCKS_P for e in digest)
    fields = ["sender", "amount", "fee", "nonce"]
    fields.append("recipient" if isinstance(tx, Transfer) else "l1_address")
    for name in fields:
        value = getattr(tx, name)
        changes: dict[str, Any] = {
            name: bytes([value[0] ^ 1]) + value[1:] if isinstance(value, bytes) else value ^ 1
        }
        assert compute_signing_digest(dataclasses.replace(tx, **changes)) != digest
    # The signature itself is not signed over.
    assert compute_signing_digest(dataclasses.replace(tx, signature=Signature(bytes(80)))) == digest


def test_signing_digest_separates_types() -> None:
    transfer = Transfer(AccountIndex(1), AccountIndex(0), Amount(5), Fee(1), Nonce(0), bytes(80))  # type: ignore[arg-type]
    withdraw = Withdraw(AccountIndex(1), L1Address(bytes(20)), Amount(5), Fee(1), Nonce(0), bytes(80))  # type: ignore[arg-type]
    assert compute_signing_digest(transfer) != compute_signing_digest(withdraw)


@settings(max_examples=50, deadline=None)
@given(transactions, transactions)
def test_tx_hash_identifies_encoding(a: Transaction, b: Transaction) -> None:
    assert (compute_tx_hash(a) == compute_tx_hash(b)) == (encode_tx(a) == encode_tx(b))


@SETTINGS
@given(transactions)
def test_tx_elements_are_canonical_and_fixed_length(tx: Transaction) -> None:
    elements = compute_tx_elements(tx)
    assert len(elements) == TX_ELEMENT_COUNT
    assert all(0 <= e < GOLDILOCKS_P for e in elements)
    assert elements[0] == int(get_tx_type(tx))


@SETTINGS
@given(transactions, transactions)
def test_tx_elements_determine_the_encoding(first: Transaction, second: Transaction) -> None:
    # The element form is a bijection with the binary encoding: committing to one commits to the other.
    assert (compute_tx_elements(first) == compute_tx_elements(second)) == (
        encode_tx(first) == encode_tx(second)
    )


def test_tx_elements_layout_of_a_transfer() -> None:
    tx = Transfer(
        AccountIndex(5), AccountIndex(9), Amount(2**40 + 3), Fee(7), Nonce(11), Signature(bytes(range(80)))
    )
    elements = compute_tx_elements(tx)
    assert elements[:10] == [2, 5, 9, 3, 2**8, 7, 0, 11, 0, 0]
    assert elements[23] == int.from_bytes(bytes(range(4)), "little")
