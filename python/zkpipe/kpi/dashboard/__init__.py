"""The live dashboard: a page at GET / of the node's RPC port, polling a bounded status document."""

from zkpipe.kpi.dashboard.status import (
    MAX_BATCHES,
    AggregateView,
    OpenBatch,
    PipelineSnapshot,
    PoolView,
    WorkerView,
    compute_status,
)
from zkpipe.kpi.dashboard.web import Dashboard, DashboardSource

__all__ = [
    "MAX_BATCHES",
    "AggregateView",
    "Dashboard",
    "DashboardSource",
    "OpenBatch",
    "PipelineSnapshot",
    "PoolView",
    "WorkerView",
    "compute_status",
]
