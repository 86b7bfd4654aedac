"""`zkpipe demo`: the README's main command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from zkpipe.cli import main


@main.command()
@click.option(
    "--json", "as_json", is_flag=True, help="Print one JSON object on stdout (also a zkpipe.run/1 record)."
)
@click.option(
    "--accounts", default=16, show_default=True, help="Accounts created by L1 deposits (account 1 is hot)."
)
@click.option(
    "--txs", default=96, show_default=True, help="Signed transfers and withdrawals sent after the deposits."
)
@click.option("--workers", default=0, show_default=True, help="Local prover processes (0: one per core).")
@click.option("--threads-per-prover", default=1, show_default=True, help="Threads per proof.")
@click.option(
    "--segment-size", type=click.Choice(["8", "16", "32", "64", "128"]), default="8", show_default=True,
    help="Transactions per segment proof.",
)  # fmt: skip
@click.option(
    "--aggregation-n", default=2, show_default=True, help="Batches per aggregate proof (one L1 verification)."
)
@click.option("--block-time", default=1.0, show_default=True, help="L1 block time, seconds.")
@click.option(
    "--l1", type=click.Choice(["embedded", "anvil"]), default="embedded", show_default=True,
    help="The L1: the in-process devnet, or a local anvil (installed by make setup) over JSON-RPC.",
)  # fmt: skip
@click.option(
    "--timeout", "timeout_s", default=600.0, show_default=True, help="Give up after this many seconds."
)
@click.option(
    "--out", type=click.Path(file_okay=False), default="zkpipe-demo", show_default=True,
    help="Where the timeline PNG and the last aggregate proof (check it: zkpipe verify) are written.",
)  # fmt: skip
def demo(
    as_json: bool,
    accounts: int,
    txs: int,
    workers: int,
    threads_per_prover: int,
    segment_size: str,
    aggregation_n: int,
    block_time: float,
    l1: str,
    timeout_s: float,
    out: str,
) -> None:
    """Run the whole pipeline on this machine and report its KPIs.

    Starts a node with its embedded L1 (an EVM devnet running the Vyper rollup contract) and local
    provers; deposits into ACCOUNTS accounts on L1; sends TXS signed transfers (a share to one hot
    receiver) and withdrawals in waves; follows every transaction through trusted, virtual
    (sequenced on L1) and consolidated (its batch proven, aggregated and verified on L1). Ends
    with the KPI table and a PNG timeline. Exits 1 if a transaction is lost, a proof fails, or not
    everything is consolidated in time.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from zkpipe.demo import STATES, DemoSettings, run_demo
    from zkpipe.kpi.figures import KpiReport
    from zkpipe.kpi.report import json_safe, render_kpi_table

    if accounts < 2 or txs < 1:
        raise click.BadParameter("need at least 2 accounts and 1 transaction")
    settings = DemoSettings(
        accounts=accounts,
        txs=txs,
        workers=workers,
        threads_per_prover=threads_per_prover,
        segment_size=int(segment_size),
        aggregation_n=aggregation_n,
        block_time=block_time,
        batch_timeout_s=block_time,
        l1=l1,
        timeout_s=timeout_s,
    )
    err = Console(stderr=True)
    columns = (TextColumn("{task.description:<13}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=as_json) as bars:
        tasks = {state: bars.add_task(state, total=txs) for state in STATES}

        def progress(counts: dict[str, int], total: int) -> None:
            for state, task in tasks.items():
                bars.update(task, completed=counts[state], total=total)

        def ready(url: str) -> None:
            err.print(f"live dashboard: {url}/ (while the demo runs)")

        report = run_demo(settings, out=Path(out), progress=progress, on_ready=ready)
    ok = report["lost"] == 0 and report["proving_failed"] is None and report["consolidated"] == report["txs"]
    if as_json:
        click.echo(json.dumps(json_safe(report)))
    else:
        console = Console()
        console.print(render_kpi_table(KpiReport.from_dict(report["kpis"])))
        console.print(
            f"{report['user_txs']} transactions + {report['deposits']} deposits; consolidated "
            f"{report['consolidated']}, lost {report['lost']}; {report['batches']} batches in "
            f"{report['aggregates_verified']} aggregate proofs verified on L1"
        )
        if report["timeline_png"]:
            console.print(f"timeline: {report['timeline_png']}")
        if report["proof_file"]:
            console.print(
                f"last aggregate proof: {report['proof_file']} "
                f"(check it: zkpipe verify {report['proof_file']})"
            )
        if report["proving_failed"]:
            console.print(f"[red]proving failed: {report['proving_failed']}[/red]")
    if not ok:
        sys.exit(1)
