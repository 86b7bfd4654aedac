"""Shared helpers: small real batches and their spec results."""

from __future__ import annotations

import random

from zkpipe.spec import BatchResult, State, apply_batch
from zkpipe.workload import Accounts, genesis, next_batch, user_mix

K = 8


def make_batches(count: int, *, txs: int = 12, seed: int = 1) -> tuple[State, list[BatchResult]]:
    """Genesis and `count` consecutive applied batches of `txs` signed transfers and withdrawals."""
    accounts = Accounts.generate(6, seed=seed)
    state = genesis(accounts, 10_000)
    rng = random.Random(seed)
    results: list[BatchResult] = []
    current = state
    for i in range(count):
        batch = next_batch(current, user_mix(current, accounts, txs, rng=rng), 1_700_000_000 + i)
        result = apply_batch(current, batch, K)
        results.append(result)
        current = result.state
    return state, results
