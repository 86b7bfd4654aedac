"""Compact public data: packed amounts and fees (exactly the defined values, one packing each) and
the compact operation encodings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkpipe.errors import DecodeError, InvalidInput
from zkpipe.spec import (
    MAX_AMOUNT,
    AccountIndex,
    Amount,
    Deposit,
    Fee,
    L1Address,
    Nonce,
    Signature,
    Transfer,
    TxType,
    Withdraw,
    encode_tx,
)
from zkpipe.spec.public_data import (
    AMOUNT_MANTISSA_BITS,
    FEE_MANTISSA_BITS,
    PUBLIC_DATA_BYTES,
    compute_packing,
    decode_packed,
    decode_public_data_prefix,
    encode_packed,
    encode_public_data,
    is_publishable,
)

from .helpers import funded_state, make_deposit, pk

BITS = (AMOUNT_MANTISSA_BITS, FEE_MANTISSA_BITS)


def _representable(value: int, bits: int) -> bool:
    """The definition, read literally: some m < 2^bits and e < 32 with m·10^e = value ≤ u64."""
    return value <= MAX_AMOUNT and any(value % 10**e == 0 and value // 10**e < 1 << bits for e in range(32))


@pytest.mark.parametrize("bits", BITS)
def test_packing_represents_exactly_the_defined_values(bits: int) -> None:
    edges = [0, 1, (1 << bits) - 1, 1 << bits, 10 << bits, 10**11, 10**19, MAX_AMOUNT, MAX_AMOUNT - 5]
    edges += [m * 10**e for m in (1, 7, (1 << bits) - 1) for e in (1, 5, 18)]
    for value in edges:
        assert (compute_packing(value, bits) is not None) is _representable(value, bits), value
        if _representable(value, bits):
            assert decode_packed(encode_packed(value, bits), bits) == value
        else:
            with pytest.raises(InvalidInput):
                encode_packed(value, bits)


@given(value=st.integers(0, MAX_AMOUNT), bits=st.sampled_from(BITS))
def test_packing_agrees_with_the_definition(value: int, bits: int) -> None:
    assert (compute_packing(value, bits) is not None) is _representable(value, bits)


@given(raw=st.binary(min_size=5, max_size=5))
def test_every_accepted_amount_packing_is_the_canonical_one(raw: bytes) -> None:
    try:
        value = decode_packed(raw, AMOUNT_MANTISSA_BITS)
    except DecodeError:
        return
    assert encode_packed(value, AMOUNT_MANTISSA_BITS) == raw


def test_non_canonical_and_oversized_packings_are_refused() -> None:
    one_as_ten_over_ten = (1 | 1 << AMOUNT_MANTISSA_BITS).to_bytes(5, "little")  # 1·10^1, not 10·10^0
    with pytest.raises(DecodeError, match="canonical"):
        decode_packed(one_as_ten_over_ten, AMOUNT_MANTISSA_BITS)
    too_big = ((1 << AMOUNT_MANTISSA_BITS) - 1 | 31 << AMOUNT_MANTISSA_BITS).to_bytes(5, "little")
    with pytest.raises(DecodeError, match="exceeds"):
        decode_packed(too_big, AMOUNT_MANTISSA_BITS)


def _transfer(amount: int, fee: int) -> Transfer:
    return Transfer(
        AccountIndex(3), AccountIndex(9), Amount(amount), Fee(fee), Nonce(4), Signature(b"\x07" * 80)
    )


def test_operations_have_their_compact_sizes_and_decode_back() -> None:
    nonces = {AccountIndex(3): Nonce(4)}
    withdraw = Withdraw(
        AccountIndex(3),
        L1Address(b"\xaa" * 20),
        Amount(MAX_AMOUNT - 1),
        Fee(2000),
        Nonce(4),
        Signature(b"\x05" * 80),
    )
    deposit = make_deposit_record()
    for tx in (_transfer(10**12, 300), withdraw, deposit):
        kind = TxType(encode_tx(tx)[0])
        for signatures in (False, True):
            data = encode_public_data(tx, signatures=signatures)
            extra = 80 if signatures and kind is not TxType.DEPOSIT else 0
            assert len(data) == PUBLIC_DATA_BYTES[kind] + extra
            decoded, end = decode_public_data_prefix(data, 0, nonces.__getitem__, signatures=signatures)
            assert end == len(data)
            if signatures or kind is TxType.DEPOSIT:
                assert decoded == tx
            else:  # all but the signature, which was not posted
                assert encode_tx(decoded)[:-80] == encode_tx(tx)[:-80]
            with pytest.raises(DecodeError):
                decode_public_data_prefix(data[:-1], 0, nonces.__getitem__, signatures=signatures)
    assert PUBLIC_DATA_BYTES[TxType.TRANSFER] <= 16  # the goal once signatures leave


def make_deposit_record() -> Deposit:
    return make_deposit(funded_state(accounts=1), 5, pk(2), 77)


def test_unrepresentable_amounts_and_fees_have_no_compact_encoding() -> None:
    assert is_publishable(_transfer(10**15, 0)) and is_publishable(_transfer(1, 2047))
    for tx in (_transfer(2**35 + 1, 1), _transfer(1, 2049)):
        assert not is_publishable(tx)
        with pytest.raises(InvalidInput):
            encode_public_data(tx)
