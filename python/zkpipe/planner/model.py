"""The analytic KPI model: delay and throughput of each pipeline shape, L1 gas and segmentation.

All times are seconds, throughputs are batches per second unless a name says ``tx``.
The formulas are derived in ``docs/kpi-model.md``; ``delay`` is the lead time (the
first transaction of a batch, or of an aggregation group, through an empty pipeline)
and ``throughput`` the steady-state rate when batches close every
``close_a_batch_time``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass

from zkpipe.kpi.figures import KpiReport, Percentiles
from zkpipe.planner.errors import PlanInputError

__all__ = [
    "LineKpis",
    "PipelineKpis",
    "StageTimes",
    "compute_aggregated",
    "compute_aggregation_levels",
    "compute_copies_for_confidence",
    "compute_delay_percentiles",
    "compute_expected_copies",
    "compute_expected_rounds",
    "compute_line",
    "compute_model_report",
    "compute_naive_horizontal",
    "compute_nodes_for_one_round",
    "compute_order_then_prove",
    "compute_pipelined",
    "compute_proving_rounds",
    "compute_redundancy",
    "compute_rounds_quantile",
    "compute_segment_count",
    "compute_sequential",
    "compute_verification_gas_per_batch",
]


@dataclass(frozen=True)
class StageTimes:
    """The four stage times of the order-and-prove analysis, in seconds."""

    close_a_batch_time: float
    prove_a_batch_time: float
    block_time: float
    aggregation_time: float = 0.0

    def __post_init__(self) -> None:
        for name in ("close_a_batch_time", "prove_a_batch_time", "block_time"):
            _require_positive(getattr(self, name), name)
        if not (math.isfinite(self.aggregation_time) and self.aggregation_time >= 0):
            raise PlanInputError(f"aggregation_time must be >= 0, got {self.aggregation_time}")


@dataclass(frozen=True)
class PipelineKpis:
    """Delay (lead time, s) and throughput (batches/s) of one pipeline shape."""

    delay: float  # submission → consolidated, first transaction of a batch (group)
    throughput_batches: float  # consolidated batches/s at saturation
    bottleneck: str  # the stage time that sets the throughput
    saturated: bool  # batches close faster than the bottleneck drains them: real queues grow
    delay_virtual: float | None = None  # submission → virtual; order-then-prove only


@dataclass(frozen=True)
class LineKpis:
    """An assembly line's lead time and production rate (time unit of the stage durations)."""

    lead_time: float
    rate: float


def compute_line(stages: Sequence[float], *, pipelined: bool) -> LineKpis:
    """Lead time and rate of a line of stages; one unit on the line at a time unless ``pipelined``."""
    if not stages:
        raise PlanInputError("a line needs at least one stage")
    for i, s in enumerate(stages):
        _require_positive(s, f"stage {i}")
    lead = math.fsum(stages)
    # Pipelined, every stage works on its own unit and the slowest one paces the line.
    return LineKpis(lead_time=lead, rate=1.0 / (max(stages) if pipelined else lead))


def compute_sequential(t: StageTimes) -> PipelineKpis:
    """One batch at a time: close, prove and verify, then the next batch."""
    stages = {
        "close_a_batch_time": t.close_a_batch_time,
        "prove_a_batch_time": t.prove_a_batch_time,
        "block_time": t.block_time,
    }
    line = compute_line(list(stages.values()), pipelined=False)
    return PipelineKpis(
        delay=line.lead_time,
        throughput_batches=line.rate,
        bottleneck=max(stages, key=lambda k: stages[k]),
        saturated=True,  # by construction the next batch waits for the whole line
    )


def compute_pipelined(t: StageTimes) -> PipelineKpis:
    """Pipelined stages with one prover: stages overlap on consecutive batches."""
    return compute_naive_horizontal(t, provers=1)


def compute_naive_horizontal(t: StageTimes, provers: int) -> PipelineKpis:
    """``provers`` provers in parallel, each batch proof verified by its own L1 transaction."""
    # Naive scaling is aggregation of N = 1 with nothing to aggregate.
    no_aggregation = StageTimes(t.close_a_batch_time, t.prove_a_batch_time, t.block_time, 0.0)
    return compute_aggregated(no_aggregation, n=1, provers=provers)


def compute_aggregated(t: StageTimes, n: int, provers: int | None = None) -> PipelineKpis:
    """Horizontal scaling with the proofs of ``n`` batches aggregated into one L1 verification.

    ``provers`` defaults to ``n`` (one prover per batch of a group, the analysis' case), where
    throughput is n / max(prove_a_batch_time, n·close_a_batch_time, block_time, aggregation_time).
    """
    _require_count(n, "n")
    p = n if provers is None else provers
    _require_count(p, "provers")
    c = t.close_a_batch_time
    # Time per group of n batches that each stage needs; the slowest paces the pipeline.
    terms = {
        "close_a_batch_time": n * c,
        "prove_a_batch_time": n * t.prove_a_batch_time / p,
        "block_time": t.block_time,  # one verification transaction per L1 block
        "aggregation_time": t.aggregation_time,  # one aggregation at a time
    }
    bottleneck = max(terms, key=lambda k: terms[k])
    period = terms[bottleneck]
    proven = _first_group_proven(c, t.prove_a_batch_time, n, p)
    return PipelineKpis(
        delay=proven + t.aggregation_time + t.block_time,
        throughput_batches=n / period,
        bottleneck=bottleneck,
        saturated=period > terms["close_a_batch_time"] * (1 + 1e-12),
    )


