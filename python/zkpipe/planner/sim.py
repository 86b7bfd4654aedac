"""A discrete-event simulation (SimPy) of the whole pipeline, reporting the live node's KPIs.

Transactions arrive (deterministic, Poisson or bursty), are executed (trusted), batched by a
real ``zkpipe.sequencer.policy`` object driven with simulated time, sequenced on L1 at the next
block (virtual), split into segments proven by a pool of heterogeneous provers that may be
dishonest, fail or straggle, folded into a batch proof, aggregated N batches at a time and
verified on L1, one verification per block (consolidated).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from zkpipe.errors import PlanInputError
from zkpipe.planner.sim_batch import BatchFoldPipeline
from zkpipe.planner.sim_window import WindowFoldPipeline
from zkpipe.planner.simbase import SimPipeline, Update
from zkpipe.planner.simconfig import (
    Arrivals,
    BurstyArrivals,
    DeterministicArrivals,
    PoissonArrivals,
    ProverPool,
    ProvingSetup,
    RecordedArrivals,
    SimConfig,
    SimResult,
    generate_arrivals,
    validate_sim_config,
)
from zkpipe.sequencer.policy import BatchPolicy

__all__ = [
    "Arrivals",
    "BurstyArrivals",
    "DeterministicArrivals",
    "PoissonArrivals",
    "ProverPool",
    "ProvingSetup",
    "RecordedArrivals",
    "SimConfig",
    "SimResult",
    "generate_arrivals",
    "run_simulation",
]


def run_simulation(config: SimConfig, policy: BatchPolicy, *, progress: bool = False) -> SimResult:
    """Simulates the pipeline under ``policy`` (a fresh object: it may keep state)."""
    validate_sim_config(config)
    started = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    arrivals = generate_arrivals(config.arrivals, config.duration_s, rng)
    if arrivals.size == 0:
        raise PlanInputError("no transaction arrives during the simulated duration")
    # One sequencer executes in arrival order: trusted_i = max(arrival_i, trusted_{i-1}) + e.
    e = config.execute_seconds_per_tx
    steps = e * np.arange(arrivals.size, dtype=np.float64)
    trusted = np.maximum.accumulate(arrivals - steps) + steps + e
    sim: SimPipeline = (
        WindowFoldPipeline(config, rng) if config.proving.window_fold else BatchFoldPipeline(config, rng)
    )
    horizon = config.duration_s + config.drain_s
    with _progress_bar(progress, horizon) as update:
        sim.env.process(sim.batcher(trusted, policy, update))
        sim.start_processes()
        sim.env.run(until=horizon)
    return sim.result(arrivals, trusted, time.perf_counter() - started)


@contextmanager
def _progress_bar(enabled: bool, total: float) -> Iterator[Update]:
    """A rich progress bar on stderr over simulated time, or a no-op."""
    if not enabled:
        yield lambda _now: None
        return
    from rich.console import Console
    from rich.progress import Progress

    last = [0.0]
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("simulating", total=total)

        def update(now: float) -> None:
            if now - last[0] >= total / 200:  # redraw at most 200 times
                last[0] = now
                bar.update(task, completed=now)

        yield update
