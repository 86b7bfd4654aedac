"""A deliberately naive pure-Python sparse Merkle tree, used only to check the native one."""

from __future__ import annotations

from zkpipe.native import ZERO_DIGEST, Digest, poseidon_two_to_one


class ReferenceTree:
    """Stores leaves in a dict and recomputes any node from its children on demand."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.leaves: dict[int, Digest] = {}
        self._empty = [ZERO_DIGEST]
        for _ in range(depth):
            self._empty.append(poseidon_two_to_one(self._empty[-1], self._empty[-1]))

    def set(self, index: int, leaf: Digest) -> None:
        """Sets one leaf (the zero digest empties the slot)."""
        if leaf == ZERO_DIGEST:
            self.leaves.pop(index, None)
        else:
            self.leaves[index] = leaf

    def node(self, height: int, index: int) -> Digest:
        """The node at `height` above the leaves, at position `index` within its level."""
        if not any(i >> height == index for i in self.leaves):
            return self._empty[height]
        if height == 0:
            return self.leaves[index]
        return poseidon_two_to_one(self.node(height - 1, 2 * index), self.node(height - 1, 2 * index + 1))

    def root(self) -> Digest:
        """The root."""
        return self.node(self.depth, 0)

    def proof(self, index: int) -> list[Digest]:
        """Siblings of the leaf at `index`, leaf level first."""
        return [self.node(h, (index >> h) ^ 1) for h in range(self.depth)]
