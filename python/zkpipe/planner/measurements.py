"""Measured cost tables (per-segment prove time and memory, gas) and the default assumption.

The JSON schema (``zkpipe.measurements/1``) is documented in ``docs/kpi-model.md``. Until the
proving issue writes real figures to ``docs/benchmarks.md``, the planner uses
``default_assumption()``: numbers derived from the segmented-proving analysis (seed 002),
**not** measured on zkpipe.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from zkpipe.planner.errors import PlanInputError
from zkpipe.validation import describe_validation_error

__all__ = [
    "MEASUREMENTS_SCHEMA",
    "Contention",
    "GasTable",
    "Measurements",
    "SegmentCost",
    "default_assumption",
    "load_measurements",
]

MEASUREMENTS_SCHEMA: Final = "zkpipe.measurements/1"


_TABLE = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, use_attribute_docstrings=True)


class SegmentCost(BaseModel):
    """Cost of proving one segment of 2^log2_cycles cycles on one reference prover node."""

    model_config = _TABLE

    log2_cycles: int = Field(ge=0, le=40)
    prove_seconds: float = Field(gt=0)
    """Seconds to prove one such segment."""
    memory_bytes: int = Field(gt=0)
    """Peak memory of one such proof."""


class GasTable(BaseModel):
    """L1 gas figures."""

    model_config = _TABLE

    sequence_tx: float = Field(ge=0)
    """Fixed gas of one sequence transaction (base cost, bookkeeping)."""
    sequence_per_batch: float = Field(ge=0)
    """Per batch in a sequence transaction (accumulated-hash update)."""
    calldata_per_byte: float = Field(ge=0)
    """Per byte of batch data posted for availability."""
    verify_proof: float = Field(ge=0)
    """One L1 transaction verifying one proof (plain or aggregated)."""


class Contention(BaseModel):
    """How much slower one prover job runs when it shares a host's cores (`zkpipe bench proving`)."""

    model_config = _TABLE

    cores: int = Field(gt=0)
    """Cores of the measuring host."""
    prover_slowdown: tuple[float, ...] = Field(min_length=1)
    """Entry i: a job's time with i + 1 provers proving at once, over its time alone (the first is 1;
    a figure below 1 is measurement noise and is read as 1)."""
    sequencer_slowdown: float = Field(default=1.0, ge=1)
    """A lone prover's job time while a sequencer executes flat out beside it, over its time alone."""
    sequencer_seconds_per_tx: float = Field(default=0.0, ge=0)
    """CPU seconds that sequencer spent per transaction (its busy share is rate × this)."""
    node_seconds_per_segment: float = Field(default=0.0, ge=0)
    """CPU seconds the node spends per segment job besides proving it: re-applying the batch and
    building the witness, encoding the job, verifying the returned proof (0: older tables)."""
    node_seconds_per_aggregate: float = Field(default=0.0, ge=0)
    """CPU seconds the node spends per aggregation job: encoding it, verifying the returned proof."""

    @field_validator("prover_slowdown", mode="after")
    @classmethod
    def _at_least_one(cls, values: tuple[float, ...]) -> tuple[float, ...]:
        if any(v <= 0 for v in values):
            raise ValueError("slowdowns must be > 0")
        return values

    def compute_slowdown(self, busy_provers: int, node_load: float) -> float:
        """A job's slowdown with ``busy_provers`` proving (itself included) while the node keeps
        ``node_load`` cores busy on average (sequencer, witnesses, verification).

        Three measured parts multiply: the provers' own table (figures below 1 read as 1; past
        the measured range provers share the cores evenly); processor sharing of the host's
        cores between the busy provers and the node's load, beyond the share the table already
        holds; and the measured slowdown beside a busy sequencer, in proportion to the load."""
        table = self.prover_slowdown
        busy = max(1, busy_provers)
        if busy <= len(table):
            provers = max(1.0, table[busy - 1])
        else:
            provers = max(1.0, table[-1]) * max(1.0, busy / max(len(table), self.cores))
        load = max(0.0, node_load)
        sharing = max(1.0, (busy + load) / self.cores) / max(1.0, busy / self.cores)
        beside = 1.0 + (self.sequencer_slowdown - 1.0) * min(1.0, load)
        return provers * sharing * beside

    def node_cpu_seconds(self, txs: int, segments: int, aggregates: int) -> float:
        """CPU seconds the node spends on a run of that many transactions, segment and join jobs."""
        return (
            txs * self.sequencer_seconds_per_tx
            + segments * self.node_seconds_per_segment
            + aggregates * self.node_seconds_per_aggregate
        )


