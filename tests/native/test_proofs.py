"""Real plonky2 proofs from Python: a Merkle-membership circuit and one level of recursion."""

from __future__ import annotations

import pytest

from zkpipe import native
from zkpipe.errors import InvalidProof, ProvingFailed

DEPTH = 8


@pytest.fixture(scope="module")
def tree() -> native.SparseMerkleTree:
    tree = native.SparseMerkleTree(DEPTH)
    tree.update([(i * 7 % 256, native.poseidon_hash([i] * 5)) for i in range(20)])
    return tree


@pytest.fixture(scope="module")
def proof(tree: native.SparseMerkleTree) -> bytes:
    return native.prove_membership(tree.root, 21, tree.get(21), tree.proof(21), threads=1)


@pytest.fixture(scope="module")
def wrapped(proof: bytes) -> bytes:
    return native.wrap_membership_proof(proof, depth=DEPTH, threads=1)


def test_membership_proof_verifies_with_its_statement(tree: native.SparseMerkleTree, proof: bytes) -> None:
    statement = native.verify_membership(proof, depth=DEPTH)
    assert statement == native.MembershipStatement(root=tree.root, leaf=tree.get(21), index=21)


def test_recursive_proof_verifies_and_keeps_the_statement(proof: bytes, wrapped: bytes) -> None:
    assert native.verify_wrapped_membership(wrapped, depth=DEPTH) == native.verify_membership(
        proof, depth=DEPTH
    )


def test_wrong_path_cannot_be_proven(tree: native.SparseMerkleTree) -> None:
    with pytest.raises(ProvingFailed):
        native.prove_membership(tree.root, 22, tree.get(21), tree.proof(21))


def test_wrong_leaf_cannot_be_proven(tree: native.SparseMerkleTree) -> None:
    with pytest.raises(ProvingFailed):
        native.prove_membership(tree.root, 21, native.poseidon_hash([99] * 5), tree.proof(21))


def test_index_outside_the_tree_cannot_be_proven(tree: native.SparseMerkleTree) -> None:
    # Index 21 + 256 has the same low bits: the circuit's range check must refuse it.
    with pytest.raises(ProvingFailed):
        native.prove_membership(tree.root, 21 + 256, tree.get(21), tree.proof(21))


@pytest.mark.parametrize("position", [0, 100, 5_000, -200])
def test_flipped_proof_bytes_are_rejected(proof: bytes, position: int) -> None:
    tampered = bytearray(proof)
    tampered[position] ^= 0x01
    with pytest.raises(InvalidProof):
        native.verify_membership(bytes(tampered), depth=DEPTH)


def test_swapped_public_input_is_rejected(proof: bytes) -> None:
    # Public inputs close the serialized proof as 8-byte little-endian field elements; the index is last.
    tampered = bytearray(proof)
    index_offset = len(proof) - 8
    assert int.from_bytes(tampered[index_offset : index_offset + 8], "little") == 21
    tampered[index_offset : index_offset + 8] = (22).to_bytes(8, "little")
    with pytest.raises(InvalidProof):
        native.verify_membership(bytes(tampered), depth=DEPTH)


def test_truncated_and_empty_proofs_are_rejected(proof: bytes) -> None:
    for bad in (b"", proof[:100], proof[:-1]):
        with pytest.raises(InvalidProof):
            native.verify_membership(bad, depth=DEPTH)


def test_proof_for_another_depth_is_rejected(proof: bytes) -> None:
    with pytest.raises(InvalidProof):
        native.verify_membership(proof, depth=DEPTH + 1)


def test_membership_proof_is_not_a_recursive_proof(proof: bytes, wrapped: bytes) -> None:
    with pytest.raises(InvalidProof):
        native.verify_wrapped_membership(proof, depth=DEPTH)
    with pytest.raises(InvalidProof):
        native.verify_membership(wrapped, depth=DEPTH)


def test_recursion_refuses_an_invalid_inner_proof(proof: bytes) -> None:
    tampered = bytearray(proof)
    tampered[3_000] ^= 0x01
    with pytest.raises(InvalidProof):
        native.wrap_membership_proof(bytes(tampered), depth=DEPTH)
