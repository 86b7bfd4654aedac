"""The withdrawals Merkle tree a verification commits to, and the inclusion proofs claims carry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_abi.abi import encode

from zkpipe.errors import InvalidInput
from zkpipe.l1.hashes import ZERO_HASH, keccak256

MAX_TREE_DEPTH = 32
"""Deepest tree the contract accepts a proof for (its MAX_PROOF_DEPTH)."""


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """One L1 payout: withdrawal `index` of batch `batch_number` pays `amount_gwei` to `recipient`."""

    batch_number: int
    index: int
    recipient: bytes
    """20-byte L1 address."""
    amount_gwei: int


@dataclass(frozen=True, slots=True)
class WithdrawalProof:
    """Everything `claimWithdrawal` needs for one leaf of the tree of one verification."""

    final_batch_number: int
    """Identifies the verification whose withdrawals root the proof is against."""
    withdrawal: Withdrawal
    leaf_position: int
    siblings: tuple[bytes, ...]
    """Bottom-up sibling hashes."""


def compute_withdrawal_leaf(withdrawal: Withdrawal) -> bytes:
    """keccak256(abi.encode(uint64 batch, uint32 index, address recipient, uint64 amountGwei))."""
    if len(withdrawal.recipient) != 20:
        raise InvalidInput("a withdrawal recipient is a 20-byte address")
    return keccak256(
        encode(
            ["uint64", "uint32", "address", "uint64"],
            [withdrawal.batch_number, withdrawal.index, withdrawal.recipient, withdrawal.amount_gwei],
        )
    )


def compute_parent(left: bytes, right: bytes) -> bytes:
    """An inner node: keccak256(left ‖ right)."""
    return keccak256(left + right)


class WithdrawalTree:
    """A binary keccak tree over leaves in order, padded with zero hashes to a power of two."""

    def __init__(self, withdrawals: Sequence[Withdrawal]) -> None:
        self.withdrawals = tuple(withdrawals)
        leaves = [compute_withdrawal_leaf(w) for w in self.withdrawals]
        width = 1
        while width < len(leaves):
            width *= 2
        if width > 2**MAX_TREE_DEPTH:
            raise InvalidInput(f"at most 2**{MAX_TREE_DEPTH} withdrawals per verification")
        # levels[0] are the padded leaves, levels[-1] == [root].
        self._levels: list[list[bytes]] = [leaves + [ZERO_HASH] * (width - len(leaves))]
        while len(self._levels[-1]) > 1:
            below = self._levels[-1]
            self._levels.append([compute_parent(below[i], below[i + 1]) for i in range(0, len(below), 2)])

    @property
    def root(self) -> bytes:
        """The withdrawals root; the zero hash for no withdrawals (nothing can be claimed against it)."""
        return self._levels[-1][0] if self.withdrawals else ZERO_HASH

    @property
    def depth(self) -> int:
        """Number of levels above the leaves."""
        return len(self._levels) - 1

    def proof(self, position: int, *, final_batch_number: int) -> WithdrawalProof:
        """The inclusion proof of the withdrawal at `position` in the tree of that verification."""
        if not 0 <= position < len(self.withdrawals):
            raise InvalidInput(f"no withdrawal at position {position}")
        siblings = tuple(self._levels[level][(position >> level) ^ 1] for level in range(self.depth))
        return WithdrawalProof(final_batch_number, self.withdrawals[position], position, siblings)


def verify_withdrawal_proof(proof: WithdrawalProof, root: bytes) -> bool:
    """Whether `proof` leads from its withdrawal to `root`, exactly as the contract checks it."""
    node = compute_withdrawal_leaf(proof.withdrawal)
    position = proof.leaf_position
    for sibling in proof.siblings:
        node = compute_parent(node, sibling) if position % 2 == 0 else compute_parent(sibling, node)
        position //= 2
    return position == 0 and node == root


def withdrawal_proof_to_json(proof: WithdrawalProof) -> dict[str, object]:
    """The JSON form of a claim proof (hex bytes, amounts as decimal strings)."""
    w = proof.withdrawal
    return {
        "final_batch_number": proof.final_batch_number,
        "batch_number": w.batch_number,
        "index": w.index,
        "recipient": "0x" + w.recipient.hex(),
        "amount_gwei": str(w.amount_gwei),
        "leaf_position": proof.leaf_position,
        "siblings": ["0x" + s.hex() for s in proof.siblings],
    }


def withdrawal_proof_from_json(data: object) -> WithdrawalProof:
    """A claim proof from its JSON form; InvalidInput if malformed."""
    try:
        assert isinstance(data, dict)
        siblings = tuple(bytes.fromhex(str(s).removeprefix("0x")) for s in data["siblings"])
        proof = WithdrawalProof(
            int(data["final_batch_number"]),
            Withdrawal(
                int(data["batch_number"]),
                int(data["index"]),
                bytes.fromhex(str(data["recipient"]).removeprefix("0x")),
                int(data["amount_gwei"]),
            ),
            int(data["leaf_position"]),
            siblings,
        )
    except (AssertionError, KeyError, TypeError, ValueError) as err:
        raise InvalidInput(f"malformed withdrawal proof: {err!r}") from None
    if len(proof.withdrawal.recipient) != 20 or any(len(s) != 32 for s in siblings):
        raise InvalidInput("malformed withdrawal proof: a recipient is 20 bytes, a sibling 32")
    if len(siblings) > MAX_TREE_DEPTH:
        raise InvalidInput(f"malformed withdrawal proof: more than {MAX_TREE_DEPTH} siblings")
    return proof
