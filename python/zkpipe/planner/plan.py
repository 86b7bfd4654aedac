"""The capacity planner: the cheapest deployment that meets a throughput and delay target."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass
from typing import Any

from zkpipe.kpi.figures import KpiReport, Percentiles
from zkpipe.planner.errors import Infeasible, PlanInputError
from zkpipe.planner.measurements import Measurements
from zkpipe.planner.model import (
    StageTimes,
    compute_aggregation_levels,
    compute_copies_for_confidence,
    compute_expected_copies,
    compute_expected_rounds,
    compute_model_report,
    compute_nodes_for_one_round,
    compute_proving_rounds,
    compute_redundancy,
    compute_rounds_quantile,
    compute_segment_count,
    compute_verification_gas_per_batch,
)
from zkpipe.planner.sim import PoissonArrivals, ProverPool, ProvingSetup, SimConfig
from zkpipe.sequencer.policy import AnyOf, BatchPolicy, MaxTxsPolicy, TimeoutPolicy

__all__ = [
    "AGGREGATION_SIZES",
    "BATCH_SIZES",
    "Plan",
    "PlanRequest",
    "ProgramPlan",
    "make_plan",
    "make_sim_config",
    "plan_program",
]

BATCH_SIZES = tuple(2**i for i in range(17))  # transactions per batch the planner tries
AGGREGATION_SIZES = tuple(2**i for i in range(11))  # N the planner tries


@dataclass(frozen=True)
class PlanRequest:
    """What the deployment must achieve, and on what."""

    target_tps: float  # consolidated transactions per second to sustain
    max_delay_s: float  # bound on the p99 consolidated delay (submission → verified on L1)
    node_memory_bytes: int  # memory of one prover node
    honest_fraction: float = 1.0  # share of prover nodes that return valid proofs
    block_time: float = 12.0  # L1 block time, seconds
    max_provers: int = 100_000
    # Random arrivals need slack: a stage busy 100 % of the time has an unbounded queue.
    max_utilisation: float = 0.8

    def __post_init__(self) -> None:
        checks = [
            (
                math.isfinite(self.target_tps) and self.target_tps > 0,
                f"target_tps must be > 0, got {self.target_tps}",
            ),
            (self.max_delay_s > 0, f"max_delay_s must be > 0, got {self.max_delay_s}"),
            (self.node_memory_bytes > 0, f"node_memory_bytes must be > 0, got {self.node_memory_bytes}"),
            (0 < self.honest_fraction <= 1, f"honest_fraction must be in (0, 1], got {self.honest_fraction}"),
            (
                math.isfinite(self.block_time) and self.block_time > 0,
                f"block_time must be > 0, got {self.block_time}",
            ),
            (self.max_provers >= 1, f"max_provers must be >= 1, got {self.max_provers}"),
            (0 < self.max_utilisation <= 1, f"max_utilisation must be in (0, 1], got {self.max_utilisation}"),
        ]
        for ok, message in checks:
            if not ok:
                raise PlanInputError(message)


@dataclass(frozen=True)
class Plan:
    """A recommended deployment and what the model expects of it."""

    segment_log2: int  # segments of 2^segment_log2 cycles
    segment_memory_bytes: int
    segments_per_batch: int
    batch_size: int  # transactions per batch (the policy's max_txs)
    batch_timeout_s: float  # the policy also closes a batch this long after its first transaction
    aggregation_n: int
    provers: int  # prover nodes, redundancy included
    redundancy: int  # copies of each segment job
    stage_times: StageTimes
    kpis: KpiReport  # the model's expectation at the target rate
    l1_verification_gas_per_tx: float
    l1_gas_per_tx_total: float  # sequencing + verification
    bottleneck: str  # the stage closest to saturation (first to limit throughput as load grows)
    utilisation: dict[str, float]  # per stage: its time per group / the time the group takes to close
    measurements_source: str
    measurements_are_assumption: bool

    def policy(self) -> BatchPolicy:
        """The recommended batch policy, as the node and the simulator use it."""
        return AnyOf((MaxTxsPolicy(self.batch_size), TimeoutPolicy(self.batch_timeout_s)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["policy"] = {"kind": "any_of", "max_txs": self.batch_size, "timeout_s": self.batch_timeout_s}
        return data


@dataclass(frozen=True)
class _Candidate:
    key: tuple[float, float, float]
    plan: Plan


def make_plan(request: PlanRequest, m: Measurements) -> Plan:
    """The plan with the fewest provers, then the least L1 gas per tx, then the least delay;
    raises Infeasible, saying why, when nothing in the search space meets the request."""
    fitting = [s for s in m.segments if s.memory_bytes <= request.node_memory_bytes]
    if not fitting:
        smallest = m.segments[0]
        raise Infeasible(
            f"no segment size fits in {request.node_memory_bytes} bytes of node memory: the smallest "
            f"(2^{smallest.log2_cycles} cycles) needs {smallest.memory_bytes} bytes"
        )
    best: _Candidate | None = None
    best_delay = math.inf  # the lowest p99 delay seen, for the infeasibility message
    too_many_provers = math.inf
    for seg in fitting:
        for batch_size in _batch_sizes(m, seg.log2_cycles):
            for n in AGGREGATION_SIZES:
                plan = _evaluate(request, m, seg.log2_cycles, batch_size, n)
                if plan is None:
                    continue
                delay = plan.kpis.delay_consolidated.p99
                best_delay = min(best_delay, delay)
                if delay > request.max_delay_s:
                    continue
                if plan.provers > request.max_provers:
                    too_many_provers = min(too_many_provers, plan.provers)
                    continue
                key = (float(plan.provers), plan.l1_gas_per_tx_total, delay)
                if best is None or key < best.key:
                    best = _Candidate(key, plan)
    if best is not None:
        return best.plan
    if best_delay > request.max_delay_s:
        target = f"{request.max_delay_s:g} s at {request.target_tps:g} tx/s"
        raise Infeasible(
            f"no plan meets a p99 consolidated delay of {target}: the best achievable is "
            f"{best_delay:.1f} s (batch filling + proving + aggregation + one L1 block)"
        )
    raise Infeasible(
        f"meeting the targets needs at least {too_many_provers:.0f} provers, "
        f"above the limit of {request.max_provers}"
    )


def _batch_sizes(m: Measurements, segment_log2: int) -> list[int]:
    """Powers of two, plus the largest batches that fill 2^j segments exactly (no padded segment)."""
    usable = (1 << segment_log2) * (1 - m.segment_overhead_fraction)
    exact = (math.floor((usable * 2**j - m.batch_overhead_cycles) / m.cycles_per_tx) for j in range(13))
    return sorted(set(BATCH_SIZES) | {b for b in exact if 1 <= b <= BATCH_SIZES[-1]})


def make_sim_config(
    plan: Plan, request: PlanRequest, m: Measurements, *, duration_s: float, seed: int = 0
) -> SimConfig:
    """A simulation of ``plan`` under Poisson traffic at the target rate."""
    return SimConfig(
        arrivals=PoissonArrivals(request.target_tps),
        duration_s=duration_s,
        block_time=request.block_time,
        aggregation_n=plan.aggregation_n,
        proving=ProvingSetup(
            segment_log2=plan.segment_log2,
            segment_prove_seconds=m.segment_cost(plan.segment_log2).prove_seconds,
            aggregate_pair_seconds=m.aggregate_pair_seconds,
            cycles_per_tx=m.cycles_per_tx,
            batch_overhead_cycles=m.batch_overhead_cycles,
            segment_overhead_fraction=m.segment_overhead_fraction,
        ),
        pool=ProverPool(
            provers=plan.provers, honest_fraction=request.honest_fraction, redundancy=plan.redundancy
        ),
        gas=m.gas,
        tx_bytes=m.tx_bytes,
        execute_seconds_per_tx=m.execute_seconds_per_tx,
        seed=seed,
    )


def _evaluate(
    request: PlanRequest, m: Measurements, segment_log2: int, batch_size: int, n: int
) -> Plan | None:
    """The model's view of one candidate; None if it cannot sustain the target rate."""
    seg = m.segment_cost(segment_log2)
    pair = m.aggregate_pair_seconds
    close = batch_size / request.target_tps
    cycles = batch_size * m.cycles_per_tx + m.batch_overhead_cycles
    segments = compute_segment_count(cycles, segment_log2, m.segment_overhead_fraction)
    redundancy = compute_redundancy(request.honest_fraction)
    folds = compute_aggregation_levels(segments) * pair
    # With dishonest provers a segment may need more rounds; a batch waits for its slowest segment
    # and an aggregation group for its slowest batch.
    batch_rounds = compute_expected_rounds(request.honest_fraction, redundancy, segments)
    group_rounds = compute_expected_rounds(request.honest_fraction, redundancy, segments * n)
    prove = seg.prove_seconds * batch_rounds + folds
    t = StageTimes(close, prove, request.block_time, compute_aggregation_levels(n) * pair)
    # Prover-seconds a batch costs: every copy, wasted or re-issued ones included, and the folds.
    copies = compute_expected_copies(request.honest_fraction, redundancy)
    work = segments * copies * seg.prove_seconds + (segments - 1) * pair
    # Enough provers to stay under max_utilisation, and for the first round of every batch that
    # closes during one segment's proving time to start at once (else batches queue for provers).
    in_flight = math.ceil(seg.prove_seconds / close - 1e-9)
    provers = max(
        segments * redundancy * in_flight, math.ceil(work / (close * request.max_utilisation) - 1e-9)
    )
    group = n * close
    utilisation = {
        "prove_a_batch_time": work / (close * provers),
        "block_time": request.block_time / group,
        "aggregation_time": t.aggregation_time / group,
    }
    if max(utilisation.values()) > request.max_utilisation:
        return None  # the L1 or the aggregator cannot keep up at this N
    gas = m.gas
    batches_per_sequence = max(1.0, request.block_time / close)  # every closed batch rides the next block
    sequencing_per_tx = (gas.sequence_tx / batches_per_sequence + gas.sequence_per_batch) / batch_size
    sequencing_per_tx += m.tx_bytes * gas.calldata_per_byte
    verification_per_tx = (
        compute_verification_gas_per_batch(n, gas.verify_proof, aggregated=True) / batch_size
    )
    cpu = work + (n - 1) / n * pair  # plus this batch's share of the group's N - 1 aggregations
    # The consolidated delay follows the group's slowest batch; prove_a_batch_time stays per batch.
    group_prove = seg.prove_seconds * group_rounds + folds
    report = compute_model_report(
        StageTimes(close, group_prove, request.block_time, t.aggregation_time),
        n=n,
        provers=max(n, math.ceil(group_prove / close - 1e-9)),  # no batch waits for a prover
        batch_size=batch_size,
        execute_seconds_per_tx=m.execute_seconds_per_tx,
        l1_gas_per_tx=sequencing_per_tx,
        l1_gas_per_aggregated_proof=gas.verify_proof,
        prover_cpu_seconds_per_tx=cpu / batch_size,
    )
    return Plan(
        segment_log2=segment_log2,
        segment_memory_bytes=seg.memory_bytes,
        segments_per_batch=segments,
        batch_size=batch_size,
        # Twice the filling time: at the target rate batches close full (a timeout that fires often
        # makes small batches, padded segments and more proofs); at low traffic delays stay bounded.
        batch_timeout_s=2 * close,
        aggregation_n=n,
        provers=provers,
        redundancy=redundancy,
        stage_times=t,
        kpis=dataclasses.replace(
            report,
            network_bytes_per_tx=compute_network_bytes_per_tx(m, batch_size, segments, copies, n),
            prove_a_batch_time=prove,
            delay_consolidated=_with_round_quantiles(
                report.delay_consolidated, request, segments * n, seg.prove_seconds
            ),
        ),
        l1_verification_gas_per_tx=verification_per_tx,
        l1_gas_per_tx_total=sequencing_per_tx + verification_per_tx,
        bottleneck=max(utilisation, key=lambda k: utilisation[k]),
        utilisation=utilisation,
        measurements_source=m.source,
        measurements_are_assumption=m.is_assumption,
    )


