"""Measured cost tables (per-segment prove time and memory, gas) and the default assumption.

The JSON schema (``zkpipe.measurements/1``) is documented in ``docs/kpi-model.md``. Until the
proving issue writes real figures to ``docs/benchmarks.md``, the planner uses
``default_assumption()``: numbers derived from the segmented-proving analysis (seed 002),
**not** measured on zkpipe.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from zkpipe.planner.errors import PlanInputError

__all__ = [
    "MEASUREMENTS_SCHEMA",
    "GasTable",
    "Measurements",
    "SegmentCost",
    "default_assumption",
    "load_measurements",
]

MEASUREMENTS_SCHEMA = "zkpipe.measurements/1"


@dataclass(frozen=True)
class SegmentCost:
    """Cost of proving one segment of 2^log2_cycles cycles on one reference prover node."""

    log2_cycles: int
    prove_seconds: float
    memory_bytes: int


@dataclass(frozen=True)
class GasTable:
    """L1 gas figures."""

    sequence_tx: float  # fixed gas of one sequence transaction (base cost, bookkeeping)
    sequence_per_batch: float  # per batch in a sequence transaction (accumulated-hash update)
    calldata_per_byte: float  # per byte of batch data posted for availability
    verify_proof: float  # one L1 transaction verifying one proof (plain or aggregated)


@dataclass(frozen=True)
class Measurements:
    """Everything the planner takes from measurements (or the labelled default assumption)."""

    source: str  # where the numbers come from: a command and a machine, or "assumption: …"
    is_assumption: bool
    segments: tuple[SegmentCost, ...]  # sorted by log2_cycles
    cycles_per_tx: float  # circuit cycles (rows) one transaction adds to a batch
    batch_overhead_cycles: float  # cycles per batch besides its transactions (header, commitments)
    segment_overhead_fraction: float  # share of each segment lost to per-segment bookkeeping
    aggregate_pair_seconds: float  # one recursive aggregation of two proofs
    execute_seconds_per_tx: float  # sequencer execution time per transaction (trusted delay)
    tx_bytes: int  # bytes of one transaction in the batch data
    gas: GasTable

    def segment_cost(self, log2_cycles: int) -> SegmentCost:
        """The table row for segments of 2^log2_cycles cycles."""
        for row in self.segments:
            if row.log2_cycles == log2_cycles:
                return row
        sizes = ", ".join(str(r.log2_cycles) for r in self.segments)
        raise PlanInputError(f"no measurement for segments of 2^{log2_cycles} cycles (have 2^{{{sizes}}})")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (schema ``zkpipe.measurements/1``)."""
        data = asdict(self)
        data["schema"] = MEASUREMENTS_SCHEMA
        data["segments"] = [asdict(s) for s in self.segments]
        return data

    @classmethod
    def from_dict(cls, data: object) -> Measurements:
        """Reads the JSON form; raises PlanInputError naming the first bad field."""
        if not isinstance(data, Mapping):
            raise PlanInputError("measurements must be a JSON object")
        if data.get("schema") != MEASUREMENTS_SCHEMA:
            raise PlanInputError(
                f"measurements.schema must be {MEASUREMENTS_SCHEMA!r}, got {data.get('schema')!r}"
            )
        rows = data.get("segments")
        if not isinstance(rows, list) or not rows:
            raise PlanInputError("measurements.segments must be a non-empty list")
        segments = []
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise PlanInputError(f"measurements.segments[{i}] must be an object")
            log2 = _num(row, "log2_cycles", f"segments[{i}]", minimum=0)
            if log2 != int(log2) or log2 > 40:
                raise PlanInputError(f"measurements.segments[{i}].log2_cycles must be an integer in [0, 40]")
            segments.append(
                SegmentCost(
                    log2_cycles=int(log2),
                    prove_seconds=_num(row, "prove_seconds", f"segments[{i}]", positive=True),
                    memory_bytes=int(_num(row, "memory_bytes", f"segments[{i}]", positive=True)),
                )
            )
        if len({s.log2_cycles for s in segments}) != len(segments):
            raise PlanInputError("measurements.segments has two rows for the same log2_cycles")
        gas = data.get("gas")
        if not isinstance(gas, Mapping):
            raise PlanInputError("measurements.gas must be an object")
        overhead = _num(data, "segment_overhead_fraction", "", minimum=0)
        if overhead >= 1:
            raise PlanInputError("measurements.segment_overhead_fraction must be < 1")
        source = data.get("source")
        if not isinstance(source, str) or not source:
            raise PlanInputError("measurements.source must say where the numbers come from")
        return cls(
            source=source,
            is_assumption=bool(data.get("is_assumption", False)),
            segments=tuple(sorted(segments, key=lambda s: s.log2_cycles)),
            cycles_per_tx=_num(data, "cycles_per_tx", "", positive=True),
            batch_overhead_cycles=_num(data, "batch_overhead_cycles", "", minimum=0),
            segment_overhead_fraction=overhead,
            aggregate_pair_seconds=_num(data, "aggregate_pair_seconds", "", minimum=0),
            execute_seconds_per_tx=_num(data, "execute_seconds_per_tx", "", minimum=0),
            tx_bytes=int(_num(data, "tx_bytes", "", positive=True)),
            gas=GasTable(**{k: _num(gas, k, "gas", minimum=0) for k in GasTable.__dataclass_fields__}),
        )


DEFAULT_MEASUREMENTS = "measurements.json"
"""The measured table shipped with the package (`zkpipe bench proving --measurements-out` writes it)."""


def load_default_measurements() -> Measurements:
    """The measured table shipped as package data (zkpipe/planner/measurements.json)."""
    text = resources.files("zkpipe.planner").joinpath(DEFAULT_MEASUREMENTS).read_text()
    return Measurements.from_dict(json.loads(text))


def load_measurements(path: str | Path) -> Measurements:
    """Reads a measurements JSON file."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as e:
        raise PlanInputError(f"cannot read measurements file {path}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise PlanInputError(f"measurements file {path} is not JSON: {e}") from e
    return Measurements.from_dict(data)


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
    )


def _num(
    data: Mapping[str, Any], key: str, where: str, *, positive: bool = False, minimum: float | None = None
) -> float:
    name = f"measurements.{where + '.' if where else ''}{key}"
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PlanInputError(f"{name} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise PlanInputError(f"{name} must be > 0, got {value}")
    if minimum is not None and value < minimum:
        raise PlanInputError(f"{name} must be >= {minimum}, got {value}")
    return float(value)
