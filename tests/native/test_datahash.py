"""Data-commitment proofs through the facade: SHA-256 as hashlib computes it, typed errors."""

from __future__ import annotations

import hashlib

import pytest

from zkpipe import native
from zkpipe.errors import InvalidInput, InvalidProof


def test_a_data_proof_shows_the_sha256_l1_computes_and_the_poseidon_commitment() -> None:
    data = bytes(range(40)) * 1  # 40 bytes: one block (the padding fits)
    proof = native.prove_data_hash(data, blocks=1, threads=1)
    statement = native.verify_data_hash(proof, blocks=1)
    assert statement.length == len(data)
    assert statement.sha256 == hashlib.sha256(data).digest()
    assert statement.commitment == native.data_hash_commitment(data)
    assert statement.commitment != native.data_hash_commitment(data[:-1] + b"\x00")
    tampered = bytearray(proof)
    tampered[len(tampered) // 2] ^= 1
    with pytest.raises(InvalidProof):
        native.verify_data_hash(bytes(tampered), blocks=1)


def test_data_beyond_the_capacity_or_a_bad_packing_is_refused() -> None:
    with pytest.raises(InvalidInput):
        native.prove_data_hash(bytes(native.data_hash_capacity(1) + 1), blocks=1)
    with pytest.raises(InvalidInput):
        native.data_hash_commitment(b"abc", bytes_per_element=3)
