"""Batch-closing policies: pure decisions on when the open batch closes.

Time is injected (``now``, ``opened_at`` in seconds on any monotonic clock), so
the node drives these objects with wall-clock time and the planner's simulator
drives the very same objects with simulated time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from zkpipe.errors import InvalidInput

__all__ = [
    "AdaptivePolicy",
    "AnyOf",
    "BatchPolicy",
    "DownstreamFeedback",
    "MaxBytesPolicy",
    "MaxTxsPolicy",
    "TimeoutPolicy",
]


@dataclass(frozen=True)
class DownstreamFeedback:
    """What the pipeline measured downstream of the batcher, at time ``now`` (seconds)."""

    now: float
    queue_depth: int  # closed batches not yet proven
    downstream_latency: float | None = None  # seconds from a batch's close to its proof; None if unknown


@runtime_checkable
class BatchPolicy(Protocol):
    """Decides when the open batch closes."""

    def should_close(self, now: float, pending_txs: int, pending_bytes: int, opened_at: float) -> bool:
        """True if the open batch (``pending_txs`` txs, ``pending_bytes`` bytes, first tx at
        ``opened_at``) must close at ``now``. An empty batch never closes."""
        ...

    def observe(self, feedback: DownstreamFeedback) -> None:
        """Feeds a downstream measurement (queue depth, latency); policies may ignore it."""
        ...


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise InvalidInput(message, code="INVALID_POLICY")


class _Stateless:
    """Mixin for policies that ignore downstream feedback."""

    def observe(self, feedback: DownstreamFeedback) -> None:
        """Ignores the feedback."""


@dataclass(frozen=True)
class MaxTxsPolicy(_Stateless):
    """Closes once the batch holds ``max_txs`` transactions."""

    max_txs: int

    def __post_init__(self) -> None:
        _require(self.max_txs >= 1, f"max_txs must be >= 1, got {self.max_txs}")

    def should_close(self, now: float, pending_txs: int, pending_bytes: int, opened_at: float) -> bool:
        """True once ``pending_txs`` reaches ``max_txs``."""
        return pending_txs >= self.max_txs


@dataclass(frozen=True)
class MaxBytesPolicy(_Stateless):
    """Closes once the batch's data reaches ``max_bytes`` (the L1 calldata budget)."""

    max_bytes: int

    def __post_init__(self) -> None:
        _require(self.max_bytes >= 1, f"max_bytes must be >= 1, got {self.max_bytes}")

    def should_close(self, now: float, pending_txs: int, pending_bytes: int, opened_at: float) -> bool:
        """True once a non-empty batch holds ``max_bytes`` bytes or more."""
        return pending_txs > 0 and pending_bytes >= self.max_bytes


@dataclass(frozen=True)
class TimeoutPolicy(_Stateless):
    """Closes a non-empty batch ``timeout_s`` seconds after its first transaction."""

    timeout_s: float

    def __post_init__(self) -> None:
        _require(
            math.isfinite(self.timeout_s) and self.timeout_s > 0,
            f"timeout_s must be > 0, got {self.timeout_s}",
        )

    def should_close(self, now: float, pending_txs: int, pending_bytes: int, opened_at: float) -> bool:
        """True once a non-empty batch has been open for ``timeout_s``."""
        return pending_txs > 0 and now - opened_at >= self.timeout_s


@dataclass(frozen=True)
class AnyOf:
    """Closes as soon as any of its policies would."""

    policies: tuple[BatchPolicy, ...]

    def __post_init__(self) -> None:
        _require(len(self.policies) > 0, "AnyOf needs at least one policy")

    def should_close(self, now: float, pending_txs: int, pending_bytes: int, opened_at: float) -> bool:
        """True if any inner policy closes the batch."""
        return any(p.should_close(now, pending_txs, pending_bytes, opened_at) for p in self.policies)

    def observe(self, feedback: DownstreamFeedback) -> None:
        """Forwards the feedback to every inner policy."""
        for p in self.policies:
            p.observe(feedback)


@dataclass
class AdaptivePolicy:
    """Sizes batches from downstream queue depth and latency, within ``[min_txs, max_txs]``.

    Congestion (queue deeper than ``high_water`` batches, or smoothed latency above
    ``target_latency_s``) doubles the target size: fewer, larger batches amortise the
    per-batch proving, aggregation and L1 costs. An idle downstream (empty queue and
    latency under target) shrinks it by a quarter, which cuts the wait to fill a batch.
    A batch also closes ``max_wait_s`` after its first transaction, whatever its size.
    """

    min_txs: int
    max_txs: int
    max_wait_s: float
    target_latency_s: float
    high_water: int = 2
    smoothing: float = 0.3  # weight of the newest latency sample in the moving average
    target_txs: int = field(init=False)
    latency_ewma: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        _require(
            1 <= self.min_txs <= self.max_txs,
            f"need 1 <= min_txs <= max_txs, got {self.min_txs}, {self.max_txs}",
        )
        _require(self.max_wait_s > 0, f"max_wait_s must be > 0, got {self.max_wait_s}")
        _require(self.target_latency_s > 0, f"target_latency_s must be > 0, got {self.target_latency_s}")
        _require(self.high_water >= 0, f"high_water must be >= 0, got {self.high_water}")
        _require(0 < self.smoothing <= 1, f"smoothing must be in (0, 1], got {self.smoothing}")
        self.target_txs = self.min_txs

    def should_close(self, now: float, pending_txs: int, pending_bytes: int, opened_at: float) -> bool:
        """True once the batch reaches the current target size or has waited ``max_wait_s``."""
        if pending_txs == 0:
            return False
        return pending_txs >= self.target_txs or now - opened_at >= self.max_wait_s

    def observe(self, feedback: DownstreamFeedback) -> None:
        """Updates the target size from the queue depth and the smoothed latency."""
        if feedback.downstream_latency is not None:
            sample = feedback.downstream_latency
            prev = self.latency_ewma
            self.latency_ewma = sample if prev is None else prev + self.smoothing * (sample - prev)
        slow = self.latency_ewma is not None and self.latency_ewma > self.target_latency_s
        if feedback.queue_depth > self.high_water or slow:
            self.target_txs = min(self.max_txs, self.target_txs * 2)
        elif feedback.queue_depth == 0:
            self.target_txs = max(self.min_txs, self.target_txs - max(1, self.target_txs // 4))
