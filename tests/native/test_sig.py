"""Schnorr over ECgFp5: pinned vectors, round trips and every way a key or signature can be wrong."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkpipe import native
from zkpipe.errors import InvalidKey, MalformedSignature, NonCanonicalFieldElement

P = native.GOLDILOCKS_P
ORDER = int("7ffffffd800000077ffffff1000000167fffffe6cfb80639e8885c39d724a09ce80fd996948bffe1", 16)

# Pinned vectors: a change here means the scheme changed and old signatures stop verifying.
SEED = bytes(range(32))
SECRET = bytes.fromhex("1c1d0bd8eb227ac2fc21d820a198e8180f1c41e6ba956cba74a7ef5a8ad37a6941638537e661ce68")
PUBLIC = bytes.fromhex("2707d8291bed16b229899677b6e5f05e7867d3ea0da7bd4a104a7f06507b8fda924c92d28af71e0e")
MESSAGE: native.Digest = (1, 2, 3, 4)
SIGNATURE = bytes.fromhex(
    "e925a7f6b40516dea138bf9b2fcdf912ae513269b4f272278d89705db79f3e98969eef2e486afe3f"
    "1f929f5a9bf1fe161ef94dece87a20fa4b3c606f5319dffc15d05627a2f25fb44825a05406b7705a"
)

messages = st.tuples(*[st.integers(0, P - 1)] * 4)


def test_pinned_vectors() -> None:
    assert native.keygen(SEED) == (SECRET, PUBLIC)
    assert native.public_key(SECRET) == PUBLIC
    assert native.sign(SECRET, MESSAGE) == SIGNATURE
    assert native.verify(PUBLIC, MESSAGE, SIGNATURE)


def test_random_keys_differ_and_are_valid() -> None:
    (sk1, pk1), (sk2, pk2) = native.keygen(), native.keygen()
    assert sk1 != sk2 and pk1 != pk2
    native.validate_public_key(pk1)
    assert len(sk1) == len(pk1) == native.KEY_BYTES


@settings(max_examples=25, deadline=None)
@given(st.binary(min_size=32, max_size=64), messages)
def test_sign_then_verify_round_trips(seed: bytes, message: native.Digest) -> None:
    sk, pk = native.keygen(seed)
    signature = native.sign(sk, message)
    assert len(signature) == native.SIGNATURE_BYTES
    assert native.verify(pk, message, signature)


def test_wrong_key_is_rejected() -> None:
    _, other = native.keygen(b"another seed of at least 32 bytes!")
    assert not native.verify(other, MESSAGE, SIGNATURE)


def test_wrong_message_is_rejected() -> None:
    assert not native.verify(PUBLIC, (1, 2, 3, 5), SIGNATURE)


@pytest.mark.parametrize("position", [0, 17, 39, 40, 63, 79])
def test_flipped_signature_bit_is_rejected(position: int) -> None:
    tampered = bytearray(SIGNATURE)
    tampered[position] ^= 0x04
    # A flip that makes a half non-canonical is refused outright, which is also a rejection.
    with contextlib.suppress(MalformedSignature):
        assert not native.verify(PUBLIC, MESSAGE, bytes(tampered))


def test_non_canonical_scalar_s_is_malformed() -> None:
    s = int.from_bytes(SIGNATURE[:40], "little") + ORDER  # same value mod n
    with pytest.raises(MalformedSignature):
        native.verify(PUBLIC, MESSAGE, s.to_bytes(40, "little") + SIGNATURE[40:])


def test_non_canonical_challenge_limb_is_malformed() -> None:
    for limb in range(5):
        start = 40 + 8 * limb
        bad = SIGNATURE[:start] + P.to_bytes(8, "little") + SIGNATURE[start + 8 :]  # p aliases 0
        with pytest.raises(MalformedSignature):
            native.verify(PUBLIC, MESSAGE, bad)


@pytest.mark.parametrize("length", [0, 79, 81])
def test_wrong_signature_length_is_malformed(length: int) -> None:
    with pytest.raises(MalformedSignature):
        native.verify(PUBLIC, MESSAGE, (SIGNATURE * 2)[:length])


@pytest.mark.parametrize(
    ("key", "why"),
    [
        (bytes(40), "neutral point"),
        (bytes([1]) + bytes(39), "not on the curve"),
        ((P).to_bytes(8, "little") + PUBLIC[8:], "non-canonical limb"),
        (PUBLIC[:39], "too short"),
    ],
)
def test_malformed_public_keys_are_refused(key: bytes, why: str) -> None:
    with pytest.raises(InvalidKey):
        native.validate_public_key(key)
    with pytest.raises(InvalidKey):
        native.verify(key, MESSAGE, SIGNATURE)


@pytest.mark.parametrize(
    "secret", [bytes(40), ORDER.to_bytes(40, "little"), (ORDER + 5).to_bytes(40, "little"), bytes(39)]
)
def test_invalid_secret_keys_are_refused(secret: bytes) -> None:
    with pytest.raises(InvalidKey):
        native.sign(secret, MESSAGE)


def test_short_seed_is_refused() -> None:
    with pytest.raises(InvalidKey):
        native.keygen(b"too short")


def test_non_canonical_message_is_refused() -> None:
    with pytest.raises(NonCanonicalFieldElement):
        native.sign(SECRET, (P, 0, 0, 0))
    with pytest.raises(NonCanonicalFieldElement):
        native.verify(PUBLIC, (0, 0, 0, P), SIGNATURE)


def test_batch_verify_judges_each_entry() -> None:
    keys = [native.keygen(bytes([i]) * 32) for i in range(6)]
    items = [(pk, (i, 0, 0, 0), native.sign(sk, (i, 0, 0, 0))) for i, (sk, pk) in enumerate(keys)]
    items[2] = (items[2][0], (99, 0, 0, 0), items[2][2])  # wrong message
    items[4] = (bytes(40), items[4][1], items[4][2])  # malformed key counts as invalid
    assert native.batch_verify(items) == [True, True, False, True, False, True]
    assert native.batch_verify(items, threads=1) == native.batch_verify(items, threads=2)
