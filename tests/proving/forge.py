"""An adversarial witness builder: writes any after-state with valid Merkle paths, checking no rule.

A test of a circuit rule must fail *because of that rule*. Mutating an honest witness usually
breaks a Merkle path first (every later path depends on earlier writes), which would hide a
missing rule. `forge` instead writes exactly the after-state a circuit without the rule would
compute, so the witness is consistent everywhere except the rule under test. A user transaction's
slot names its signer: `forge` signs the slot's final elements (as the circuit reads them), so a
changed field is refused for its own rule, not for a stale signature.
"""

from __future__ import annotations

from dataclasses import dataclass

from zkpipe.native import SegmentWitnessTuple, poseidon_hash, sign
from zkpipe.proving.witness import UNUSED_LEAF, compute_account_fields
from zkpipe.spec import AccountIndex, State, TxType, compute_u32_limbs
from zkpipe.spec.types import DOMAIN_TX_SIGNATURE

P = 2**64 - 2**32 + 1
MASK32 = 2**32 - 1


@dataclass(frozen=True)
class Write:
    """A leaf write: the tree index and the 8 account fields written there (None: a read)."""

    index: int
    after: list[int] | None


@dataclass(frozen=True)
class Slot:
    """A forged transaction slot; a write equal to the leaf's current fields is a read."""

    kind: int
    elements: list[int]
    a: Write | None = None
    b: Write | None = None
    signer: bytes | None = None
    """The secret key `forge` signs the elements with (None: they keep their signature limbs)."""


TYPE, A, B, AMOUNT, FEE, NONCE, L1, SIGNATURE = 0, 1, 2, 3, 5, 7, 20, 23


def compute_elements_digest(elements: list[int], chain_id: int) -> tuple[int, int, int, int]:
    """The signing digest of a user transaction's elements, as the circuit computes it.

    Equal to `zkpipe.spec.compute_signing_digest` for every real transaction; it also takes
    elements no `Transfer` can hold (an index of 2^32, say), so such slots can be signed too.
    """
    target = [elements[B]] if elements[TYPE] == TxType.TRANSFER else elements[L1:SIGNATURE]
    amounts = elements[AMOUNT : AMOUNT + 2] + elements[FEE : FEE + 2]
    head = [DOMAIN_TX_SIGNATURE, chain_id, elements[TYPE], elements[A]]
    return poseidon_hash([*head, *target, *amounts, elements[NONCE]])


def signed(elements: list[int], secret: bytes, chain_id: int) -> list[int]:
    """The elements with their signature limbs replaced by `secret`'s signature of them."""
    signature = sign(secret, compute_elements_digest(elements, chain_id))
    return [*elements[:SIGNATURE], *compute_u32_limbs(signature)]


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
            if write.after is not None:
                tree.update([(write.index % 2**32, poseidon_hash(write.after))])
                fields[write.index] = write.after
        elements = (
            slot.elements if slot.signer is None else signed(slot.elements, slot.signer, state.chain_id)
        )
        forged.append((slot.kind, elements, leaves[0], leaves[1]))
    heads = state.commitments
    fee_account = (False, fields[0], tree.proof(0))
    queue = state.next_deposit_index
    return (root, heads.data, heads.withdrawals, heads.deposits, forged, fee_account, queue, state.chain_id)
