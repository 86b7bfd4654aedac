"""What the live dashboard shows: a bounded, JSON-ready status computed from a snapshot of the node."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from zkpipe.kpi.figures import KpiReport
from zkpipe.kpi.report import STAGE_COLOURS, BatchTimes, TxTimes, compute_bottleneck, json_safe

SCHEMA = "zkpipe.dashboard/1"
SERIES_POINTS = 120
"""Points of each "transactions by state" series, whatever the length of the run."""
MAX_BATCHES = 24
"""Newest batches on the timeline."""
MAX_WORKERS = 64
"""Prover workers listed one by one (the totals count every worker)."""
TX_STATES = ("pending", "trusted", "virtual", "consolidated", "rejected")
BATCH_STATES = ("filling", "sequencing", "proving", "aggregating", "consolidating", "consolidated")
"""Where a batch is now: filling (open), sequencing (closed, not yet in an L1 block), proving (virtual,
segments not all proven), aggregating, consolidating (its aggregate is being wrapped and verified on
L1), consolidated."""


@dataclass(frozen=True, slots=True)
class WorkerView:
    """One prover worker as the scheduler sees it."""

    worker_id: str
    ready: bool
    job_id: str | None
    busy_s: float
    accepted: int
    rejected: int
    quarantined: bool


@dataclass(frozen=True, slots=True)
class PoolView:
    """The prover pool: its workers and the scheduler's job queue."""

    workers: Sequence[WorkerView]
    queued: int
    running: int
    done: int
    redundancy: int
    elapsed_s: float
    """Seconds since the scheduler started (the denominator of a worker's busy share)."""


@dataclass(frozen=True, slots=True)
class AggregateView:
    """The last aggregate proof verified on L1."""

    first_batch: int
    final_batch: int
    segments: int
    proof_sha256: str
    verify_tx: str
    verify_gas: int | None


@dataclass(frozen=True, slots=True)
class OpenBatch:
    """The batch being filled: its number, transactions so far, and its first arrival."""

    number: int
    txs: int
    opened: float | None


@dataclass(frozen=True, slots=True)
class PipelineSnapshot:
    """Everything the dashboard needs, read from a running node at `taken_at` (Unix seconds)."""

    taken_at: float
    started_at: float
    chain: Mapping[str, Any]
    """The node's `zk_chainInfo` answer."""
    health: Mapping[str, Any]
    txs: Sequence[TxTimes]
    rejected: int
    open_batch: OpenBatch
    batches: Sequence[BatchTimes]
    """The newest closed batches (at most MAX_BATCHES), oldest first."""
    kpis: KpiReport
    pool: PoolView | None
    """None when the node does not prove."""
    aggregation_n: int
    last_aggregate: AggregateView | None


def compute_state_series(
    txs: Sequence[TxTimes],
    rejected_samples: Sequence[tuple[float, int]],
    now: float,
    points: int = SERIES_POINTS,
) -> dict[str, Any]:
    """Transactions in or past each state at `points` instants from the first submission to `now`.

    `pending` counts stored transactions submitted and not yet trusted; `rejected` steps through
    the samples taken so far (rejections are not stored).
    """
    submitted = np.sort(np.fromiter((t.submitted for t in txs), dtype=float, count=len(txs)))
    t0 = float(submitted[0]) if len(submitted) else now
    if rejected_samples:
        t0 = min(t0, rejected_samples[0][0])
    grid = np.linspace(t0, max(now, t0 + 1e-3), points)

    def reached(values: Sequence[float | None]) -> list[int]:
        stamps = np.sort(np.array([v for v in values if v is not None], dtype=float))
        return [int(n) for n in np.searchsorted(stamps, grid, side="right")]

    trusted = reached([t.trusted for t in txs])
    arrived = [int(n) for n in np.searchsorted(submitted, grid, side="right")]
    sample_times = np.array([t for t, _ in rejected_samples], dtype=float)
    sample_index = np.searchsorted(sample_times, grid, side="right") - 1
    return {
        "t0": t0,
        "t": [round(float(t) - t0, 3) for t in grid],
        "pending": [a - t for a, t in zip(arrived, trusted, strict=True)],
        "trusted": trusted,
        "virtual": reached([t.virtual for t in txs]),
        "consolidated": reached([t.consolidated for t in txs]),
        "rejected": [rejected_samples[i][1] if i >= 0 else 0 for i in sample_index],
    }


