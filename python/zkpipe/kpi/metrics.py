"""The node's Prometheus metrics, named after the KPIs (`delay_trusted`, `delay_virtual`, …)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_DELAY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2,
    3,
    4,
    6,
    8,
    12,
    20,
    30,
    60,
    120,
)


class NodeMetrics:
    """One registry per node (so several nodes can live in one process, as in tests)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.delay_trusted = Histogram(
            "zkpipe_delay_trusted_seconds", "Submission to trusted (executed, durably stored)",
            buckets=_DELAY_BUCKETS, registry=r,
        )  # fmt: skip
        self.delay_virtual = Histogram(
            "zkpipe_delay_virtual_seconds", "Submission to virtual (batch in an L1 block)",
            buckets=_DELAY_BUCKETS, registry=r,
        )  # fmt: skip
        self.delay_consolidated = Histogram(
            "zkpipe_delay_consolidated_seconds", "Submission to consolidated (batch verified on L1)",
            buckets=_DELAY_BUCKETS, registry=r,
        )  # fmt: skip
        self.close_a_batch_time = Histogram(
            "zkpipe_close_a_batch_time_seconds", "First transaction of a batch to its close",
            buckets=_DELAY_BUCKETS, registry=r,
        )  # fmt: skip
        self.group_commit_seconds = Histogram(
            "zkpipe_group_commit_seconds", "Duration of one durable group commit",
            buckets=_DELAY_BUCKETS, registry=r,
        )  # fmt: skip
        self.txs = Counter("zkpipe_transactions", "Transactions by outcome", ["outcome"], registry=r)
        self.batches_closed = Counter("zkpipe_batches_closed", "Batches closed", registry=r)
        self.l1_sends = Counter("zkpipe_l1_sequence_sends", "sequenceBatches transactions sent", registry=r)
        self.mempool_size = Gauge("zkpipe_mempool_size", "Transactions waiting to execute", registry=r)
        self.batch_trusted = Gauge("zkpipe_batch_trusted", "Last closed batch", registry=r)
        self.batch_virtual = Gauge("zkpipe_batch_virtual", "Last virtual batch", registry=r)
        self.batch_consolidated = Gauge("zkpipe_batch_consolidated", "Last consolidated batch", registry=r)
        self.block_time = Gauge("zkpipe_block_time_seconds", "Configured L1 block time", registry=r)
        self.l1_gas_per_tx = Gauge("zkpipe_l1_gas_per_tx", "Sequencing gas per L2 transaction", registry=r)
        # Proving KPIs (refreshed from the KPI report when scraped, when the node proves).
        self.kpi = Gauge(
            "zkpipe_kpi", "KPIs of the run so far (names of docs/kpi-model.md)", ["name"], registry=r
        )
        self.prover_busy_seconds = Gauge(
            "zkpipe_prover_busy_seconds",
            "Seconds each prover worker spent on proving jobs",
            ["worker"],
            registry=r,
        )
        self.prover_quarantined = Gauge(
            "zkpipe_prover_quarantined",
            "1 while a prover worker is quarantined (it returned a rejected proof; kept across restarts)",
            ["worker"],
            registry=r,
        )
        self.prover_network_bytes = Gauge(
            "zkpipe_prover_network_bytes",
            "Bytes moved between the scheduler and its provers, by kind of job and direction",
            ["kind", "direction"],
            registry=r,
        )

    def observe_many(self, histogram: Histogram, values: Iterable[float]) -> None:
        """Observes every value (negative clock skews count as 0)."""
        for value in values:
            histogram.observe(max(0.0, value))

    def set_kpis(self, kpis: dict[str, float], busy: dict[str, float]) -> None:
        """Publishes a KPI report's figures and each worker's busy time."""
        for name, value in kpis.items():
            self.kpi.labels(name).set(value)
        for worker, seconds in busy.items():
            self.prover_busy_seconds.labels(worker).set(seconds)

    def set_pool(
        self, quarantined: Iterable[str], workers: Iterable[str], traffic: dict[str, tuple[int, int]]
    ) -> None:
        """Publishes which workers are quarantined and the bytes in and out per kind of job."""
        out = set(quarantined)
        for worker in {*workers, *out}:
            self.prover_quarantined.labels(worker).set(1.0 if worker in out else 0.0)
        for kind, (sent, received) in traffic.items():
            self.prover_network_bytes.labels(kind, "in").set(sent)
            self.prover_network_bytes.labels(kind, "out").set(received)

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
