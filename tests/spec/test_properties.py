"""Properties over random transaction sequences: supply, nonces, atomicity, determinism, order."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from zkpipe.native import SparseMerkleTree
from zkpipe.spec import (
    FEE_ACCOUNT_INDEX,
    SEGMENT_SIZES,
    AccountIndex,
    Deposit,
    InvalidTransaction,
    State,
    Transaction,
    Transfer,
    TxStatus,
    Withdraw,
    apply_batch,
    apply_tx,
    compute_account_leaf,
    get_total_supply,
    process_fee_credit,
)

from .helpers import funded_state, make_batch, make_deposit, make_transfer, make_withdraw, pk, snapshot


@dataclass(frozen=True)
class Op:
    """One random step: a transaction to try, or a segment end."""

    kind: str
    a: int
    b: int
    amount: int
    fee: int
    nonce_shift: int


amounts = st.one_of(st.integers(0, 3_000), st.sampled_from([2**64 - 1, 2**63]))
ops = st.builds(
    Op,
    st.sampled_from(["deposit", "transfer", "transfer", "withdraw", "segment_end"]),
    st.integers(0, 5),
    st.integers(0, 5),
    amounts,
    st.integers(0, 40),
    st.sampled_from([0, 0, 0, 0, 1, -1]),
)


def _build(state: State, op: Op) -> Transaction:
    if op.kind == "deposit":
        return make_deposit(state, op.a, pk(op.b), op.amount)
    account = state.accounts.get(AccountIndex(op.a))
    nonce = max(0, (account.nonce if account else 0) + op.nonce_shift)
    if op.kind == "transfer":
        return make_transfer(state, op.a, op.b, op.amount, fee=op.fee, nonce=nonce)
    return make_withdraw(state, op.a, op.amount, fee=op.fee, nonce=nonce)


def _rebuilt_root(state: State) -> object:
    """The root of a fresh tree holding the state's accounts: the root depends on accounts only."""
    tree = SparseMerkleTree(state.tree.depth)
    tree.update([(i, compute_account_leaf(a)) for i, a in sorted(state.accounts.items())])
    return tree.root


@settings(max_examples=60, deadline=None)
@given(st.lists(ops, max_size=30))
def test_random_sequences_keep_invariants(sequence: list[Op]) -> None:
    genesis = funded_state(accounts=3)
    state = genesis.copy()
    supply = get_total_supply(state)
    fees = 0
    accepted: list[Transaction] = []
    for op in sequence:
        if op.kind == "segment_end":
            process_fee_credit(state)
            continue
        tx = _build(state, op)
        before = snapshot(state)
        try:
            witness = apply_tx(state, tx)
        except InvalidTransaction:
            assert snapshot(state) == before  # rejected: nothing changed
            continue
        accepted.append(tx)
        nonces = {i: a.nonce for i, a in before.accounts.items()}
        if isinstance(tx, Transfer | Withdraw):
            # The sender's nonce goes up by one; nobody else's moves.
            assert state.accounts[tx.sender].nonce == nonces[tx.sender] + 1
            fees += tx.fee
            nonces[tx.sender] += 1
        assert {i: a.nonce for i, a in state.accounts.items() if i in nonces} == nonces
        if isinstance(tx, Deposit) and witness.receipt.status is TxStatus.OK:
            supply += tx.amount
        if witness.withdrawal is not None and isinstance(tx, Withdraw):
            supply -= tx.amount
        # Supply is deposits minus withdrawals, fees included (pending or in the fee account).
        assert get_total_supply(state) == supply
        assert state.tree.root == _rebuilt_root(state)
    process_fee_credit(state)
    assert state.accounts[FEE_ACCOUNT_INDEX].balance == fees

    # The accepted transactions form a valid batch, with the same outcome however it is segmented.
    batch = make_batch(genesis, accepted)
    for k in (SEGMENT_SIZES[0], SEGMENT_SIZES[-1]):
        result = apply_batch(genesis, batch, k)
        assert result.state.tree.root == state.tree.root
        assert result.state.accounts == state.accounts


def test_root_is_deterministic() -> None:
    assert funded_state().tree.root == funded_state().tree.root


def test_root_is_order_sensitive() -> None:
    # The same keys and amounts, placed in swapped slots, give another root.
    a, b = funded_state(accounts=0), funded_state(accounts=0)
    apply_tx(a, make_deposit(a, 1, pk(1), 10))
    apply_tx(a, make_deposit(a, 2, pk(2), 20))
    apply_tx(b, make_deposit(b, 1, pk(2), 20))
    apply_tx(b, make_deposit(b, 2, pk(1), 10))
    assert a.tree.root != b.tree.root
    # Order of operations matters when they do not commute.
    c, d = funded_state(accounts=0), funded_state(accounts=0)
    for state, first in ((c, 10), (d, 20)):
        apply_tx(state, make_deposit(state, 1, pk(1), first))
        apply_tx(state, make_deposit(state, 2, pk(2), 30 - first))
    assert c.tree.root != d.tree.root


def test_nonce_and_balance_change_root(state: State) -> None:
    root = state.tree.root
    apply_tx(state, make_transfer(state, 1, 2, 1, fee=0))
    assert state.tree.root != root