def compute_network_bytes_per_tx(
    m: Measurements, batch_size: int, segments: int, copies: float, n: int
) -> float:
    """Bytes between the scheduler and its provers per transaction: every segment copy's witness in
    and proof out, and each aggregation's two proofs in and one out (NaN if not measured)."""
    if not m.proof_bytes:
        return math.nan
    segment_jobs = segments * copies * m.proof_bytes + copies * m.witness_bytes_per_tx * batch_size
    aggregations = (segments - 1) + (n - 1) / n  # this batch's folds and its share of the group's
    return (segment_jobs + aggregations * 3 * m.proof_bytes) / batch_size


def _with_round_quantiles(
    delay: Percentiles, request: PlanRequest, segments: int, seconds: float
) -> Percentiles:
    """Delay percentiles with the rounds' quantiles instead of their mean: retries have a long tail.

    Adding the quantiles of the filling wait and of the rounds usually over-estimates the quantile
    of their sum (exact when both are at their extremes together): the safe side for a budget.
    """
    h = request.honest_fraction
    r = compute_redundancy(h)
    mean = compute_expected_rounds(h, r, segments)

    def shifted(value: float, q: float) -> float:
        return value + seconds * (compute_rounds_quantile(h, r, segments, q) - mean)

    return Percentiles(shifted(delay.p50, 0.50), shifted(delay.p95, 0.95), shifted(delay.p99, 0.99))


