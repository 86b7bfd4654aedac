"""Splits a batch into segment jobs; chooses the segment size k from a memory budget if asked."""

from __future__ import annotations

import math
from dataclasses import dataclass

from zkpipe.errors import InvalidInput
from zkpipe.planner.errors import PlanInputError
from zkpipe.planner.measurements import Measurements, load_default_measurements
from zkpipe.proving.jobs import SegmentJob
from zkpipe.spec import SEGMENT_SIZES, BatchResult


def compute_batch_prove_seconds(measurements: Measurements, k: int, txs: int) -> float:
    """CPU seconds to prove `txs` transactions in segments of k and fold them into one proof."""
    segments = max(1, math.ceil(txs / k))
    row = measurements.segment_cost(int(math.log2(k)))
    return segments * row.prove_seconds + (segments - 1) * measurements.aggregate_pair_seconds


def choose_segment_size(
    measurements: Measurements, memory_budget_bytes: int, *, batch_txs: int | None = None
) -> int:
    """The segment size for provers with `memory_budget_bytes` each, from the measured table.

    Among the sizes whose measured memory fits, the one with the least proving CPU for a batch of
    `batch_txs` (segments plus aggregations; ties go to the smaller k, which parallelises more);
    without `batch_txs`, the largest that fits. InvalidInput if none fits.
    """
    fitting = []
    for k in SEGMENT_SIZES:
        try:
            row = measurements.segment_cost(int(math.log2(k)))  # one cycle = one transaction slot
        except PlanInputError:  # a size the table does not cover is not a candidate
            continue
        if row.memory_bytes <= memory_budget_bytes:
            fitting.append(k)
    if not fitting:
        raise InvalidInput(f"no measured segment size fits a memory budget of {memory_budget_bytes} bytes")
    if batch_txs is None:
        return max(fitting)
    return min(fitting, key=lambda k: (compute_batch_prove_seconds(measurements, k, batch_txs), k))


@dataclass(frozen=True, slots=True)
class Segmenter:
    """Turns applied batches into segment jobs of a fixed k."""

    k: int

    def __post_init__(self) -> None:
        if self.k not in SEGMENT_SIZES:
            raise InvalidInput(f"segment size {self.k} is not one of {SEGMENT_SIZES}")

    @classmethod
    def for_memory_budget(
        cls,
        memory_budget_bytes: int,
        *,
        batch_txs: int | None = None,
        measurements: Measurements | None = None,
    ) -> Segmenter:
        """A segmenter whose k is chosen from the measured table (the packaged one by default)."""
        table = measurements if measurements is not None else load_default_measurements()
        return cls(choose_segment_size(table, memory_budget_bytes, batch_txs=batch_txs))

    def jobs(self, result: BatchResult) -> list[SegmentJob]:
        """The segment jobs of a batch the spec applied with this k, in order."""
        batch = result.state.batch_number
        return [SegmentJob.from_segment(batch, i, self.k, s) for i, s in enumerate(result.segments)]
