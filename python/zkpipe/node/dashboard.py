"""The node's side of the live dashboard: a bounded snapshot of its pipeline, and the routes to serve it."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from zkpipe.kpi.dashboard import (
    MAX_BATCHES,
    AggregateView,
    Dashboard,
    OpenBatch,
    PipelineSnapshot,
    PoolView,
    WorkerView,
)
from zkpipe.kpi.report import TxTimes
from zkpipe.l1.chain import TxHash
from zkpipe.node.node import Node
from zkpipe.node.proving import compute_batch_times
from zkpipe.proving.jobs import JobState


class NodeDashboardSource:
    """Reads what the dashboard shows from a running node (called from worker threads)."""

    def __init__(self, node: Node) -> None:
        self.node = node

    def snapshot(self) -> PipelineSnapshot:
        """The pipeline now: the newest MAX_BATCHES batches, the pool, the KPIs."""
        node = self.node
        chain = node.chain_info()
        trusted = int(chain["trusted_batch"])
        opened = node.reader.submitted_times(trusted + 1, trusted + 1)
        registry = node.metrics.registry
        rejected = registry.get_sample_value("zkpipe_transactions_total", {"outcome": "rejected"})
        proving = node.proving
        pool = None
        last = None
        if proving is not None:
            scheduler = proving.scheduler
            usage = scheduler.utilisation()
            counts = scheduler.store.counts()
            workers = [
                WorkerView(
                    w.worker_id,
                    w.ready,
                    w.job_id,
                    usage[w.worker_id].busy_s if w.worker_id in usage else 0.0,
                    usage[w.worker_id].accepted if w.worker_id in usage else 0,
                    usage[w.worker_id].rejected if w.worker_id in usage else 0,
                    w.worker_id in scheduler.quarantined,
                )
                for w in proving.backend.workers()
            ]
            pool = PoolView(
                workers,
                queued=counts[JobState.QUEUED],
                running=counts[JobState.RUNNING],
                done=counts[JobState.DONE],
                redundancy=scheduler.config.redundancy,
                elapsed_s=scheduler.elapsed_s(),
            )
            verified = list(proving.record.consolidations)
            if verified and verified[-1].window.proof is not None:
                done = verified[-1]
                proof = done.window.proof
                assert proof is not None
                last = AggregateView(
                    first_batch=done.window.first,
                    final_batch=done.window.last,
                    segments=proof.provenance.segments,
                    proof_sha256=proof.to_json()["proof_sha256"],
                    verify_tx="0x" + bytes(done.verify_tx).hex(),
                    verify_gas=done.verify_gas,
                )
        return PipelineSnapshot(
            taken_at=time.time(),
            started_at=node.started_at,
            chain=chain,
            health=node.health(),
            txs=[TxTimes(*row) for row in node.reader.tx_times()],
            rejected=int(rejected or 0),
            open_batch=OpenBatch(trusted + 1, len(opened), min(opened, default=None)),
            batches=compute_batch_times(
                node.reader,
                proving.record.batches if proving is not None else {},
                range(max(1, trusted - MAX_BATCHES + 1), trusted + 1),
            ),
            kpis=node.kpi_report(),
            pool=pool,
            aggregation_n=node.config.proving.aggregation_n,
            last_aggregate=last,
        )

    def last_aggregate_proof(self) -> dict[str, Any] | None:
        """The last aggregate proof verified on L1, in its file form."""
        proving = self.node.proving
        if proving is None:
            return None
        verified = list(proving.record.consolidations)
        if not verified or verified[-1].window.proof is None:
            return None
        return verified[-1].window.proof.to_json()

    def l1_transaction(self, tx_hash: str) -> dict[str, Any] | None:
        """An L1 transaction with its receipt, or None."""
        chain = self.node.chain
        key = TxHash(bytes.fromhex(tx_hash[2:]))
        tx = chain.transaction_by_hash(key)
        if tx is None:
            return None
        receipt = chain.receipt_by_hash(key)
        return {
            "hash": tx_hash,
            "from": tx.sender,
            "to": tx.to,
            "nonce": tx.nonce,
            "gas_limit": tx.gas,
            "input_bytes": len(tx.data),
            "receipt": None
            if receipt is None
            else {
                "block_number": receipt.block_number,
                "success": receipt.success,
                "gas_used": receipt.gas_used,
                "logs": len(receipt.logs),
                "revert_reason": receipt.revert_reason,
            },
        }


def dashboard_routes(node: Node) -> list[web.RouteDef]:
    """The live dashboard's routes for `node` (GET / and /dashboard/…)."""
    return Dashboard(NodeDashboardSource(node)).routes()
