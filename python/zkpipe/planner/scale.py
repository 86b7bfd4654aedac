"""At scale: what 10, 100 and 1,000 provers on hosts of their own do, simulated from the cost table.

Each scenario loads its provers to a fixed share of their capacity (priced from the table), with
steady (Poisson) and bursty traffic, and sets the simulation beside the analytic model: the
model has no queues, so under bursts the two part ways in the tail (p95).
"""

from __future__ import annotations

import math
from typing import Any

from zkpipe.planner.measurements import Measurements
from zkpipe.planner.model import compute_expected_copies
from zkpipe.planner.predict import Deployment, Workload, predict

__all__ = ["SCALE_PROVERS", "compute_at_scale"]

SCALE_PROVERS = (10, 100, 1000)
_SEGMENT = 128  # the table's largest zkpipe segment
_BATCH = 1024  # 8 segments per batch
_N = 8  # at least
_BLOCK = 12.0


def compute_at_scale(
    m: Measurements,
    *,
    utilisation: float = 0.7,
    duration_s: float = 600.0,
    honest_fraction: float = 1.0,
    provers_list: tuple[int, ...] = SCALE_PROVERS,
) -> list[dict[str, Any]]:
    """One row per prover count and traffic: offered load, predicted KPIs (simulation and model)."""
    redundancy = math.ceil(1 / honest_fraction - 1e-9)
    seg_s = m.segment_cost(_SEGMENT.bit_length() - 1).prove_seconds
    copies = compute_expected_copies(honest_fraction, redundancy)
    # Prover seconds per transaction: its share of a segment (every copy) and of the fold's joins.
    work_per_tx = (copies * seg_s + m.aggregate_pair_seconds) / _SEGMENT
    rows = []
    for provers in provers_list:
        rate = utilisation * provers / work_per_tx
        # N large enough that one verification per block carries 1.5× the offered load.
        n = max(_N, 2 ** math.ceil(math.log2(1.5 * rate * _BLOCK / _BATCH)))
        deployment = Deployment(
            provers=provers,
            segment_size=_SEGMENT,
            aggregation_n=n,
            aggregation_timeout_s=60.0,
            batch_size=_BATCH,
            batch_timeout_s=10.0,
            batch_check_s=0.1,
            block_time=_BLOCK,
            co_located=False,
            honest_fraction=honest_fraction,
            redundancy=redundancy,
        )
        for kind in ("poisson", "bursty"):
            workload = Workload(arrivals=kind, tx_rate=rate, duration_s=duration_s, mean_burst_s=60.0)
            p = predict(deployment, workload, m, throughput_window="steady", phases=1)
            rows.append(
                {
                    "provers": provers,
                    "redundancy": redundancy,
                    "arrivals": kind,
                    "aggregation_n": n,
                    "offered_tps": round(rate, 1),
                    "simulated": _kpis(p.kpis),
                    "model": _kpis(p.model),
                }
            )
    return rows


def _kpis(report: Any) -> dict[str, float | None]:
    def r(x: float) -> float | None:
        return round(x, 2) if math.isfinite(x) else None

    return {
        "throughput": r(report.throughput),
        "delay_consolidated_p50": r(report.delay_consolidated.p50),
        "delay_consolidated_p95": r(report.delay_consolidated.p95),
    }
