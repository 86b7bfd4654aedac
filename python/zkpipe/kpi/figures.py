"""The KPI report: one record with the KPI names used everywhere (model, simulator, live node)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

import numpy as np

from zkpipe.errors import PlanInputError

__all__ = ["STAGE_TIME_NAMES", "KpiReport", "Percentiles", "compute_percentiles"]

# The four stage times of the order-and-prove analysis, in seconds.
STAGE_TIME_NAMES = ("close_a_batch_time", "prove_a_batch_time", "block_time", "aggregation_time")


@dataclass(frozen=True)
class Percentiles:
    """p50/p95/p99 of a delay, in seconds."""

    p50: float
    p95: float
    p99: float

    @classmethod
    def from_dict(cls, data: object, name: str) -> Percentiles:
        """Reads ``{"p50": s, "p95": s, "p99": s}``."""
        if not isinstance(data, Mapping):
            raise PlanInputError(f"{name} must be an object with p50, p95, p99")
        return cls(**{q: _number(data, q, f"{name}.{q}") for q in ("p50", "p95", "p99")})


def compute_percentiles(samples: Sequence[float] | np.typing.NDArray[np.float64]) -> Percentiles:
    """p50/p95/p99 of samples (linear interpolation); NaN for no samples."""
    arr = np.asarray(samples, dtype=np.float64)
    if arr.size == 0:
        return Percentiles(math.nan, math.nan, math.nan)
    p50, p95, p99 = np.percentile(arr, [50.0, 95.0, 99.0])
    return Percentiles(float(p50), float(p95), float(p99))


@dataclass(frozen=True)
class KpiReport:
    """The KPIs of one pipeline run (measured, simulated or modelled). Times in seconds."""

    source: str  # "measured", "simulation" or "model"
    transactions: int  # consolidated transactions covered by the report
    batches: int  # consolidated batches
    delay_trusted: Percentiles
    delay_virtual: Percentiles
    delay_consolidated: Percentiles
    throughput: float  # consolidated tx/s
    throughput_batches: float  # consolidated batches/s
    close_a_batch_time: float
    prove_a_batch_time: float
    block_time: float
    aggregation_time: float
    l1_gas_per_tx: float  # sequencing gas (data + sequence transaction) per transaction
    l1_gas_per_aggregated_proof: float  # verification gas per L1 proof verification
    prover_cpu_seconds_per_tx: float
    network_bytes_per_tx: float = math.nan
    """Bytes moved between the scheduler and its provers (witnesses in, proofs out) per
    consolidated transaction (NaN where not measured or modelled; older records lack it)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the KPI names as keys."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> KpiReport:
        """Reads a dict written by ``to_dict`` (or by the live node); raises PlanInputError if malformed."""
        if not isinstance(data, Mapping):
            raise PlanInputError("kpis must be a JSON object")
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data and f.default is not MISSING:
                continue  # a KPI added later: older records lack it
            if f.name not in data:
                raise PlanInputError(f"kpis.{f.name} is missing")
            if f.name.startswith("delay_"):
                values[f.name] = Percentiles.from_dict(data[f.name], f"kpis.{f.name}")
            elif f.name == "source":
                values[f.name] = str(data[f.name])
            elif f.name in ("transactions", "batches"):
                values[f.name] = int(_number(data, f.name, f"kpis.{f.name}"))
            else:
                values[f.name] = _number(data, f.name, f"kpis.{f.name}")
        return cls(**values)


def _number(data: Mapping[str, Any], key: str, name: str) -> float:
    value = data.get(key)
    # bool is an int subclass; a JSON true is never a valid number here.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PlanInputError(f"{name} must be a number, got {value!r}")
    return float(value)