@dataclass(frozen=True)
class ProgramPlan:
    """Proving one program split into segments on a network of prover nodes."""

    segments: int  # the count used: measured if given, else from cycles
    segments_from_cycles: int | None  # ⌈cycles / 2^segment_log2⌉ (with per-segment overhead)
    segment_prove_seconds: float
    redundancy: int
    nodes_for_one_round: int
    nodes: int
    rounds: int
    proving_seconds: float  # rounds · segment time (aggregation excluded)
    copies_for_99_percent: int  # copies per segment for a 99 % chance that every segment has an honest one

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def plan_program(
    *,
    segment_log2: int,
    segment_prove_seconds: float,
    honest_fraction: float = 1.0,
    cycles: float | None = None,
    segments: int | None = None,
    nodes: int | None = None,
) -> ProgramPlan:
    """Segments, nodes and rounds for one program, from a measured segment count or from cycles."""
    if cycles is None and segments is None:
        raise PlanInputError("give the program's cycles or its measured segment count")
    if not (math.isfinite(segment_prove_seconds) and segment_prove_seconds > 0):
        raise PlanInputError(f"segment_prove_seconds must be > 0, got {segment_prove_seconds}")
    from_cycles = None if cycles is None else compute_segment_count(cycles, segment_log2)
    count = segments if segments is not None else from_cycles
    assert count is not None
    one_round = compute_nodes_for_one_round(count, honest_fraction)
    used = one_round if nodes is None else nodes
    rounds = compute_proving_rounds(count, used, honest_fraction)
    return ProgramPlan(
        segments=count,
        segments_from_cycles=from_cycles,
        segment_prove_seconds=segment_prove_seconds,
        redundancy=compute_redundancy(honest_fraction),
        nodes_for_one_round=one_round,
        nodes=used,
        rounds=rounds,
        proving_seconds=rounds * segment_prove_seconds,
        copies_for_99_percent=compute_copies_for_confidence(honest_fraction, count, 0.99),
    )
