"""The rollup state: accounts, their leaf hashes and the account tree, plus sequencing counters."""

from __future__ import annotations

from dataclasses import dataclass

from zkpipe.native import ZERO_DIGEST, Digest, SparseMerkleTree, poseidon_hash, validate_public_key
from zkpipe.spec.encoding import compute_public_key_elements, compute_u64_limbs
from zkpipe.spec.types import (
    ACCOUNT_TREE_DEPTH,
    CHAIN_ID,
    FEE_ACCOUNT_INDEX,
    Account,
    AccountIndex,
    Amount,
    BatchNumber,
    ChainId,
    Commitment,
    DepositIndex,
    Fee,
    Nonce,
    PublicKey,
    StateRoot,
    Timestamp,
)
from zkpipe.spec.witness import Commitments, LeafUpdate


@dataclass(slots=True)
class State:
    """The full rollup state. Only `tree` (through its root) is committed to by proofs.

    The `process_*` steps mutate a state in place; `apply_segment` and `apply_batch` work on a copy.
    """

    tree: SparseMerkleTree
    accounts: dict[AccountIndex, Account]
    next_deposit_index: DepositIndex
    """The L1 deposit-queue index the next deposit must have."""
    pending_fees: Fee
    """Fees collected in the current segment and not yet credited to the fee account."""
    commitments: Commitments
    """Heads of the data, withdrawals and deposits chains after everything applied so far."""
    batch_number: BatchNumber
    """Number of the last applied batch (0 at genesis)."""
    timestamp: Timestamp
    """Timestamp of the last applied batch."""
    accumulated_input_hash: Commitment
    """Accumulated input hash after the last applied batch."""
    chain_id: ChainId = CHAIN_ID
    """The deployment this state belongs to (fixed at genesis)."""

    def copy(self) -> State:
        """An independent copy (accounts are immutable, so a shallow dict copy suffices)."""
        return State(
            tree=self.tree.copy(),
            accounts=dict(self.accounts),
            next_deposit_index=self.next_deposit_index,
            pending_fees=self.pending_fees,
            commitments=self.commitments,
            batch_number=self.batch_number,
            timestamp=self.timestamp,
            accumulated_input_hash=self.accumulated_input_hash,
            chain_id=self.chain_id,
        )


def compute_account_leaf(account: Account) -> Digest:
    """The leaf of an account: Poseidon(key as 5 u64 limbs, balance as 2 u32 limbs, nonce)."""
    return poseidon_hash(
        [*compute_public_key_elements(account.public_key), *compute_u64_limbs(account.balance), account.nonce]
    )


def get_state_root(state: State) -> StateRoot:
    """The root of the account tree."""
    return state.tree.root


def get_account(state: State, index: AccountIndex) -> Account | None:
    """The account at `index`, or None if the slot is empty.

    Mid-segment, the fee account's balance excludes the segment's pending fees (see `process_fee_credit`).
    """
    return state.accounts.get(index)


def is_valid_account_index(state: State, index: AccountIndex) -> bool:
    """Whether `index` is a slot of the state's tree."""
    return bool(0 <= index < 2**state.tree.depth)


def get_total_supply(state: State) -> int:
    """Sum of all balances plus fees not yet credited: deposits minus withdrawals and refunds."""
    return sum(account.balance for account in state.accounts.values()) + state.pending_fees


def get_leaf_read(state: State, index: AccountIndex) -> LeafUpdate:
    """A witness that the leaf at `index` holds its current value (a write that changes nothing)."""
    leaf = state.tree.get(index)
    root = state.tree.root
    account = state.accounts.get(index)
    return LeafUpdate(index, account, account, leaf, leaf, tuple(state.tree.proof(index)), root, root)


def set_account(state: State, index: AccountIndex, account: Account) -> LeafUpdate:
    """Writes `account` at `index`; returns the witness of the write."""
    before = get_leaf_read(state, index)
    leaf = compute_account_leaf(account)
    root_after = state.tree.update([(index, leaf)])
    state.accounts[index] = account
    return LeafUpdate(
        index,
        before.account_before,
        account,
        before.leaf_before,
        leaf,
        before.siblings,
        before.root_before,
        root_after,
    )


def initial_state(
    fee_account_public_key: PublicKey, depth: int = ACCOUNT_TREE_DEPTH, chain_id: ChainId = CHAIN_ID
) -> State:
    """The genesis state: an empty tree but for the operator's fee account (balance 0) at index 0.

    `depth` below 32 is for tests; InvalidKey if the key is not a valid public key.
    """
    validate_public_key(fee_account_public_key)
    state = State(
        tree=SparseMerkleTree(depth),
        accounts={},
        next_deposit_index=DepositIndex(0),
        pending_fees=Fee(0),
        commitments=Commitments(ZERO_DIGEST, ZERO_DIGEST, ZERO_DIGEST),
        batch_number=BatchNumber(0),
        timestamp=Timestamp(0),
        accumulated_input_hash=ZERO_DIGEST,
        chain_id=chain_id,
    )
    set_account(state, FEE_ACCOUNT_INDEX, Account(fee_account_public_key, Amount(0), Nonce(0)))
    return state
