"""PNG plots of the KPI model (delay and throughput vs. N and vs. provers), with simulated points."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a display

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from zkpipe.planner.measurements import GasTable, Measurements
from zkpipe.planner.model import (
    StageTimes,
    compute_aggregated,
    compute_aggregation_levels,
    compute_order_then_prove,
)
from zkpipe.planner.sim import DeterministicArrivals, ProverPool, ProvingSetup, SimConfig, run_simulation
from zkpipe.sequencer.policy import MaxTxsPolicy

__all__ = ["EXAMPLE", "write_plots"]

# The plots' example: the order-and-prove analysis' orders of magnitude (3 s to fill a batch,
# 2 min to prove it, 12 s L1 blocks); aggregation time grows with log2 N.
EXAMPLE = StageTimes(close_a_batch_time=3.0, prove_a_batch_time=120.0, block_time=12.0)
_NO_GAS = GasTable(sequence_tx=0.0, sequence_per_batch=0.0, calldata_per_byte=0.0, verify_proof=0.0)
_BATCH = 100  # transactions per batch in the simulated points
_SIM_HOURS = 3.0


def write_plots(directory: Path, m: Measurements) -> list[Path]:
    """Writes delay_throughput_vs_n.png and delay_throughput_vs_provers.png; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    pair = m.aggregate_pair_seconds
    return [
        _vs_n(directory / "delay_throughput_vs_n.png", pair),
        _vs_provers(directory / "delay_throughput_vs_provers.png", pair),
    ]


def _stages(n: int, pair: float) -> StageTimes:
    t = EXAMPLE
    return StageTimes(
        t.close_a_batch_time, t.prove_a_batch_time, t.block_time, compute_aggregation_levels(n) * pair
    )


def _simulated_throughput(t: StageTimes, n: int, provers: int, pair: float) -> float:
    """Consolidated batches/s of a short deterministic simulation."""
    config = SimConfig(
        arrivals=DeterministicArrivals(_BATCH / t.close_a_batch_time),
        duration_s=_SIM_HOURS * 3600,
        block_time=t.block_time,
        aggregation_n=n,
        proving=ProvingSetup(
            segment_log2=None, segment_prove_seconds=t.prove_a_batch_time, aggregate_pair_seconds=pair
        ),
        pool=ProverPool(provers=provers),
        gas=_NO_GAS,
        drain_s=0.0,
    )
    return run_simulation(config, MaxTxsPolicy(_BATCH)).report.throughput_batches


def _vs_n(path: Path, pair: float) -> Path:
    ns = [2**i for i in range(8)]
    kpis = [compute_order_then_prove(_stages(n, pair), n) for n in ns]
    sim_ns = [1, 4, 16, 64]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(ns, [k.delay for k in kpis], "o-", label="consolidated (lead time)")
    left.plot(ns, [k.delay_virtual for k in kpis], "s-", label="virtual (order-then-prove)")
    left.set(xscale="log", xlabel="aggregation size N (provers = N)", ylabel="delay (s)", title="Delay vs. N")
    right.plot(ns, [k.throughput_batches for k in kpis], "o-", label="aggregated: model")
    naive = compute_aggregated(StageTimes(3.0, 120.0, 12.0), 1, 1).throughput_batches
    right.axhline(naive, color="grey", ls=":", label="one prover, one verification per proof")
    right.plot(
        sim_ns,
        [_simulated_throughput(_stages(n, pair), n, n, pair) for n in sim_ns],
        "x",
        ms=10,
        label="simulated",
    )
    right.set(xscale="log", yscale="log", xlabel="aggregation size N (provers = N)", ylabel="batches/s")
    right.set_title("Consolidated throughput vs. N")
    _finish(fig, (left, right), path)
    return path


def _vs_provers(path: Path, pair: float) -> Path:
    n = 8
    t = _stages(n, pair)
    provers = list(range(1, 65))
    kpis = [compute_order_then_prove(t, n, p) for p in provers]
    sim_p = [2, 8, 20, 40, 60]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(provers, [k.delay for k in kpis], "-", label="consolidated (lead time)")
    left.plot(provers, [k.delay_virtual for k in kpis], "--", label="virtual")
    left.set(xlabel=f"provers (N = {n})", ylabel="delay (s)", title="Delay vs. provers")
    right.plot(provers, [k.throughput_batches for k in kpis], "-", label="model")
    right.plot(sim_p, [_simulated_throughput(t, n, p, pair) for p in sim_p], "x", ms=10, label="simulated")
    right.axhline(
        1 / t.close_a_batch_time, color="grey", ls=":", label="offered load (1 / close_a_batch_time)"
    )
    right.set(xlabel=f"provers (N = {n})", ylabel="batches/s", title="Consolidated throughput vs. provers")
    _finish(fig, (left, right), path)
    return path


def _finish(fig: Figure, axes: tuple[Axes, Axes], path: Path) -> None:
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(
        "close_a_batch_time = 3 s, prove_a_batch_time = 120 s, block_time = 12 s, "
        "aggregation_time = ⌈log2 N⌉ · pair time (model: lines, simulation: crosses)",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