def compute_order_then_prove(t: StageTimes, n: int, provers: int | None = None) -> PipelineKpis:
    """Order-then-prove: batches are sequenced on L1 at once (virtual), proven and aggregated later."""
    kpis = compute_aggregated(t, n, provers)
    # A closed batch rides the next sequence transaction; many batches fit in one, so block_time
    # adds latency but no throughput limit to the virtual state.
    return PipelineKpis(
        delay=kpis.delay,
        throughput_batches=kpis.throughput_batches,
        bottleneck=kpis.bottleneck,
        saturated=kpis.saturated,
        delay_virtual=t.close_a_batch_time + t.block_time,
    )


def compute_delay_percentiles(
    t: StageTimes, n: int, provers: int | None = None
) -> tuple[Percentiles, Percentiles]:
    """Per-transaction (virtual, consolidated) delay percentiles under steady, uniform arrivals.

    A transaction arriving at fraction u of its batch's window waits (1 − u)·close for the close,
    so delays are uniform between the lead time minus the filling window and the lead time.
    Infinite if the pipeline is saturated (its queues grow without bound).
    """
    kpis = compute_order_then_prove(t, n, provers)
    assert kpis.delay_virtual is not None
    if kpis.saturated:
        inf = Percentiles(math.inf, math.inf, math.inf)
        return _uniform_percentiles(kpis.delay_virtual, t.close_a_batch_time), inf
    return (
        _uniform_percentiles(kpis.delay_virtual, t.close_a_batch_time),
        _uniform_percentiles(kpis.delay, n * t.close_a_batch_time),
    )


def compute_model_report(
    t: StageTimes,
    *,
    n: int,
    provers: int | None,
    batch_size: int,
    execute_seconds_per_tx: float,
    l1_gas_per_tx: float,
    l1_gas_per_aggregated_proof: float,
    prover_cpu_seconds_per_tx: float,
) -> KpiReport:
    """The model's prediction as a KpiReport, comparable field by field with a run."""
    _require_count(batch_size, "batch_size")
    kpis = compute_order_then_prove(t, n, provers)
    virtual, consolidated = compute_delay_percentiles(t, n, provers)
    trusted = Percentiles(execute_seconds_per_tx, execute_seconds_per_tx, execute_seconds_per_tx)
    return KpiReport(
        source="model",
        transactions=0,
        batches=0,
        delay_trusted=trusted,
        delay_virtual=_shift(virtual, execute_seconds_per_tx),
        delay_consolidated=_shift(consolidated, execute_seconds_per_tx),
        throughput=kpis.throughput_batches * batch_size,
        throughput_batches=kpis.throughput_batches,
        close_a_batch_time=t.close_a_batch_time,
        prove_a_batch_time=t.prove_a_batch_time,
        block_time=t.block_time,
        aggregation_time=t.aggregation_time,
        l1_gas_per_tx=l1_gas_per_tx,
        l1_gas_per_aggregated_proof=l1_gas_per_aggregated_proof,
        prover_cpu_seconds_per_tx=prover_cpu_seconds_per_tx,
    )


def compute_aggregation_levels(proofs: int) -> int:
    """Levels of a binary aggregation tree over ``proofs`` proofs (its latency in pair steps)."""
    _require_count(proofs, "proofs")
    return math.ceil(math.log2(proofs)) if proofs > 1 else 0


# --- L1 cost -------------------------------------------------------------------------------------


def compute_verification_gas_per_batch(n: int, verify_proof_gas: float, *, aggregated: bool) -> float:
    """L1 verification gas per batch: one verification per proof (naive) or one per n batches."""
    _require_count(n, "n")
    if verify_proof_gas < 0:
        raise PlanInputError(f"verify_proof_gas must be >= 0, got {verify_proof_gas}")
    # Naive: n proofs cost n verifications; aggregated: one constant-size proof for all n.
    return verify_proof_gas / n if aggregated else verify_proof_gas


# --- Segmentation and redundancy -----------------------------------------------------------------


def compute_segment_count(cycles: float, segment_log2: int, overhead_fraction: float = 0.0) -> int:
    """Segments needed for ``cycles`` with segments of 2^segment_log2 cycles, each losing
    ``overhead_fraction`` of its cycles to per-segment bookkeeping."""
    if not (math.isfinite(cycles) and cycles > 0):
        raise PlanInputError(f"cycles must be > 0, got {cycles}")
    if not 0 <= segment_log2 <= 40:
        raise PlanInputError(f"segment_log2 must be in [0, 40], got {segment_log2}")
    if not 0 <= overhead_fraction < 1:
        raise PlanInputError(f"overhead_fraction must be in [0, 1), got {overhead_fraction}")
    usable = (1 << segment_log2) * (1.0 - overhead_fraction)
    return max(1, math.ceil(cycles / usable - 1e-9))


