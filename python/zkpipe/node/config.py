"""The node's configuration: one dataclass tree, read from TOML, `ZKPIPE_*` variables and flags."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from zkpipe.errors import InvalidInput
from zkpipe.kpi.figures import ProveFrom
from zkpipe.sequencer.mempool import MempoolConfig
from zkpipe.sequencer.policy import (
    AdaptivePolicy,
    AnyOf,
    BatchPolicy,
    MaxBytesPolicy,
    MaxTxsPolicy,
    TimeoutPolicy,
)
from zkpipe.spec import CHAIN_ID, MAX_CHAIN_ID

ENV_PREFIX = "ZKPIPE_"


class ConfigError(InvalidInput):
    """A configuration value that is unknown, of the wrong type or out of range."""

    code = "CONFIG_ERROR"


@dataclass
class RpcConfig:
    """The JSON-RPC server."""

    host: str = "127.0.0.1"
    port: int = 8545
    max_body_bytes: int = 1_048_576
    """Largest accepted request body; larger ones get REQUEST_TOO_LARGE."""
    max_batch_calls: int = 1000
    """Most calls in one JSON-RPC batch request."""
    dev_methods: bool = True
    """Expose `zk_devDeposit` (deposits from the embedded L1's dev accounts)."""
    dashboard: bool = True
    """Serve the live dashboard at GET / of this port (docs/dashboard.md)."""


@dataclass
class BatchConfig:
    """When the open batch closes: `policy` "default" (any of max txs, bytes, timeout) or "adaptive"."""

    policy: str = "default"
    max_txs: int = 4096
    max_bytes: int = 110_000
    """Stays below the contract's 120 000 bytes per sequenceBatches call."""
    timeout_s: float = 0.5
    adaptive_min_txs: int = 64
    adaptive_target_latency_s: float = 4.0

    def build(self) -> BatchPolicy:
        """The policy object these settings describe."""
        if self.policy == "default":
            return AnyOf(
                (MaxTxsPolicy(self.max_txs), MaxBytesPolicy(self.max_bytes), TimeoutPolicy(self.timeout_s))
            )
        if self.policy == "adaptive":
            return AnyOf(
                (
                    AdaptivePolicy(
                        min_txs=self.adaptive_min_txs,
                        max_txs=self.max_txs,
                        max_wait_s=self.timeout_s,
                        target_latency_s=self.adaptive_target_latency_s,
                    ),
                    MaxBytesPolicy(self.max_bytes),
                )
            )
        raise ConfigError(f"batch.policy must be 'default' or 'adaptive', got {self.policy!r}")


@dataclass
class L1Config:
    """The L1 chain: "embedded" (the in-process devnet) or "rpc" (any Ethereum JSON-RPC node)."""

    kind: str = "embedded"
    block_time: float = 2.0
    """The embedded devnet's block time; with "rpc", the node's (the sender times its posts by it)."""
    poll_interval_s: float = 0.05
    """How often the sender and syncer look at L1."""
    send_margin_s: float = 0.3
    """The sender posts this long before the next expected block, grouping the batches closed since."""
    rpc_url: str = ""
    """With kind "rpc": the node's HTTP JSON-RPC endpoint."""
    keys: str = ""
    """With kind "rpc": comma-separated 0x private keys of the deployer, sequencer, aggregator and
    depositor (one key may play several roles); "" uses anvil's public dev keys (dev chains only)."""
    confirmations: int = 1
    """With kind "rpc": blocks on top of a block before the node acts on it (re-orgs shallower are unseen)."""
    rollup_address: str = ""
    """With kind "rpc": attach to this deployed rollup contract instead of deploying one."""


@dataclass
class StoreConfig:
    """The SQLite store."""

    synchronous: str = "FULL"
    """FULL: an acknowledged transaction survives power loss; NORMAL: it survives a process crash only."""


@dataclass
class ProvingConfig:
    """The provers: off by default (a sequencer-only node); `zkpipe up --prove` and the demo turn it on."""

    enabled: bool = False
    backend: str = "local"
    """"local" (warm prover processes on this machine) or "ray" (actors on a Ray cluster)."""
    ray_address: str = ""
    """Address of an existing Ray cluster ("" starts a local one)."""
    workers: int = 0
    """Prover workers (0: one per core)."""
    threads_per_prover: int = 1
    """Threads per proof: 1 for many single-threaded provers, more for few multi-threaded ones."""
    segment_size: int = 8
    """Transactions per segment proof (8, 16, 32, 64 or 128); 0 chooses it from `memory_budget_mib`."""
    memory_budget_mib: int = 0
    """With segment_size 0: memory per prover, MiB (0: the machine's memory shared by the workers).
    The segment size is then the cheapest one whose measured peak memory fits (the measured table
    shipped as package data, zkpipe/planner/measurements.json)."""
    prove_from: ProveFrom = "virtual"
    """Start proving a batch once it is "virtual" (on L1) or already when "trusted" (closed)."""
    aggregation_n: int = 4
    """Batches folded into one aggregate (one L1 verification)."""
    aggregation_timeout_s: float = 30.0
    """An aggregation window closes after this long even with fewer than N batches."""
    job_timeout_s: float = 600.0
    redundancy: int = 1
    """Copies of every proving job (more than 1 for untrusted provers)."""


@dataclass
class ExecutionConfig:
    """The executor: "parallel" (the native engine: Block-STM, lazy credits) or "sequential" (the spec's)."""

    engine: str = "parallel"


@dataclass
class NodeConfig:
    """Everything `zkpipe up` needs."""

    data_dir: Path = field(default_factory=lambda: Path("zkpipe-data"))
    tree_depth: int = 32
    chain_id: int = CHAIN_ID
    """The deployment's chain id (u32): in the rollup contract, every signing digest and every proof."""
    log_level: str = "INFO"
    rpc: RpcConfig = field(default_factory=RpcConfig)
    mempool: MempoolConfig = field(default_factory=MempoolConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)
    l1: L1Config = field(default_factory=L1Config)
    store: StoreConfig = field(default_factory=StoreConfig)
    proving: ProvingConfig = field(default_factory=ProvingConfig)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)

    def validate(self) -> NodeConfig:
        """Checks ranges; raises ConfigError. Returns self."""
        checks = [
            (1 <= self.tree_depth <= 32, "tree_depth must be in [1, 32]"),
            (0 <= self.chain_id <= MAX_CHAIN_ID, "chain_id must be in [0, 2**32)"),
            (0 <= self.rpc.port <= 65535, "rpc.port must be in [0, 65535]"),
            (self.rpc.max_body_bytes >= 1024, "rpc.max_body_bytes must be >= 1024"),
            (self.rpc.max_batch_calls >= 1, "rpc.max_batch_calls must be >= 1"),
            (self.mempool.max_pending >= 1, "mempool.max_pending must be >= 1"),
            (self.mempool.max_nonce_gap >= 0, "mempool.max_nonce_gap must be >= 0"),
            (self.mempool.future_timeout_s > 0, "mempool.future_timeout_s must be > 0"),
            (self.mempool.max_wait_s >= 0, "mempool.max_wait_s must be >= 0"),
            (self.l1.kind in ("embedded", "rpc"), "l1.kind must be 'embedded' or 'rpc'"),
            (self.l1.kind != "rpc" or bool(self.l1.rpc_url), "l1.kind 'rpc' needs l1.rpc_url"),
            (self.l1.confirmations >= 0, "l1.confirmations must be >= 0"),
            (self.l1.block_time > 0, "l1.block_time must be > 0"),
            (self.l1.poll_interval_s > 0, "l1.poll_interval_s must be > 0"),
            (self.store.synchronous in ("FULL", "NORMAL"), "store.synchronous must be FULL or NORMAL"),
            (self.proving.backend in ("local", "ray"), "proving.backend must be 'local' or 'ray'"),
            (
                self.execution.engine in ("parallel", "sequential"),
                "execution.engine must be 'parallel' or 'sequential'",
            ),
            (
                self.proving.segment_size in (0, 8, 16, 32, 64, 128),
                "proving.segment_size must be 0 (chosen from the memory budget), 8, 16, 32, 64 or 128",
            ),
            (
                self.proving.prove_from in ("virtual", "trusted"),
                "proving.prove_from must be virtual or trusted",
            ),
            (self.proving.aggregation_n >= 1, "proving.aggregation_n must be >= 1"),
            (self.proving.aggregation_timeout_s > 0, "proving.aggregation_timeout_s must be > 0"),
            (self.proving.memory_budget_mib >= 0, "proving.memory_budget_mib must be >= 0"),
            (
                self.proving.workers >= 0 and self.proving.threads_per_prover >= 0,
                "proving workers/threads >= 0",
            ),
            (self.proving.redundancy >= 1, "proving.redundancy must be >= 1"),
            (
                not self.proving.enabled or self.tree_depth == 32,
                "proving needs tree_depth 32 (the circuits')",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        self.batch.build()
        return self


def _coerce(value: Any, target: Any, name: str) -> Any:
    """`value` (from TOML, env or a flag) converted to the field type `target`."""
    if get_origin(target) is Literal:
        if isinstance(value, str) and value in get_args(target):
            return value
        raise ConfigError(f"{name} must be one of {', '.join(map(repr, get_args(target)))}, got {value!r}")
    try:
        if target in (bool, "bool"):
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in (
                "1",
                "true",
                "yes",
                "on",
                "0",
                "false",
                "no",
                "off",
            ):
                return value.lower() in ("1", "true", "yes", "on")
            raise ValueError(value)
        if target in (int, "int"):
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if target in (float, "float"):
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if target in (Path, "Path"):
            return Path(value)
        if target in (str, "str"):
            if not isinstance(value, str):
                raise ValueError(value)
            return value
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: cannot read {value!r} as {target}") from None
    raise ConfigError(f"{name}: unsupported field type {target}")


def _apply(obj: Any, values: Mapping[str, Any], prefix: str) -> None:
    """Sets fields of the dataclass `obj` from a nested mapping; unknown keys are errors."""
    known = {f.name: f for f in dataclasses.fields(obj)}
    hints = get_type_hints(type(obj))
    for key, value in values.items():
        name = f"{prefix}{key}"
        if key not in known:
            raise ConfigError(f"unknown setting {name!r}")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{name} must be a table")
            _apply(current, value, f"{name}.")
        else:
            setattr(obj, key, _coerce(value, hints[key], name))


def _env_values(env: Mapping[str, str]) -> dict[str, Any]:
    """`ZKPIPE_RPC__PORT=9000` style variables as a nested mapping (`__` separates levels)."""
    out: dict[str, Any] = {}
    sections = {f.name for f in dataclasses.fields(NodeConfig)}
    for key, value in env.items():
        if not key.startswith(ENV_PREFIX):
            continue
        path = key[len(ENV_PREFIX) :].lower().split("__")
        if path[0] not in sections:
            continue  # other zkpipe variables (ZKPIPE_CACHE_DIR, …) are not node settings
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return out


def load_config(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> NodeConfig:
    """The configuration: defaults, then the TOML file, then `ZKPIPE_*` variables, then `overrides`.

    `overrides` are dotted keys (`{"rpc.port": 9000}`) — the CLI flags; None values are skipped.
    """
    config = NodeConfig()
    if path is not None:
        try:
            with open(path, "rb") as f:
                _apply(config, tomllib.load(f), "")
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise ConfigError(f"cannot read config file {path}: {err}") from None
    _apply(config, _env_values(os.environ if env is None else env), "")
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        nested: dict[str, Any] = {}
        node = nested
        parts = dotted.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
        _apply(config, nested, "")
    return config.validate()
