"""Helpers for sequencer tests: a sequencer over a real store and executor, and funded keys."""

from __future__ import annotations

import threading
from pathlib import Path

from zkpipe.execution import SequentialExecutor
from zkpipe.execution.engine import NativeExecutor
from zkpipe.kpi import NodeMetrics
from zkpipe.native import keygen
from zkpipe.node.store import Store
from zkpipe.sequencer.core import Sequencer
from zkpipe.sequencer.mempool import Mempool, MempoolConfig, Result
from zkpipe.sequencer.policy import BatchPolicy, MaxTxsPolicy
from zkpipe.spec import (
    AccountIndex,
    Amount,
    Deposit,
    DepositIndex,
    L1Address,
    PublicKey,
    UserTransaction,
    initial_state,
)

DEPTH = 8
FEE_PK = PublicKey(keygen(b"\xfe" * 32)[1])
KEYS = [keygen(bytes([i + 1]) * 32) for i in range(4)]


def deposits(amount: int = 1_000) -> list[tuple[Deposit, float]]:
    """One deposit per key in KEYS, to accounts 1..4."""
    return [
        (
            Deposit(
                DepositIndex(i), AccountIndex(i + 1), PublicKey(pk), Amount(amount), L1Address(b"\x01" * 20)
            ),
            0.0,
        )
        for i, (_, pk) in enumerate(KEYS)
    ]


def make_sequencer(
    path: Path,
    policy: BatchPolicy | None = None,
    config: MempoolConfig | None = None,
    *,
    engine: str = "sequential",
) -> tuple[Sequencer, Store]:
    """A sequencer on a fresh store at `path` (not started), on the spec's or the parallel engine."""
    store = Store(path, synchronous="NORMAL")
    state = initial_state(FEE_PK, DEPTH)
    sequencer = Sequencer(
        SequentialExecutor(state) if engine == "sequential" else NativeExecutor(state, threads=2),
        store,
        Mempool(config or MempoolConfig()),
        policy or MaxTxsPolicy(1000),
        NodeMetrics(),
        last_seq=0,
        last_l1_acc_input_hash=bytes(32),
    )
    return sequencer, store


def submit_and_wait(sequencer: Sequencer, txs: list[UserTransaction], timeout: float = 20.0) -> list[Result]:
    """Submits and blocks until every outcome is known."""
    done = threading.Event()
    out: list[Result] = []

    def on_done(results: list[Result]) -> None:
        out.extend(results)
        done.set()

    sequencer.submit(txs, on_done)
    assert done.wait(timeout), "no outcome in time"
    return out