def compute_redundancy(honest_fraction: float) -> int:
    """Copies of each job so that, on average, one lands on an honest prover (1:4 → 5)."""
    if not (math.isfinite(honest_fraction) and 0 < honest_fraction <= 1):
        raise PlanInputError(f"honest_fraction must be in (0, 1], got {honest_fraction}")
    return math.ceil(1.0 / honest_fraction - 1e-9)


def compute_nodes_for_one_round(segments: int, honest_fraction: float) -> int:
    """Prover nodes that prove every segment in one round, with redundancy."""
    _require_count(segments, "segments")
    return segments * compute_redundancy(honest_fraction)


def compute_proving_rounds(segments: int, nodes: int, honest_fraction: float = 1.0) -> int:
    """Rounds of proving needed for ``segments`` segments on ``nodes`` nodes, with redundancy."""
    _require_count(segments, "segments")
    _require_count(nodes, "nodes")
    return math.ceil(segments * compute_redundancy(honest_fraction) / nodes)


def compute_expected_copies(honest_fraction: float, redundancy: int) -> float:
    """Copies a segment costs on average when ``redundancy`` copies go out per round to random
    provers and a round with no honest copy is re-issued."""
    _require_count(redundancy, "redundancy")
    miss = (1.0 - honest_fraction) ** redundancy  # a round with no honest copy
    compute_redundancy(honest_fraction)  # validates
    return redundancy / (1.0 - miss)


def compute_expected_rounds(honest_fraction: float, redundancy: int, segments: int) -> float:
    """Expected rounds until every one of ``segments`` segments has an honest copy
    (the expected maximum of ``segments`` geometric variables)."""
    _require_count(redundancy, "redundancy")
    _require_count(segments, "segments")
    compute_redundancy(honest_fraction)  # validates
    miss = (1.0 - honest_fraction) ** redundancy
    # E[max] = Σ_{k≥0} P(max > k) = Σ_{k≥0} 1 − (1 − miss^k)^segments.
    total, k = 0.0, 0
    while True:
        term = 1.0 - (1.0 - miss**k) ** segments
        total += term
        k += 1
        if term < 1e-9 or k > 10_000:
            return total


def compute_rounds_quantile(honest_fraction: float, redundancy: int, segments: int, q: float) -> int:
    """The q-quantile of the rounds until every one of ``segments`` segments has an honest copy."""
    _require_count(redundancy, "redundancy")
    _require_count(segments, "segments")
    compute_redundancy(honest_fraction)  # validates
    if not 0 < q < 1:
        raise PlanInputError(f"q must be in (0, 1), got {q}")
    miss = (1.0 - honest_fraction) ** redundancy
    if miss == 0:
        return 1
    # P(max <= k) = (1 - miss^k)^segments >= q  <=>  k >= log(1 - q^(1/segments)) / log(miss).
    return max(1, math.ceil(math.log1p(-(q ** (1.0 / segments))) / math.log(miss) - 1e-9))


def compute_copies_for_confidence(honest_fraction: float, segments: int, confidence: float) -> int:
    """Copies per segment so that, with random assignment, every segment gets an honest copy
    with probability ``confidence`` (the average-case redundancy is far below this)."""
    compute_redundancy(honest_fraction)  # validates
    _require_count(segments, "segments")
    if not 0 < confidence < 1:
        raise PlanInputError(f"confidence must be in (0, 1), got {confidence}")
    if honest_fraction == 1:
        return 1
    # P(segment has an honest copy) = 1 − (1 − h)^k; all segments independent.
    per_segment = confidence ** (1.0 / segments)
    return math.ceil(math.log1p(-per_segment) / math.log1p(-honest_fraction) - 1e-9)


# --- helpers -------------------------------------------------------------------------------------


def _first_group_proven(close: float, prove: float, n: int, provers: int) -> float:
    """When the last of the first n batches is proven: batch k closes at k·close and takes
    the earliest free prover."""
    free = [0.0] * min(provers, n)
    done = 0.0
    for k in range(1, n + 1):
        start = max(k * close, heapq.heappop(free))
        heapq.heappush(free, start + prove)
        done = max(done, start + prove)
    return done


def _uniform_percentiles(high: float, width: float) -> Percentiles:
    low = high - width
    return Percentiles(low + 0.50 * width, low + 0.95 * width, low + 0.99 * width)


def _shift(p: Percentiles, by: float) -> Percentiles:
    return Percentiles(p.p50 + by, p.p95 + by, p.p99 + by)


def _require_positive(value: float, name: str) -> None:
    if not (math.isfinite(value) and value > 0):
        raise PlanInputError(f"{name} must be a positive number of seconds, got {value}")


def _require_count(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PlanInputError(f"{name} must be an integer >= 1, got {value!r}")
