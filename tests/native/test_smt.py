"""The native sparse Merkle tree: agreement with a reference tree, proofs, persistence, bad input."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.native.reference_tree import ReferenceTree
from zkpipe import native
from zkpipe.errors import InvalidInput, NonCanonicalFieldElement, StorageError


def random_leaf(rng: random.Random) -> native.Digest:
    return native.poseidon_hash([rng.randrange(native.GOLDILOCKS_P) for _ in range(5)])


def test_empty_tree_root_is_the_empty_root() -> None:
    assert native.SparseMerkleTree(32).root == native.merkle_empty_root(32)
    assert native.SparseMerkleTree(4).root != native.merkle_empty_root(5)


def test_agrees_with_reference_tree_on_thousands_of_random_operations() -> None:
    rng = random.Random(2026)
    depth = 10
    tree, reference = native.SparseMerkleTree(depth), ReferenceTree(depth)
    for step in range(3000):
        # Mostly sets, some deletes, sometimes a batch with a repeated index (last one wins).
        batch = []
        for _ in range(rng.choice([1, 1, 1, 3])):
            index = rng.randrange(1 << depth) if rng.random() < 0.5 else rng.randrange(16)
            leaf = native.ZERO_DIGEST if rng.random() < 0.15 else random_leaf(rng)
            batch.append((index, leaf))
        for index, leaf in batch:
            reference.set(index, leaf)
        tree.update(batch)
        if step % 150 == 0:
            assert tree.root == reference.root()
            probe = rng.choice(list(reference.leaves) or [0])
            assert tree.proof(probe) == reference.proof(probe)
    assert tree.root == reference.root()
    assert dict(tree.leaves()) == reference.leaves
    assert len(tree) == len(reference.leaves)


def test_membership_proofs_verify_and_reject_wrong_leaf_index_or_root() -> None:
    tree = native.SparseMerkleTree(32)
    leaf = native.poseidon_hash([1, 2, 3, 4, 5])
    tree.update([(123_456, leaf), (2**32 - 1, native.poseidon_hash([9] * 5))])
    siblings = tree.proof(123_456)
    assert len(siblings) == 32
    assert native.verify_merkle_proof(tree.root, 123_456, leaf, siblings)
    assert not native.verify_merkle_proof(tree.root, 123_457, leaf, siblings)
    assert not native.verify_merkle_proof(tree.root, 123_456, native.poseidon_hash([0] * 5), siblings)
    assert not native.verify_merkle_proof(native.merkle_empty_root(32), 123_456, leaf, siblings)


def test_roots_are_order_sensitive_across_indices() -> None:
    a, b = native.poseidon_hash([1] * 5), native.poseidon_hash([2] * 5)
    first, second = native.SparseMerkleTree(8), native.SparseMerkleTree(8)
    first.update([(1, a), (2, b)])
    second.update([(1, b), (2, a)])
    assert first.root != second.root


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    tree = native.SparseMerkleTree(16)
    tree.update([(i * 37 % 65536, native.poseidon_hash([i] * 5)) for i in range(200)])
    path = tmp_path / "state.smt"
    tree.save(path)
    loaded = native.SparseMerkleTree.load(path)
    assert loaded.root == tree.root
    assert loaded.depth == 16
    assert loaded.leaves() == tree.leaves()


def test_load_rejects_corrupt_and_truncated_files(tmp_path: Path) -> None:
    tree = native.SparseMerkleTree(8)
    tree.update([(3, native.poseidon_hash([3] * 5))])
    path = tmp_path / "state.smt"
    tree.save(path)
    data = bytearray(path.read_bytes())
    flipped = bytearray(data)
    flipped[20] ^= 0x01  # inside the first leaf: the stored root no longer matches
    (tmp_path / "flipped").write_bytes(flipped)
    (tmp_path / "short").write_bytes(data[:-5])
    (tmp_path / "magic").write_bytes(b"NOTATREE" + data[8:])
    for name in ("flipped", "short", "magic", "missing"):
        with pytest.raises(StorageError):
            native.SparseMerkleTree.load(tmp_path / name)


def test_bad_updates_are_rejected_and_change_nothing() -> None:
    tree = native.SparseMerkleTree(8)
    tree.update([(1, native.poseidon_hash([1] * 5))])
    before = tree.root
    with pytest.raises(InvalidInput):
        tree.update([(2, native.poseidon_hash([2] * 5)), (256, native.ZERO_DIGEST)])
    with pytest.raises(NonCanonicalFieldElement):
        tree.update([(2, (native.GOLDILOCKS_P, 0, 0, 0))])
    with pytest.raises(InvalidInput):
        tree.get(-1)
    assert tree.root == before


@pytest.mark.parametrize("depth", [0, 65])
def test_depth_out_of_range_is_rejected(depth: int) -> None:
    with pytest.raises(InvalidInput):
        native.SparseMerkleTree(depth)


def test_copy_is_independent() -> None:
    tree = native.SparseMerkleTree(8)
    clone = tree.copy()
    clone.update([(1, native.poseidon_hash([1] * 5))])
    assert tree.root == native.merkle_empty_root(8)
    assert clone.root != tree.root
