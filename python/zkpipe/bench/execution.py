"""`zkpipe bench execution`: the parallel engine against the native sequential one and the spec.

Each workload is one batch of pre-signed transactions from a funded genesis state. A run executes
it, credits the fees and computes the state root (signatures checked, as the spec's rule demands);
rates are transactions per second of that whole run, best of `repeats` rounds; each round runs
every engine once, so the machine's load affects them alike. `speedup_2_threads` is best over
best, `speedup_2_threads_median` the median of the per-round ratios, and `cpu_us_per_tx` the
process CPU (all threads) per transaction: on a shared machine the 2-thread wall time says little,
but a parallel run's CPU close to the sequential one's says the work did not grow.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable
from typing import TypeVar

from zkpipe.execution import SequentialExecutor
from zkpipe.execution.engine import native_accounts, to_native_tx
from zkpipe.execution.signatures import VerifiedSignatures
from zkpipe.kpi.machine import describe_machine
from zkpipe.native import Digest, ExecutionEngine, NativeOutcome, NativeTx
from zkpipe.spec import (
    AccountIndex,
    Amount,
    Fee,
    Nonce,
    State,
    Timestamp,
    Transaction,
    UserTransaction,
    sign_transfer,
    sign_withdraw,
)
from zkpipe.workload import Accounts, genesis, l1_address, user_mix

T = TypeVar("T")

WORKLOADS = ("independent", "hot_receiver", "hot_sender", "mix")


def _workload(
    name: str, state: State, accounts: Accounts, count: int, rng: random.Random
) -> list[Transaction]:
    """`count` signed transactions valid in order from `state` (accounts 1..n exist)."""
    users = accounts.users
    txs: list[Transaction] = []
    if name == "mix":
        return user_mix(state, accounts, count, rng=rng)
    for i in range(count):
        if name == "independent":  # distinct senders, distinct receivers
            sender, recipient, nonce = (
                1 + i % (users // 2),
                1 + users // 2 + i % (users // 2),
                i // (users // 2),
            )
        elif name == "hot_receiver":  # every transfer to account 1
            sender, recipient, nonce = 2 + i % (users - 1), 1, i // (users - 1)
        else:  # hot_sender: one sender, a nonce run
            sender, recipient, nonce = 1, 2 + i % (users - 1), i
        if name == "independent" and i % 10 == 9:
            txs.append(
                sign_withdraw(
                    accounts.secret(sender),
                    AccountIndex(sender),
                    l1_address(sender),
                    Amount(1),
                    Fee(1),
                    Nonce(nonce),
                )
            )
            continue
        txs.append(
            sign_transfer(
                accounts.secret(sender),
                AccountIndex(sender),
                AccountIndex(recipient),
                Amount(3),
                Fee(1),
                Nonce(nonce),
            )
        )
    return txs


def _timed(fn: Callable[[], T]) -> tuple[float, float, T]:
    """Wall and process CPU seconds (every thread) of one call, and its result."""
    cpu, start = time.process_time(), time.perf_counter()
    result = fn()
    return time.perf_counter() - start, time.process_time() - cpu, result


def _best(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    """Best wall time of `repeats` calls, and the last result."""
    best = float("inf")
    for _ in range(repeats):
        seconds, _, result = _timed(fn)
        best = min(best, seconds)
    return best, result


def _native_run(
    state: State, txs: list[NativeTx], *, parallel: bool, threads: int
) -> Callable[[], tuple[Digest, list[NativeOutcome]]]:
    def run() -> tuple[Digest, list[NativeOutcome]]:
        engine = ExecutionEngine(state.tree.depth, native_accounts(state), state.next_deposit_index)
        tree = state.tree.copy()
        outcomes = engine.execute(txs, parallel=parallel, threads=threads)
        engine.credit_fees()
        return engine.root(tree, threads=threads), outcomes

    return run


def _spec_run(state: State, txs: list[Transaction], *, threads: int) -> Callable[[], object]:
    def run() -> object:
        scratch = state.copy()
        check = None
        if threads > 1:  # the sequencer's way: signatures verified ahead, in parallel
            signatures = VerifiedSignatures()
            users = [tx for tx in txs if isinstance(tx, UserTransaction)]
            signatures.verify_ahead(users, lambda i: scratch.accounts[i].public_key, threads=threads)
            check = signatures.check
        executor = SequentialExecutor(scratch, check) if check is not None else SequentialExecutor(scratch)
        for tx in txs:
            executor.execute(tx)
        return executor.close_batch(Timestamp(1)).state_root

    return run


def run_execution_bench(
    *, txs: int = 4096, accounts: int = 2048, repeats: int = 3, spec_txs: int = 512, seed: int = 1
) -> dict[str, object]:
    """Rates (tx/s) per workload and engine, and the parallel engine's 2-thread speedups."""
    load_before = os.getloadavg()
    keys = Accounts.generate(accounts, seed)
    state = genesis(keys, 10**12)
    rng = random.Random(seed)
    results: dict[str, dict[str, float]] = {}
    speedups: dict[str, float] = {}
    prepare_us: dict[str, float] = {}
    cpu_us: dict[str, dict[str, float]] = {}
    median_speedups: dict[str, float] = {}
    for name in WORKLOADS:
        batch = _workload(name, state, keys, txs, rng)
        start = time.perf_counter()
        native = [t for t in (to_native_tx(tx) for tx in batch) if t is not None]
        prepare_us[name] = round((time.perf_counter() - start) / len(batch) * 1e6, 2)
        rates: dict[str, float] = {}
        roots: set[Digest] = set()
        engines = {
            label: _native_run(state, native, parallel=parallel, threads=threads)
            for label, parallel, threads in (
                ("native_sequential", False, 1),
                ("parallel_1_thread", True, 1),
                ("parallel_2_threads", True, 2),
            )
        }
        walls: dict[str, list[float]] = {label: [] for label in engines}
        cpus: dict[str, list[float]] = {label: [] for label in engines}
        # Why rounds: each round runs every engine once, so a change in the machine's load hits all
        # of them alike, and the ratio within a round is the figure (its median over rounds too).
        for _ in range(repeats):
            for label, run in engines.items():
                seconds, cpu, (root, outcomes) = _timed(run)
                if any(status != 0 for status, _ in outcomes):
                    raise RuntimeError(f"workload {name}: a transaction failed under {label}")
                roots.add(root)
                walls[label].append(seconds)
                cpus[label].append(cpu)
        for label in engines:
            rates[label] = round(len(native) / min(walls[label]))
        cpu_us[name] = {label: round(min(cpus[label]) / len(native) * 1e6, 1) for label in engines}
        ratios = [s / p for s, p in zip(walls["native_sequential"], walls["parallel_2_threads"], strict=True)]
        median_speedups[name] = round(statistics.median(ratios), 2)
        subset = batch[:spec_txs]
        for label, threads in (("spec_1_thread", 1), ("spec_2_threads", 2)):
            seconds, _ = _best(_spec_run(state, subset, threads=threads), 1)
            rates[label] = round(len(subset) / seconds)
        if len(roots) != 1:
            raise RuntimeError(f"workload {name}: the engines disagree on the state root")
        results[name] = rates
        speedups[name] = round(rates["parallel_2_threads"] / rates["native_sequential"], 2)
    return {
        "benchmark": "execution",
        "txs_per_workload": txs,
        "accounts": accounts,
        "spec_txs": spec_txs,
        "repeats": repeats,
        "tx_per_s": results,
        "speedup_2_threads": speedups,
        "speedup_2_threads_median": median_speedups,
        "cpu_us_per_tx": cpu_us,
        "targets": {"independent": 1.8, "hot_receiver": 1.6, "hot_sender": 0.95},
        "prepare_us_per_tx": prepare_us,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "machine": describe_machine(),
    }
