"""`zkpipe bench execution`: Block-STM against the native sequential engine and the spec executor."""

from __future__ import annotations

import click

from zkpipe.cli.bench import bench, emit


@bench.command("execution")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--txs", default=4096, show_default=True, help="Transactions per workload (one batch).")
@click.option("--accounts", default=2048, show_default=True, help="Funded accounts.")
@click.option("--repeats", default=3, show_default=True, help="Runs per engine; the best counts.")
@click.option(
    "--spec-txs", default=512, show_default=True, help="Transactions the (slow) spec executor runs."
)
@click.option("--seed", default=1, show_default=True, help="Workload seed.")
def execution(as_json: bool, txs: int, accounts: int, repeats: int, spec_txs: int, seed: int) -> None:
    """tx/s of workloads independent / hot_receiver / hot_sender / mix for the parallel engine (1 and
    2 threads), the native sequential engine and the spec executor, and speedup_2_threads."""
    from zkpipe.bench.execution import run_execution_bench

    emit(
        run_execution_bench(txs=txs, accounts=accounts, repeats=repeats, spec_txs=spec_txs, seed=seed),
        as_json,
    )
