"""The named modes of zkpipe: one vocabulary for the node's config, the simulator and run records."""

from __future__ import annotations

from typing import Literal

__all__ = [
    "ArrivalKind",
    "BatchPolicyName",
    "ExecutionEngine",
    "L1Kind",
    "ProveFrom",
    "ProverBackendKind",
    "StoreSync",
    "ThroughputWindow",
]

ProveFrom = Literal["trusted", "virtual"]
"""When a batch may start being proven: once closed (trusted) or once sequenced on L1 (virtual)."""

BatchPolicyName = Literal["default", "adaptive"]
"""How the open batch closes: any of max txs / bytes / timeout, or the adaptive policy."""

L1Kind = Literal["embedded", "rpc"]
"""The L1 chain: the in-process devnet, or any Ethereum JSON-RPC node."""

ProverBackendKind = Literal["local", "ray"]
"""Where provers run: warm processes on this machine, or actors on a Ray cluster."""

ExecutionEngine = Literal["parallel", "sequential"]
"""The executor: the native Block-STM engine, or the spec's sequential reference."""

StoreSync = Literal["FULL", "NORMAL"]
"""SQLite `synchronous`: FULL survives power loss, NORMAL a process crash only."""

ArrivalKind = Literal["deterministic", "poisson", "bursty", "recorded"]
"""The simulator's traffic: a named arrival process, or a run's own arrival times replayed."""

ThroughputWindow = Literal["steady", "run"]
"""Throughput measured over the steady state (simulator) or over the whole run (live node)."""