class Measurements(BaseModel):
    """Everything the planner takes from measurements (or the labelled default assumption)."""

    model_config = _TABLE | ConfigDict(populate_by_name=True)

    schema_: Literal["zkpipe.measurements/1"] = Field(default=MEASUREMENTS_SCHEMA, alias="schema")
    source: str = Field(min_length=1)
    """Where the numbers come from: a command and a machine, or "assumption: …"."""
    is_assumption: bool = False
    segments: tuple[SegmentCost, ...] = Field(min_length=1)
    """One row per segment size, sorted by log2_cycles (rows are sorted on reading)."""
    cycles_per_tx: float = Field(gt=0)
    """Circuit cycles (rows) one transaction adds to a batch."""
    batch_overhead_cycles: float = Field(ge=0)
    """Cycles per batch besides its transactions (header, commitments)."""
    segment_overhead_fraction: float = Field(ge=0, lt=1)
    """Share of each segment lost to per-segment bookkeeping."""
    aggregate_pair_seconds: float = Field(ge=0)
    """One recursive aggregation of two proofs."""
    execute_seconds_per_tx: float = Field(ge=0)
    """Sequencer execution time per transaction (trusted delay)."""
    tx_bytes: int = Field(gt=0)
    """Bytes of one transaction in the batch data."""
    gas: GasTable
    witness_bytes_per_tx: float = Field(default=0.0, ge=0)
    """Bytes a segment job's witness carries per transaction (what a prover network moves in)."""
    proof_bytes: float = Field(default=0.0, ge=0)
    """Bytes of one proof as it travels (0: bandwidth not measured; older tables lack both)."""
    contention: Contention | None = None
    """Provers sharing a host's cores with each other and the sequencer (None: not measured, no slowdown)."""

    @field_validator("segments", mode="after")
    @classmethod
    def _one_row_per_size(cls, rows: tuple[SegmentCost, ...]) -> tuple[SegmentCost, ...]:
        if len({r.log2_cycles for r in rows}) != len(rows):
            raise ValueError("has two rows for the same log2_cycles")
        return tuple(sorted(rows, key=lambda r: r.log2_cycles))

    def segment_cost(self, log2_cycles: int) -> SegmentCost:
        """The table row for segments of 2^log2_cycles cycles."""
        for row in self.segments:
            if row.log2_cycles == log2_cycles:
                return row
        sizes = ", ".join(str(r.log2_cycles) for r in self.segments)
        raise PlanInputError(f"no measurement for segments of 2^{log2_cycles} cycles (have 2^{{{sizes}}})")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (schema ``zkpipe.measurements/1``)."""
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_dict(cls, data: object) -> Measurements:
        """Reads the JSON form; raises PlanInputError naming each bad field."""
        if not isinstance(data, Mapping):
            raise PlanInputError("measurements must be a JSON object")
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise PlanInputError(describe_validation_error(err, "measurements")) from None


DEFAULT_MEASUREMENTS = "measurements.json"
"""The measured table shipped with the package (`zkpipe bench proving --measurements-out` writes it)."""


def load_default_measurements() -> Measurements:
    """The measured table shipped as package data (zkpipe/planner/measurements.json)."""
    text = resources.files("zkpipe.planner").joinpath(DEFAULT_MEASUREMENTS).read_text()
    return Measurements.from_dict(json.loads(text))


def read_json_file(path: str | Path, what: str) -> Any:
    """A JSON file's content; PlanInputError naming ``what`` the file is if it cannot be read."""
    try:
        return json.loads(Path(path).read_text())
    except OSError as e:
        raise PlanInputError(f"cannot read {what} file {path}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise PlanInputError(f"{what} file {path} is not JSON: {e}") from e


def load_measurements(path: str | Path) -> Measurements:
    """Reads a measurements JSON file."""
    return Measurements.from_dict(read_json_file(path, "measurements"))


# The seed's weak node (2-core i7-5500U, 16 GB) proves a 2^19-cycle segment in about 4 min 9 s and
# needs about 4 GB for it (2 GB at 2^18): ~8 KiB per cycle. Other sizes are extrapolated: a fixed
# per-segment cost (setup, commitments, recursion wrapper) plus a part ∝ cycles·log2(cycles) as
# for FFT-based provers. None of this is a zkpipe measurement.
_SEED_SECONDS_2_19 = 249.0
_FIXED_SECONDS_PER_SEGMENT = 10.0
_SEED_BYTES_PER_CYCLE = 8192


def default_assumption() -> Measurements:
    """The labelled default assumption, to be replaced by ``--measurements`` from real runs."""
    segments = tuple(
        SegmentCost(
            log2_cycles=k,
            prove_seconds=round(
                _FIXED_SECONDS_PER_SEGMENT
                + (_SEED_SECONDS_2_19 - _FIXED_SECONDS_PER_SEGMENT) * 2.0 ** (k - 19) * k / 19,
                3,
            ),
            memory_bytes=_SEED_BYTES_PER_CYCLE << k,
        )
        for k in range(13, 25)
    )
    return Measurements(
        source=(
            "assumption: extrapolated from the segmented-proving analysis (seed 002: 2^19 cycles ≈ 249 s, "
            "≈ 4 GB on a 2-core i7-5500U; 10 s fixed per segment assumed); cycles per transaction, "
            "aggregation time and gas are guesses. "
            "Replace with measurements (zkpipe bench …) before trusting a plan."
        ),
        is_assumption=True,
        segments=segments,
        cycles_per_tx=2.0**15,  # a signature check and two Merkle paths of depth 32
        batch_overhead_cycles=2.0**16,  # header, data commitment, deposit and withdrawal chains
        segment_overhead_fraction=0.0,
        aggregate_pair_seconds=6.0,  # the analysis' aggregation_time ≈ 12 s is two levels of this
        execute_seconds_per_tx=0.0002,
        tx_bytes=120,
        gas=GasTable(
            sequence_tx=45_000.0, sequence_per_batch=22_100.0, calldata_per_byte=16.0, verify_proof=350_000.0
        ),
        witness_bytes_per_tx=3_350.0,  # zkpipe's k = 8 witnesses (depth-32 paths), docs/pipeline.md
        proof_bytes=135_755.0,  # zkpipe's constant-size proof as the scheduler sends it
    )
