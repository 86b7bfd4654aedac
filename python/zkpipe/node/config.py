"""The node's configuration (pydantic-settings): defaults < TOML file < `ZKPIPE_*` environment < flags."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)
from pydantic_settings.sources.utils import parse_env_vars

from zkpipe.errors import InvalidInput
from zkpipe.modes import BatchPolicyName, ExecutionEngine, L1Kind, ProveFrom, ProverBackendKind, StoreSync
from zkpipe.native import data_hash_capacity
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
from zkpipe.validation import describe_validation_error

ENV_PREFIX = "ZKPIPE_"
SEGMENT_SIZES = (0, 8, 16, 32, 64, 128)
_SECTION = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class ConfigError(InvalidInput):
    """A configuration value that is unknown, of the wrong type or out of range."""

    code = "CONFIG_ERROR"


class RpcConfig(BaseModel):
    """The JSON-RPC server."""

    model_config = _SECTION

    host: str = "127.0.0.1"
    port: int = Field(default=8545, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Largest accepted request body; larger ones get REQUEST_TOO_LARGE."""
    max_batch_calls: int = Field(default=1000, ge=1)
    """Most calls in one JSON-RPC batch request."""
    dev_methods: bool = True
    """Expose `zk_devDeposit` (deposits from the embedded L1's dev accounts)."""
    dashboard: bool = True
    """Serve the live dashboard at GET / of this port (docs/dashboard.md)."""


class BatchConfig(BaseModel):
    """When the open batch closes: `policy` "default" (any of max txs, bytes, timeout) or "adaptive"."""

    model_config = _SECTION

    policy: BatchPolicyName = "default"
    max_txs: int = Field(default=4096, ge=1)
    max_bytes: int = Field(default=110_000, ge=1)
    """Stays below the contract's 120 000 bytes per sequenceBatches call."""
    timeout_s: float = Field(default=0.5, gt=0)
    adaptive_min_txs: int = Field(default=64, ge=1)
    adaptive_target_latency_s: float = Field(default=4.0, gt=0)

    def build(self) -> BatchPolicy:
        """The policy object these settings describe."""
        if self.policy == "adaptive":
            adaptive = AdaptivePolicy(
                min_txs=self.adaptive_min_txs,
                max_txs=self.max_txs,
                max_wait_s=self.timeout_s,
                target_latency_s=self.adaptive_target_latency_s,
            )
            return AnyOf((adaptive, MaxBytesPolicy(self.max_bytes)))
        return AnyOf(
            (MaxTxsPolicy(self.max_txs), MaxBytesPolicy(self.max_bytes), TimeoutPolicy(self.timeout_s))
        )


class L1Config(BaseModel):
    """The L1 chain: "embedded" (the in-process devnet) or "rpc" (any Ethereum JSON-RPC node)."""

    model_config = _SECTION

    kind: L1Kind = "embedded"
    block_time: float = Field(default=2.0, gt=0)
    """The embedded devnet's block time; with "rpc", the node's (the sender times its posts by it)."""
    poll_interval_s: float = Field(default=0.05, gt=0)
    """How often the sender and syncer look at L1."""
    send_margin_s: float = Field(default=0.3, ge=0)
    """The sender posts this long before the next expected block, grouping the batches closed since."""
    rpc_url: str = ""
    """With kind "rpc": the node's HTTP JSON-RPC endpoint."""
    keys: str = ""
    """With kind "rpc": comma-separated 0x private keys of the deployer, sequencer, aggregator and
    depositor (one key may play several roles); "" uses anvil's public dev keys (dev chains only)."""
    confirmations: int = Field(default=1, ge=0)
    """With kind "rpc": blocks on top of a block before the node acts on it (re-orgs shallower are unseen)."""
    rollup_address: str = ""
    """With kind "rpc": attach to this deployed rollup contract instead of deploying one."""


class StoreConfig(BaseModel):
    """The SQLite store."""

    model_config = _SECTION

    synchronous: StoreSync = "FULL"
    """FULL: an acknowledged transaction survives power loss; NORMAL: it survives a process crash only."""


