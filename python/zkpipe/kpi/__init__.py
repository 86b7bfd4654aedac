"""Live KPIs of a node: per-transaction state timestamps become Prometheus metrics."""

from zkpipe.kpi.metrics import NodeMetrics

__all__ = ["NodeMetrics"]
