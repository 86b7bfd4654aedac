"""Deterministic workloads: funded genesis states and signed transaction mixes for benchmarks and demos."""

from __future__ import annotations

import random
from dataclasses import dataclass

from zkpipe.native import keygen
from zkpipe.spec import (
    AccountIndex,
    Amount,
    Batch,
    BatchHeader,
    BatchNumber,
    Deposit,
    DepositIndex,
    Fee,
    L1Address,
    Nonce,
    PublicKey,
    State,
    Timestamp,
    Transaction,
    apply_tx,
    initial_state,
    sign_transfer,
    sign_withdraw,
)


@dataclass(frozen=True)
class Accounts:
    """Key pairs of the operator (index 0) and of user accounts 1..n."""

    keys: tuple[tuple[bytes, bytes], ...]

    @classmethod
    def generate(cls, users: int, seed: int = 0) -> Accounts:
        """Deterministic keys from `seed`."""
        return cls(
            tuple(keygen(f"zkpipe-workload-{seed}-{i}".encode().ljust(32, b".")) for i in range(users + 1))
        )

    @property
    def users(self) -> int:
        """Number of user accounts."""
        return len(self.keys) - 1

    def public(self, index: int) -> PublicKey:
        """The public key of account `index`."""
        return PublicKey(self.keys[index][1])

    def secret(self, index: int) -> bytes:
        """The secret key of account `index`."""
        return self.keys[index][0]


def l1_address(index: int) -> L1Address:
    """A recognisable, non-zero L1 address for account `index`."""
    return L1Address(bytes([0xA0]) + index.to_bytes(19, "big"))


def deposits(state: State, accounts: Accounts, amount: int) -> list[Transaction]:
    """One deposit per user account, in queue order, creating the accounts."""
    start = state.next_deposit_index
    return [
        Deposit(
            DepositIndex(start + i - 1), AccountIndex(i), accounts.public(i), Amount(amount), l1_address(i)
        )
        for i in range(1, accounts.users + 1)
    ]


def genesis(accounts: Accounts, balance: int) -> State:
    """The genesis state with every user account funded by a deposit (fees none pending)."""
    state = initial_state(accounts.public(0))
    for tx in deposits(state, accounts, balance):
        apply_tx(state, tx)
    return state


def user_mix(
    state: State,
    accounts: Accounts,
    count: int,
    *,
    rng: random.Random,
    withdraw_share: float = 0.1,
    hot_receiver_share: float = 0.3,
) -> list[Transaction]:
    """`count` signed transfers and withdrawals valid in sequence from `state`.

    A share of transfers goes to one hot receiver (account 1), as popular contracts do.
    """
    scratch = state.copy()
    txs: list[Transaction] = []
    for _ in range(count):
        sender = rng.randint(2, accounts.users) if accounts.users > 1 else 1
        account = scratch.accounts[AccountIndex(sender)]
        nonce = Nonce(account.nonce)
        fee = Fee(rng.randint(1, 5))
        tx: Transaction
        if rng.random() < withdraw_share:
            tx = sign_withdraw(
                accounts.secret(sender),
                AccountIndex(sender),
                l1_address(sender),
                Amount(rng.randint(1, 50)),
                fee,
                nonce,
            )
        else:
            recipient = 1 if rng.random() < hot_receiver_share else rng.randint(1, accounts.users)
            if recipient == sender:
                recipient = 1 if sender != 1 else 2
            amount = Amount(rng.randint(1, 100))
            tx = sign_transfer(
                accounts.secret(sender), AccountIndex(sender), AccountIndex(recipient), amount, fee, nonce
            )
        apply_tx(scratch, tx)
        txs.append(tx)
    return txs


def next_batch(state: State, txs: list[Transaction], timestamp: int) -> Batch:
    """A batch of `txs` that follows `state`."""
    count = sum(isinstance(tx, Deposit) for tx in txs)
    header = BatchHeader(
        BatchNumber(state.batch_number + 1),
        Timestamp(timestamp),
        DepositIndex(state.next_deposit_index),
        DepositIndex(state.next_deposit_index + count),
        state.accumulated_input_hash,
    )
    return Batch(header, tuple(txs))
