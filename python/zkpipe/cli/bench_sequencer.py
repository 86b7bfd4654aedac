"""`zkpipe bench sequencer`: trusted throughput, ack latency and virtual delay of a live node."""

from __future__ import annotations

import click

from zkpipe.cli.bench import bench, emit


@bench.command("sequencer")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--accounts", default=256, show_default=True, help="Funded sender accounts.")
@click.option("--txs", default=20_000, show_default=True, help="Transactions to send.")
@click.option("--conns", default=4, show_default=True, help="Concurrent keep-alive connections.")
@click.option("--batch-calls", default=16, show_default=True, help="Transactions per JSON-RPC batch request.")
@click.option("--block-time", default=2.0, show_default=True, help="Embedded L1 block time (s).")
@click.option("--batch-timeout", default=0.25, show_default=True, help="Batch-closing timeout (s).")
@click.option("--synchronous", type=click.Choice(["FULL", "NORMAL"]), default="FULL", show_default=True,
              help="SQLite durability of acknowledgements.")  # fmt: skip
@click.option("--seed", default=1, show_default=True, help="Workload seed.")
@click.option("--engine", type=click.Choice(["parallel", "sequential"]), default="parallel",
              show_default=True, help="execution.engine of the node.")  # fmt: skip
@click.option("--rate", default=0.0, show_default=True,
              help="Offered tx/s on a schedule (open loop); 0: as fast as answers come.")  # fmt: skip
@click.option("--max-wait", type=float, default=None,
              help="mempool.max_wait_s of the node (admission control; 0 turns it off).")  # fmt: skip
def sequencer(
    as_json: bool,
    accounts: int,
    txs: int,
    conns: int,
    batch_calls: int,
    block_time: float,
    batch_timeout: float,
    synchronous: str,
    seed: int,
    engine: str,
    rate: float,
    max_wait: float | None,
) -> None:
    """Drive a node with a separate load-generator process over loopback and report
    trusted_tps, ack_p50_ms/ack_p99_ms, virtual_delay_p50_s/p99_s and lost (must be 0)."""
    from zkpipe.bench.sequencer import run_sequencer_bench

    emit(
        run_sequencer_bench(
            accounts=accounts,
            txs=txs,
            conns=conns,
            batch_calls=batch_calls,
            block_time=block_time,
            batch_timeout=batch_timeout,
            synchronous=synchronous,
            seed=seed,
            engine=engine,
            rate=rate,
            max_wait_s=max_wait,
        ),
        as_json,
    )
