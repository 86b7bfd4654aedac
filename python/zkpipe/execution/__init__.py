"""Executors: apply ordered transactions to the trusted state (sequential now, parallel later)."""

from zkpipe.execution.executor import ClosedBatch, ExecutedTx, Executor, SequentialExecutor, digest_bytes

__all__ = ["ClosedBatch", "ExecutedTx", "Executor", "SequentialExecutor", "digest_bytes"]
