"""Segment and aggregate proofs of real batches: agreement with the spec, constant size, tampering."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.spec.helpers import (
    funded_state,
    make_batch,
    make_deposit,
    make_transfer,
    make_withdraw,
    mixed_makers,
    pk,
    sequence_txs,
)
from zkpipe import native
from zkpipe.errors import DecodeError, InvalidInput, InvalidProof, ProvingFailed, StorageError
from zkpipe.proving import Proof, Prover
from zkpipe.proving.batch import BatchProver, compute_batch_statement, compute_data_blocks
from zkpipe.proving.statement import STATEMENT_LEN
from zkpipe.spec import BatchResult, State, apply_batch, compute_batch_input_hash, encode_batch

K = 8
HEADER_BYTES = 68


@dataclasses.dataclass(frozen=True)
class Proven:
    """Two consecutive batches, their spec results, segment proofs and aggregates."""

    state: State
    first: BatchResult
    second: BatchResult
    segments: list[Proof]
    first_aggregate: Proof
    both: Proof
    posted: tuple[bytes, bytes]
    """Each batch's data as posted to L1."""
    second_aggregate: Proof


@pytest.fixture(scope="module")
def proven(prover: Prover) -> Proven:
    state = funded_state(accounts=4)
    first_batch = make_batch(state, sequence_txs(state, mixed_makers(3)))
    first = apply_batch(state, first_batch, K)
    second_txs = sequence_txs(first.state, mixed_makers(1)[2:])
    second_batch = make_batch(first.state, second_txs, timestamp=1_700_000_002)
    second = apply_batch(first.state, second_batch, K)
    segments = [prover.prove_segment(s) for s in (*first.segments, *second.segments)]
    first_aggregate = prover.aggregate_all(segments[: len(first.segments)])
    second_aggregate = prover.aggregate_all(segments[len(first.segments) :])
    both = prover.aggregate(first_aggregate, second_aggregate)
    posted = (encode_batch(first_batch), encode_batch(second_batch))
    return Proven(state, first, second, segments, first_aggregate, both, posted, second_aggregate)


def test_segment_proofs_state_what_the_spec_computed(proven: Proven) -> None:
    witnesses = [*proven.first.segments, *proven.second.segments]
    assert len(witnesses) == len(proven.segments) >= 3
    for witness, proof in zip(witnesses, proven.segments, strict=True):
        assert proof.statement.root_before == witness.root_before
        assert proof.statement.root_after == witness.root_after
        assert proof.statement.commitments_in == witness.commitments_before
        assert proof.statement.commitments_out == witness.commitments_after
        assert proof.statement.fee_total == witness.fee_sum


def test_batch_aggregate_covers_the_whole_batch(proven: Proven) -> None:
    statement = proven.first_aggregate.statement
    assert statement.root_before == proven.state.tree.root
    assert statement.root_after == proven.first.state.tree.root
    assert statement.commitments_in == proven.state.commitments
    assert statement.commitments_out == proven.first.commitments
    assert statement.fee_total == sum(s.fee_sum for s in proven.first.segments)


def test_joins_bind_each_batch_to_l1s_data_and_fold_to_the_statement_l1_computes(proven: Proven) -> None:
    batch_prover = BatchProver(K, compute_data_blocks(max(map(len, proven.posted))), threads=0)
    acc0 = hashlib.sha256(b"L1's hash before batch 1").digest()
    expected, joins, acc = [], [], acc0
    for number, (segments, data) in enumerate(
        zip((proven.first_aggregate, proven.second_aggregate), proven.posted, strict=True), start=1
    ):
        statement = compute_batch_statement(segments.statement, acc, data)
        data_proof = batch_prover.prove_data(data, segments.statement, acc)
        joins.append(batch_prover.join(number, segments, data_proof))
        expected.append(statement)
        acc = statement.acc_out
    assert [j.statement for j in joins] == expected
    both = batch_prover.aggregate_all(joins)
    # The statement L1 computes: its root before, its hash before batch 1 and after batch 2 (ADR 19).
    chain = proven.state.chain_id
    l1_acc = compute_batch_input_hash(acc0, proven.posted[0], chain)
    l1_acc = compute_batch_input_hash(l1_acc, proven.posted[1], chain)
    assert batch_prover.verify(both) == expected[0].joined(expected[1])
    assert (both.statement.acc_in, both.statement.acc_out) == (acc0, l1_acc)
    assert both.statement.root_before == proven.state.tree.root
    assert both.statement.root_after == proven.second.state.tree.root
    # Data differing from L1's by one byte (the first transaction chunk) cannot be joined to the segments.
    tampered = bytearray(proven.posted[0])
    tampered[HEADER_BYTES + 5] ^= 1  # a byte of the first transaction
    other = batch_prover.prove_data(bytes(tampered), proven.first_aggregate.statement, acc0)
    with pytest.raises(ProvingFailed):
        batch_prover.join(1, proven.first_aggregate, other)
    # A batch-level proof is not a segment-level one, and batches must follow each other.
    with pytest.raises(InvalidProof):
        batch_prover.aggregate(joins[1], joins[0])


def test_batches_fold_into_one_proof_across_the_batch_boundary(prover: Prover, proven: Proven) -> None:
    statement = prover.verify(proven.both)
    assert statement.root_before == proven.state.tree.root
    assert statement.root_after == proven.second.state.tree.root
    assert statement.commitments_out == proven.second.state.commitments
    assert proven.both.provenance.segments == len(proven.segments)


