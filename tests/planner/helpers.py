"""Shared planner test helpers: a deployment where the analytic model is exact."""

from __future__ import annotations

import dataclasses

from zkpipe.planner.measurements import default_assumption
from zkpipe.planner.model import StageTimes
from zkpipe.planner.sim import DeterministicArrivals, ProverPool, ProvingSetup, SimConfig

# 10 tx/s in batches of 120 (one batch per 12 s), 120 s to prove a batch, 12 s blocks, N = 4 with
# 6 s per aggregation step: every event lands on a block boundary, so the model is exact.
EXACT_STAGES = StageTimes(
    close_a_batch_time=12.0, prove_a_batch_time=120.0, block_time=12.0, aggregation_time=12.0
)
EXACT_BATCH = 120
EXACT_N = 4
EXACT_PROVERS = 16


def exact_config(hours: float = 4.0, **changes: object) -> SimConfig:
    """The exact deployment; keyword arguments replace SimConfig fields."""
    config = SimConfig(
        arrivals=DeterministicArrivals(EXACT_BATCH / EXACT_STAGES.close_a_batch_time),
        duration_s=hours * 3600,
        block_time=EXACT_STAGES.block_time,
        aggregation_n=EXACT_N,
        proving=ProvingSetup(
            segment_log2=None,
            segment_prove_seconds=EXACT_STAGES.prove_a_batch_time,
            aggregate_pair_seconds=6.0,
        ),
        pool=ProverPool(provers=EXACT_PROVERS),
        gas=default_assumption().gas,
    )
    return dataclasses.replace(config, **changes)  # type: ignore[arg-type]