class ProvingConfig(BaseModel):
    """The provers: off by default (a sequencer-only node); `zkpipe up --prove` and the demo turn it on."""

    model_config = _SECTION

    enabled: bool = False
    backend: ProverBackendKind = "local"
    """"local" (warm prover processes on this machine) or "ray" (actors on a Ray cluster)."""
    ray_address: str = ""
    """Address of an existing Ray cluster ("" starts a local one)."""
    workers: int = Field(default=0, ge=0)
    """Prover workers (0: one per core)."""
    threads_per_prover: int = Field(default=1, ge=0)
    """Threads per proof: 1 for many single-threaded provers, more for few multi-threaded ones."""
    segment_size: int = 8
    """Transactions per segment proof (8, 16, 32, 64 or 128); 0 chooses it from `memory_budget_mib`."""
    memory_budget_mib: int = Field(default=0, ge=0)
    """With segment_size 0: memory per prover, MiB (0: the machine's memory shared by the workers).
    The segment size is then the cheapest one whose measured peak memory fits (the measured table
    shipped as package data, zkpipe/planner/measurements.json)."""
    prove_from: ProveFrom = "virtual"
    """Start proving a batch once it is "virtual" (on L1) or already when "trusted" (closed)."""
    aggregation_n: int = Field(default=4, ge=1)
    """Batches folded into one aggregate (one L1 verification)."""
    aggregation_timeout_s: float = Field(default=30.0, gt=0)
    """An aggregation window closes after this long even with fewer than N batches."""
    job_timeout_s: float = Field(default=600.0, gt=0)
    redundancy: int = Field(default=1, ge=1)
    """Copies of every proving job (more than 1 for untrusted provers)."""
    bind_to_l1: bool = False
    """Also prove each batch's data (a DATA job: SHA-256 of the posted bytes and L1's accumulated
    input hash, in circuit) and join it with the batch's segments (a JOIN job, the 44-element
    BatchStatement); each is verified on receipt, and a window is consolidated only once every
    batch's join verified and its acc_in/acc_out equal L1's accInputHash (docs/proving.md). Off by
    default: the proof sent to L1 is still the segment-level aggregate."""
    data_blocks: int = Field(default=26, ge=2)
    """SHA-256 blocks of the data circuit with bind_to_l1 (one size per deployment): it proves
    batches of at most 64 × blocks − 9 bytes, so batch.max_bytes must not exceed that."""

    @field_validator("segment_size")
    @classmethod
    def _known_segment_size(cls, value: int) -> int:
        if value not in SEGMENT_SIZES:
            raise ValueError("must be 0 (chosen from the memory budget), 8, 16, 32, 64 or 128")
        return value


class ExecutionConfig(BaseModel):
    """The executor: "parallel" (the native engine: Block-STM, lazy credits) or "sequential" (the spec's)."""

    model_config = _SECTION

    engine: ExecutionEngine = "parallel"


class NodeConfig(BaseSettings):
    """Everything `zkpipe up` needs; `load_config` reads it from its layers."""

    model_config = SettingsConfigDict(
        extra="forbid",
        use_attribute_docstrings=True,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
    )

    data_dir: Path = Path("zkpipe-data")
    tree_depth: int = Field(default=32, ge=1, le=32)
    chain_id: int = Field(default=CHAIN_ID, ge=0, le=MAX_CHAIN_ID)
    """The deployment's chain id (u32): in the rollup contract, every signing digest and every proof."""
    log_level: str = "INFO"
    rpc: RpcConfig = Field(default_factory=RpcConfig)
    mempool: MempoolConfig = Field(default_factory=MempoolConfig)
    batch: BatchConfig = Field(default_factory=BatchConfig)
    l1: L1Config = Field(default_factory=L1Config)
    store: StoreConfig = Field(default_factory=StoreConfig)
    proving: ProvingConfig = Field(default_factory=ProvingConfig)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)

    @model_validator(mode="after")
    def _consistent(self) -> NodeConfig:
        if self.l1.kind == "rpc" and not self.l1.rpc_url:
            raise ValueError("l1.kind 'rpc' needs l1.rpc_url")
        if self.proving.enabled and self.tree_depth != 32:
            raise ValueError("proving needs tree_depth 32 (the circuits')")
        if self.proving.enabled and self.proving.bind_to_l1:
            capacity = data_hash_capacity(self.proving.data_blocks)
            if self.batch.max_bytes > capacity:
                raise ValueError(
                    f"proving.bind_to_l1: batch.max_bytes {self.batch.max_bytes} exceeds the data circuit's "
                    f"{capacity} bytes (proving.data_blocks {self.proving.data_blocks})"
                )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """`NodeConfig(...)` takes only its arguments; `load_config` adds the file and the environment."""
        return (init_settings,)


class _EnvSource(EnvSettingsSource):
    """`ZKPIPE_RPC__PORT=9000`-style variables ("__" separates sections) from `env`, or os.environ."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str] | None) -> None:
        self._env = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        if self._env is None:
            return super()._load_env_vars()
        return parse_env_vars(self._env, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


def _nested(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted keys (`{"rpc.port": 9000}`) as nested tables; None values are left out."""
    out: dict[str, Any] = {}
    for dotted, value in overrides.items():
        if value is None:
            continue
        *sections, key = dotted.split(".")
        table = out
        for section in sections:
            table = table.setdefault(section, {})
        table[key] = value
    return out


def load_config(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> NodeConfig:
    """The configuration: defaults, then the TOML file, then `ZKPIPE_*` variables, then `overrides`.

    `env` replaces os.environ (tests, benchmarks); `overrides` are dotted keys (`{"rpc.port": 9000}`),
    the CLI flags, whose None values are skipped. Raises ConfigError naming each bad setting.
    """
    if path is not None and not Path(path).is_file():
        raise ConfigError(f"cannot read config file {path}: no such file")
    try:
        sources = (
            InitSettingsSource(NodeConfig, _nested(overrides or {})),
            _EnvSource(NodeConfig, env),
            TomlConfigSettingsSource(NodeConfig, toml_file=path),
        )
        settings: type[BaseSettings] = NodeConfig  # why: mypy reads the fields' __init__, not BaseSettings'
        config = settings(_build_sources=(sources, {}))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"cannot read config file {path}: {err}") from None
    except SettingsError as err:
        raise ConfigError(str(err)) from None
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err, unknown="unknown setting")) from None
    assert isinstance(config, NodeConfig)
    return config