def compute_batch_state(batch: BatchTimes) -> str:
    """Where a closed batch is now (one of BATCH_STATES)."""
    if batch.consolidated is not None:
        return "consolidated"
    if batch.aggregated is not None:
        return "consolidating"
    if batch.proven is not None:
        return "aggregating"
    if batch.virtual is not None:
        return "proving"
    return "sequencing"


def _batch_row(b: BatchTimes) -> dict[str, Any]:
    return {
        "number": b.number,
        "txs": b.txs,
        "state": compute_batch_state(b),
        # The stage boundaries of the demo's timeline (kpi.report.plot_timeline), Unix seconds.
        "marks": [b.opened, b.closed, b.virtual, b.proven, b.aggregated, b.consolidated],
        "proving_started": b.proving_started,
    }


def _pool_json(pool: PoolView) -> dict[str, Any]:
    workers = list(pool.workers)
    elapsed = max(pool.elapsed_s, 1e-9)
    return {
        "workers": len(workers),
        "busy": sum(1 for w in workers if w.job_id is not None),
        "quarantined": sum(1 for w in workers if w.quarantined),
        "queued": pool.queued,
        "running": pool.running,
        "done": pool.done,
        "redundancy": pool.redundancy,
        "list": [
            {
                "id": w.worker_id,
                "state": "quarantined"
                if w.quarantined
                else ("busy" if w.job_id is not None else ("idle" if w.ready else "starting")),
                "job": w.job_id,
                "busy_share": min(1.0, w.busy_s / elapsed),
                "accepted": w.accepted,
                "rejected": w.rejected,
            }
            for w in workers[:MAX_WORKERS]
        ],
    }


def compute_status(
    snapshot: PipelineSnapshot, rejected_samples: Sequence[tuple[float, int]]
) -> dict[str, Any]:
    """The dashboard's status document (bounded in size whatever the length of the run)."""
    s = snapshot
    kpis = s.kpis
    chain = dict(s.chain)
    counts = {
        "pending": int(chain.get("mempool_size", 0)),
        "trusted": len(s.txs),
        "virtual": sum(1 for t in s.txs if t.virtual is not None),
        "consolidated": sum(1 for t in s.txs if t.consolidated is not None),
        "rejected": s.rejected,
    }
    batches = [_batch_row(b) for b in s.batches[-MAX_BATCHES:]]
    by_state = dict.fromkeys(BATCH_STATES, 0)
    for row in batches:
        by_state[row["state"]] += 1
    by_state["filling"] = 1 if s.open_batch.txs else 0
    provers = len(s.pool.workers) if s.pool is not None else 0
    stage_times = {
        name: getattr(kpis, name)
        for name in ("close_a_batch_time", "prove_a_batch_time", "block_time", "aggregation_time")
    }
    proving = s.pool is not None
    status = {
        "schema": SCHEMA,
        "now": s.taken_at,
        "node": {
            "state": "running" if s.health.get("ok", False) else "degraded",
            "failures": dict(s.health.get("failures", {})),
            "started_at": s.started_at,
            "uptime_s": s.taken_at - s.started_at,
            "proving": proving,
        },
        "chain": chain,
        "counts": counts,
        "series": compute_state_series(s.txs, rejected_samples, s.taken_at),
        "stages": [{"name": name, "colour": colour} for name, colour in STAGE_COLOURS],
        "open_batch": {"number": s.open_batch.number, "txs": s.open_batch.txs, "opened": s.open_batch.opened},
        "batches": batches,
        "batch_states": by_state,
        "pool": _pool_json(s.pool) if s.pool is not None else None,
        "kpis": kpis.to_dict(),
        "stage_times": stage_times,
        "bottleneck": (
            compute_bottleneck(stage_times, provers=provers, aggregation_n=s.aggregation_n)
            if proving and kpis.batches > 0
            else None
        ),
        "aggregation_n": s.aggregation_n,
        "last_aggregate": None
        if s.last_aggregate is None
        else {
            "first_batch": s.last_aggregate.first_batch,
            "final_batch": s.last_aggregate.final_batch,
            "segments": s.last_aggregate.segments,
            "proof_sha256": s.last_aggregate.proof_sha256,
            "verify_tx": s.last_aggregate.verify_tx,
            "verify_gas": s.last_aggregate.verify_gas,
        },
    }
    result: dict[str, Any] = json_safe(status)
    return result
