"""Data-commitment proofs through the facade: L1's hashes as the spec computes them, typed errors."""

from __future__ import annotations

import hashlib

import pytest

from zkpipe import native
from zkpipe.errors import InvalidInput, InvalidProof
from zkpipe.spec import (
    Batch,
    BatchHeader,
    BatchNumber,
    ChainId,
    DepositIndex,
    Timestamp,
    compute_batch_input_hash,
    compute_data_chain,
    encode_batch,
)


def test_a_data_proof_shows_l1s_hashes_and_the_data_chain_the_spec_computes() -> None:
    header = BatchHeader(
        BatchNumber(3), Timestamp(1_700_000_000), DepositIndex(5), DepositIndex(5), (1, 2, 3, 4)
    )
    data = encode_batch(Batch(header, ())) + bytes(range(32))  # a header and two chunks
    head, acc, chain_id = (7, 8, 9, 10), hashlib.sha256(b"previous").digest(), ChainId(31337)
    proof = native.prove_data_hash(data, blocks=2, data_in=head, acc_in=acc, chain_id=chain_id, threads=1)
    statement = native.verify_data_hash(proof, blocks=2)
    assert (statement.length, statement.sha256) == (len(data), hashlib.sha256(data).digest())
    assert (statement.data_in, statement.data_out) == (head, compute_data_chain(head, data[68:]))
    assert native.data_chain(head, data[68:]) == statement.data_out
    assert (statement.acc_in, statement.acc_out) == (acc, compute_batch_input_hash(acc, data, chain_id))
    assert (statement.chain_id, statement.queue_in, statement.queue_out) == (chain_id, 5, 5)
    tampered = bytearray(proof)
    tampered[len(tampered) // 2] ^= 1
    with pytest.raises(InvalidProof):
        native.verify_data_hash(bytes(tampered), blocks=2)


def test_data_beyond_the_capacity_or_not_whole_chunks_is_refused() -> None:
    start = {"data_in": (0, 0, 0, 0), "acc_in": bytes(32), "chain_id": 1}
    for data in (bytes(native.data_hash_capacity(2) + 16), bytes(68 + 5), bytes(40)):
        with pytest.raises(InvalidInput):
            native.prove_data_hash(data, blocks=2, **start)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        native.data_chain((0, 0, 0, 0), b"abc")
