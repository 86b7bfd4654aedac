"""The run record (`zkpipe.run/1`) as pydantic models: one documented definition per field."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from zkpipe.modes import ArrivalKind, ProveFrom, ThroughputWindow


class RunCounts(BaseModel):
    """How many transactions a run had and how far they got; deposits count like any transaction."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    txs: int = Field(ge=0)
    """Every transaction of the run the node stored: user transactions and L1 deposits."""
    user_txs: int = Field(ge=0)
    """User transactions the run sent over RPC."""
    deposits: int = Field(ge=0)
    """L1 deposits the run made."""
    consolidated: int = Field(ge=0)
    """Of `txs`, those whose batch L1 verified (deposits included, as in `txs`)."""
    user_consolidated: int = Field(ge=0)
    """Of `user_txs`, those consolidated."""
    lost: int = Field(ge=0)
    """User transactions the node has no receipt for, or rejected."""

    @model_validator(mode="after")
    def _consistent(self) -> RunCounts:
        if self.txs != self.user_txs + self.deposits:
            raise ValueError("txs must be user_txs + deposits")
        if not (
            self.user_consolidated <= self.consolidated <= self.txs
            and self.user_consolidated <= self.user_txs
        ):
            raise ValueError("consolidated counts exceed what they count")
        return self


RUN_SCHEMA: Final = "zkpipe.run/1"
_RECORD = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, use_attribute_docstrings=True)
Seconds = Annotated[float, Field(ge=0)]


class RunSetup(BaseModel):
    """How a run was set up (its `config` object): the traffic, the node's rules and its proving."""

    model_config = _RECORD

    arrivals: ArrivalKind
    """The traffic: a named process, or "recorded" (the run's own `arrival_times_s`, replayed)."""
    arrival_times_s: list[Seconds] | None = None
    """With "recorded": each transaction's arrival, seconds from the first (deposits included)."""
    tx_rate: float = Field(gt=0)
    """Offered load, tx/s."""
    duration_s: float = Field(gt=0)
    """Seconds during which transactions arrived."""
    batch_size: int | None = Field(default=None, gt=0)
    """The batch policy's max_txs, if any."""
    batch_timeout_s: float | None = Field(default=None, gt=0)
    """The batch policy's timeout, if any."""
    batch_check_s: float | None = Field(default=None, gt=0)
    """How often the batcher re-checks its policy (the simulator's tick)."""
    provers: int = Field(gt=0)
    aggregation_n: int = Field(gt=0)
    """Batches per aggregate (one L1 verification)."""
    aggregation_timeout_s: float | None = Field(default=None, gt=0)
    """A window closes after this with fewer than N batches."""
    block_time: float = Field(gt=0)
    block_phase_s: Seconds = 0.0
    """L1 blocks at block_phase_s + k·block_time, from the first arrival."""
    send_margin_s: Seconds = 0.0
    """The sequence sender posts this long before a block."""
    send_lag_s: Seconds = 0.0
    """From a batch's close to the sender being able to post it."""
    execute_seconds_per_tx: Seconds = 0.0
    prove_from: ProveFrom = "trusted"
    """When a batch's segments are queued (older records' "closed" reads as "trusted")."""
    segment_size: int | None = Field(default=None, gt=0)
    """Transactions per segment (node runs)."""
    throughput_window: ThroughputWindow = "steady"
    """Throughput over the steady state (simulator) or the whole run (live node): docs/kpi-model.md."""

    @field_validator("prove_from", mode="before")
    @classmethod
    def _older_closed(cls, value: object) -> object:
        return "trusted" if value == "closed" else value

    @model_validator(mode="after")
    def _complete(self) -> RunSetup:
        if self.batch_size is None and self.batch_timeout_s is None:
            raise ValueError("needs batch_size or batch_timeout_s (the batch policy)")
        if self.arrivals == "recorded" and not self.arrival_times_s:
            raise ValueError("arrival_times_s must be a non-empty list of seconds >= 0 for recorded arrivals")
        return self


class StageSamples(BaseModel):
    """Samples of each stage time, seconds (`stage_times`); the four of the analysis are required."""

    model_config = _RECORD

    close_a_batch_time: list[Seconds] = Field(min_length=1)
    prove_a_batch_time: list[Seconds] = Field(min_length=1)
    block_time: list[Seconds] = Field(min_length=1)
    aggregation_time: list[Seconds] = Field(min_length=1)
    segment_prove_time: list[Seconds] | None = None
    """Node runs: seconds a prover was held by each accepted segment job, in start order."""
    aggregate_pair_time: list[Seconds] | None = None
    """Node runs: the same for each join of two proofs."""
    witness_time: list[Seconds] | None = None
    """From a batch becoming provable to its segments being queued (re-applying it)."""


class RunRecord(BaseModel):
    """A recorded run (`zkpipe.run/1`): the simulator and the demo write it, the planner reads it.

    Readers ignore fields they do not know (a demo record carries more: see DemoRun).
    """

    model_config = ConfigDict(
        extra="ignore", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )

    schema_: Literal["zkpipe.run/1"] = Field(alias="schema")
    source: str = "measured"
    """"simulation", or "measured: <command>"."""
    config: RunSetup
    stage_times: StageSamples
    kpis: dict[str, Any]
    """The KPI report (`zkpipe.kpi.figures.KpiReport.to_dict`)."""


class DemoRun(RunRecord, RunCounts):
    """What `zkpipe demo --json` prints: a run record, its counts, and a summary for people."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )

    proving_failed: str | None
    """Why the proving component stopped, or None."""
    delay_s: dict[str, dict[str, float | None]]
    """p50/p95/p99 per state (trusted, virtual, consolidated); None without a sample."""
    throughput_tps: float | None
    throughput_batches_per_s: float | None
    stage_times_s: dict[str, float | None]
    """The mean of each stage time (the samples are in `stage_times`)."""
    l1_gas: dict[str, float | None]
    """Sequencing gas per transaction and verification gas per aggregate."""
    prover_cpu_seconds_per_tx: float | None
    batches: int = Field(ge=0)
    aggregates_verified: int = Field(ge=0)
    timeline_png: str | None
    """The batches' timeline PNG (None without matplotlib, the planner extra)."""
    proof_file: str | None
    batch_times_s: list[dict[str, int | float | None]]
    """Each batch through the stages (number, txs, then seconds from the first transaction)."""
    machine: dict[str, Any]
