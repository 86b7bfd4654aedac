"""An adversarial witness builder: writes any after-state with valid Merkle paths, checking no rule.

A test of a circuit rule must fail *because of that rule*. Mutating an honest witness usually
breaks a Merkle path first (every later path depends on earlier writes), which would hide a
missing rule. `forge` instead writes exactly the after-state a circuit without the rule would
compute, so the witness is consistent everywhere except the rule under test.
"""

from __future__ import annotations

from dataclasses import dataclass

from zkpipe.native import SegmentWitnessTuple, poseidon_hash
from zkpipe.proving.witness import UNUSED_LEAF, compute_account_fields
from zkpipe.spec import AccountIndex, State

P = 2**64 - 2**32 + 1
MASK32 = 2**32 - 1


@dataclass(frozen=True)
class Write:
    """A leaf write: the tree index and the 8 account fields written there."""

    index: int
    after: list[int]


@dataclass(frozen=True)
class Slot:
    """A forged transaction slot; a write equal to the leaf's current fields is a read."""

    kind: int
    elements: list[int]
    a: Write | None = None
    b: Write | None = None


def fields_of(state: State, index: int) -> list[int]:
    """The 8 fields of an existing account."""
    return compute_account_fields(state.accounts[AccountIndex(index)])


def with_balance(fields: list[int], lo: int, hi: int, nonce: int | None = None) -> list[int]:
    """Account fields with another balance (as limbs, possibly out of range) and nonce."""
    return [*fields[:5], lo % P, hi % P, fields[7] if nonce is None else nonce]


def add_limbs(fields: list[int], amount: int) -> tuple[int, int]:
    """Balance + amount on 32-bit limbs without an overflow check (the high limb may pass 2^32)."""
    lo = fields[5] + (amount & MASK32)
    return lo & MASK32, fields[6] + (amount >> 32) + (lo >> 32)


def sub_limbs(fields: list[int], amount: int) -> tuple[int, int]:
    """Balance - amount on 32-bit limbs without an underflow check (the high limb wraps mod p)."""
    lo = fields[5] - (amount & MASK32)
    borrow = 1 if lo < 0 else 0
    return lo % 2**32, (fields[6] - (amount >> 32) - borrow) % P


def forge(state: State, slots: list[Slot]) -> SegmentWitnessTuple:
    """A native segment witness for `slots` applied to `state`, paths valid, rules unchecked."""
    tree = state.tree.copy()
    fields = {int(i): compute_account_fields(account) for i, account in state.accounts.items()}
    root = tree.root
    forged = []
    for slot in slots:
        leaves = []
        for write in (slot.a, slot.b):
            if write is None:
                leaves.append(UNUSED_LEAF)
                continue
            before = fields.get(write.index)
            siblings = tree.proof(write.index % 2**32)
            leaves.append((before is None, before or [0] * 8, siblings))
            tree.update([(write.index % 2**32, poseidon_hash(write.after))])
            fields[write.index] = write.after
        forged.append((slot.kind, slot.elements, leaves[0], leaves[1]))
    heads = state.commitments
    fee_account = (False, fields[0], tree.proof(0))
    queue = state.next_deposit_index
    return (root, heads.data, heads.withdrawals, heads.deposits, forged, fee_account, queue, state.chain_id)
