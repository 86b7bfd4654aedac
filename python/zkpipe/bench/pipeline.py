"""`zkpipe bench pipeline`: whole-pipeline throughput and delays by prover count and aggregation size N."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from zkpipe.demo import DemoSettings, run_demo
from zkpipe.kpi.machine import describe_machine
from zkpipe.kpi.report import compute_bottleneck, json_safe

PROVERS = (1, 2)
SIZES = (1, 2, 4, 8)
STAGES = ("close_a_batch_time", "prove_a_batch_time", "block_time", "aggregation_time")


def bottleneck(run: dict[str, Any]) -> str:
    """The stage that limits a demo run's consolidated throughput (`compute_bottleneck`)."""
    return compute_bottleneck(
        run["stage_times_s"], provers=run["config"]["provers"], aggregation_n=run["config"]["aggregation_n"]
    )


def run_pipeline_bench(
    provers: Sequence[int] = PROVERS,
    sizes: Sequence[int] = SIZES,
    *,
    batches: int = 8,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """One demo run per (provers, N); ~`batches` batches of one segment each per run."""
    runs = []
    for p in provers:
        for n in sizes:
            progress(f"provers={p} N={n}")
            settings = DemoSettings(
                accounts=16, txs=8 * batches, waves=2 * batches, workers=p, aggregation_n=n,
                block_time=1.0, batch_timeout_s=1.0, timeout_s=900.0,
            )  # fmt: skip
            with tempfile.TemporaryDirectory(prefix="zkpipe-bench-") as out:
                run = run_demo(settings, out=Path(out))
            runs.append(
                {
                    "provers": p,
                    "aggregation_n": n,
                    "throughput_tps": run["throughput_tps"],
                    "throughput_batches_per_s": run["throughput_batches_per_s"],
                    "delay_s": run["delay_s"],
                    "stage_times_s": run["stage_times_s"],
                    "l1_gas": run["l1_gas"],
                    "aggregates_verified": run["aggregates_verified"],
                    "batches": run["batches"],
                    "lost": run["lost"],
                    "bottleneck": bottleneck(run),
                }
            )
    result: dict[str, Any] = json_safe(
        {"runs": runs, "machine": describe_machine(), "command": "zkpipe bench pipeline --json"}
    )
    return result


def to_markdown(result: dict[str, Any]) -> str:
    """The runs as a Markdown table."""
    lines = [
        "| provers | N | tx/s | batches/s | virtual p50 s | consolidated p50 / p99 s | prove_a_batch s "
        "| aggregation s | verify gas / aggregate | aggregates | bottleneck |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["runs"]:
        d, st = r["delay_s"], r["stage_times_s"]
        cells = [
            r["provers"],
            r["aggregation_n"],
            r["throughput_tps"],
            r["throughput_batches_per_s"],
            d["virtual"]["p50"],
            f"{d['consolidated']['p50']} / {d['consolidated']['p99']}",
            st["prove_a_batch_time"],
            st["aggregation_time"],
            r["l1_gas"]["verify_per_aggregate"],
            r["aggregates_verified"],
            r["bottleneck"],
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)
