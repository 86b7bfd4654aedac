"""The sequential executor agrees with the spec's apply_batch for every segment size."""

from __future__ import annotations

import itertools
import random

import pytest

from zkpipe.errors import InvalidTransaction, TxError
from zkpipe.execution import SequentialExecutor, digest_bytes
from zkpipe.native import keygen
from zkpipe.spec import (
    AccountIndex,
    Amount,
    Deposit,
    DepositIndex,
    Fee,
    L1Address,
    Nonce,
    PublicKey,
    Timestamp,
    Transaction,
    apply_batch,
    decode_batch,
    initial_state,
    sign_transfer,
    sign_withdraw,
)

DEPTH = 8


def _keys(n: int) -> list[tuple[bytes, bytes]]:
    return [keygen(bytes([i + 1]) * 32) for i in range(n)]


def _workload(seed: int, accounts: int, count: int) -> tuple[list[Transaction], list[tuple[bytes, bytes]]]:
    rng = random.Random(seed)
    keys = _keys(accounts)
    txs: list[Transaction] = [
        Deposit(DepositIndex(i), AccountIndex(i + 1), PublicKey(pk), Amount(10_000), L1Address(b"\x01" * 20))
        for i, (_, pk) in enumerate(keys)
    ]
    nonces = [0] * accounts
    for _ in range(count):
        s = rng.randrange(accounts)
        if rng.random() < 0.2:
            txs.append(
                sign_withdraw(
                    keys[s][0],
                    AccountIndex(s + 1),
                    L1Address(b"\x02" * 20),
                    Amount(3),
                    Fee(1),
                    Nonce(nonces[s]),
                )
            )
        else:
            r = (s + 1 + rng.randrange(accounts - 1)) % accounts
            txs.append(
                sign_transfer(
                    keys[s][0], AccountIndex(s + 1), AccountIndex(r + 1), Amount(5), Fee(2), Nonce(nonces[s])
                )
            )
        nonces[s] += 1
    return txs, keys


@pytest.mark.parametrize("segment_size", [8, 16])
def test_closed_batches_match_apply_batch(segment_size: int) -> None:
    fee_pk = PublicKey(keygen(b"\xff" * 32)[1])
    txs, _ = _workload(7, 5, 40)
    executor = SequentialExecutor(initial_state(fee_pk, DEPTH))
    reference = initial_state(fee_pk, DEPTH)
    cuts = [0, 3, 20, len(txs)]
    for start, end in itertools.pairwise(cuts):
        for tx in txs[start:end]:
            executor.execute(tx)
        closed = executor.close_batch(Timestamp(1000 + start))
        result = apply_batch(reference, decode_batch(closed.encoding), segment_size)
        reference = result.state
        assert closed.state_root == reference.tree.root
        assert closed.accumulated_input_hash == result.accumulated_input_hash
        assert closed.commitments == result.commitments
        assert executor.state.accounts == reference.accounts
    assert digest_bytes(executor.state.tree.root) == digest_bytes(reference.tree.root)


def test_invalid_transaction_changes_nothing() -> None:
    fee_pk = PublicKey(keygen(b"\xff" * 32)[1])
    txs, keys = _workload(1, 2, 0)
    executor = SequentialExecutor(initial_state(fee_pk, DEPTH))
    for tx in txs:
        executor.execute(tx)
    root, size = executor.state.tree.root, executor.open_batch_size()
    bad = sign_transfer(keys[0][0], AccountIndex(1), AccountIndex(2), Amount(10**9), Fee(1), Nonce(0))
    with pytest.raises(InvalidTransaction) as info:
        executor.execute(bad)
    assert info.value.error is TxError.INSUFFICIENT_BALANCE
    assert executor.state.tree.root == root
    assert executor.open_batch_size() == size


def test_close_batch_snapshot_holds_touched_accounts() -> None:
    fee_pk = PublicKey(keygen(b"\xff" * 32)[1])
    txs, _ = _workload(3, 3, 6)
    executor = SequentialExecutor(initial_state(fee_pk, DEPTH))
    for tx in txs:
        executor.execute(tx)
    closed = executor.close_batch(Timestamp(5))
    assert set(closed.accounts) == {0, 1, 2, 3}
    assert closed.accounts[AccountIndex(0)].balance == sum(getattr(t, "fee", 0) for t in txs)
    assert executor.open_batch_size() == (0, 0)