def test_every_proof_has_the_same_size(proven: Proven) -> None:
    sizes = {len(p.data) for p in (*proven.segments, proven.first_aggregate, proven.both)}
    assert len(sizes) == 1


def test_segment_proof_is_not_an_aggregate_proof(prover: Prover, proven: Proven) -> None:
    with pytest.raises(InvalidProof):
        native.verify_proof(K, proven.segments[0].data, True, cache_dir=prover.cache_dir)
    with pytest.raises(InvalidProof):
        native.verify_proof(K, proven.both.data, False, cache_dir=prover.cache_dir)


@pytest.mark.parametrize("position", [0, 1_000, 50_000, -900, -1])
def test_flipped_proof_bytes_are_rejected(prover: Prover, proven: Proven, position: int) -> None:
    for proof in (proven.segments[0], proven.both):
        data = bytearray(proof.data)
        data[position] ^= 0x10
        with pytest.raises(InvalidProof):
            prover.verify(dataclasses.replace(proof, data=bytes(data)))


def test_tampered_public_inputs_are_rejected(prover: Prover, proven: Proven) -> None:
    # Public inputs close the proof bytes: the statement's elements, then the 68-element verifier key.
    proof = proven.both
    offset = len(proof.data) - 8 * (STATEMENT_LEN + 68 - 32)  # the fee total
    assert int.from_bytes(proof.data[offset : offset + 8], "little") == proof.statement.fee_total
    forged = (
        proof.data[:offset] + (proof.statement.fee_total + 1).to_bytes(8, "little") + proof.data[offset + 8 :]
    )
    with pytest.raises(InvalidProof):
        prover.verify(dataclasses.replace(proof, data=forged))


def test_recorded_statement_must_match_the_proof(prover: Prover, proven: Proven) -> None:
    lying = dataclasses.replace(proven.both.statement, fee_total=proven.both.statement.fee_total + 1)
    with pytest.raises(InvalidProof):
        prover.verify(dataclasses.replace(proven.both, statement=lying))


def test_non_adjacent_children_cannot_be_aggregated(prover: Prover, proven: Proven) -> None:
    first, _, third = proven.segments[:3]
    with pytest.raises(InvalidProof):
        prover.aggregate(first, third)
    # The circuit refuses too, whatever the caller checks.
    with pytest.raises(ProvingFailed):
        native.aggregate_proofs(K, first.data, False, third.data, False, cache_dir=prover.cache_dir)


def test_children_are_verified_before_aggregation(prover: Prover, proven: Proven) -> None:
    first, second = proven.segments[:2]
    broken = bytearray(second.data)
    broken[2_000] ^= 1
    with pytest.raises(InvalidProof):
        native.aggregate_proofs(K, first.data, False, bytes(broken), False, cache_dir=prover.cache_dir)


@pytest.mark.slow
def test_proof_for_one_segment_size_is_rejected_by_another(proven: Proven) -> None:
    other = Prover(16, threads=0)
    with pytest.raises(InvalidProof):
        other.verify(dataclasses.replace(proven.segments[0], segment_size=16))
    with pytest.raises(InvalidProof):
        other.aggregate(proven.segments[0], proven.segments[1])


def test_oversized_segment_is_refused(prover: Prover) -> None:
    state = funded_state(accounts=3)
    makers = [lambda s: make_transfer(s, 1, 2, 1)] * (K + 1)
    result = apply_batch(state, make_batch(state, sequence_txs(state, makers)), 16)
    with pytest.raises(InvalidInput):
        prover.prove_segment(result.segments[0])


def test_proof_file_round_trip(tmp_path: Path, prover: Prover, proven: Proven) -> None:
    path = tmp_path / "both.proof"
    proven.both.save(path)
    loaded = Proof.load(path)
    assert loaded == proven.both
    assert prover.verify(loaded) == proven.both.statement


def test_malformed_proof_files_are_refused(tmp_path: Path, proven: Proven) -> None:
    good = proven.segments[0].to_json()
    cases = {
        "not-json": "{",
        "wrong-format": {**good, "format": "other/9"},
        "bad-checksum": {**good, "proof_sha256": "00" * 32},
        "missing-statement": {k: v for k, v in good.items() if k != "statement"},
        "bad-base64": {**good, "proof": "***"},
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        with pytest.raises(DecodeError):
            Proof.load(path)
    with pytest.raises(StorageError):
        Proof.load(tmp_path / "absent")


@pytest.mark.parametrize("seed", [1, 2])
def test_random_valid_batches_prove_the_spec_root(prover: Prover, seed: int) -> None:
    rng = random.Random(seed)
    state = funded_state(accounts=5)
    makers: list[Callable[[State], Any]] = []
    for _ in range(rng.randint(3, K)):
        a, b = rng.sample(range(1, 6), 2)
        makers.append(
            rng.choice(  # type: ignore[arg-type]  # mypy types default-arg lambdas as "function"
                [
                    lambda s, a=a, b=b: make_transfer(s, a, b, rng.randint(1, 1000), fee=rng.randint(0, 9)),
                    lambda s, a=a: make_withdraw(s, a, rng.randint(1, 500), fee=rng.randint(0, 9)),
                    lambda s, a=a: make_deposit(s, a, pk(a), rng.randint(0, 10**6)),
                    lambda s, b=b: make_deposit(s, 6 + b, pk(b), rng.randint(1, 10**6)),
                ]
            )
        )
    result = apply_batch(state, make_batch(state, sequence_txs(state, makers)), K)
    proof = prover.prove_segment(result.segments[0])
    assert proof.statement.root_after == result.state.tree.root
    assert proof.statement.commitments_out == result.commitments
