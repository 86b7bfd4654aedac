"""`zkpipe demo`: the README's main command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from zkpipe.cli import main


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--accounts", default=8, show_default=True, help="User accounts created by L1 deposits.")
@click.option(
    "--transfers", default=24, show_default=True, help="Signed transfers and withdrawals in batch 2."
)
@click.option(
    "--segment-size",
    type=click.Choice(["8", "16", "32", "64", "128"]),
    default="8",
    show_default=True,
    help="Transactions per segment proof.",
)
@click.option("--threads", default=0, show_default=True, help="Threads per proof (0: every core).")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="zkpipe-demo",
    show_default=True,
    help="Where the aggregated proof file is written (check it with `zkpipe verify`).",
)
def demo(as_json: bool, accounts: int, transfers: int, segment_size: str, threads: int, out: str) -> None:
    """Run sample batches through the spec, prove them, and fold every proof into one.

    Batch 1 deposits into every account; batch 2 is a mix of signed transfers (a share to one hot
    receiver) and withdrawals. Every segment is proven with plonky2, all proofs are aggregated
    recursively into one constant-size proof, which is verified and written to OUT. Until the node
    exists (sequencer, L1, provers), this is the pipeline's proving half on its own.
    """
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from zkpipe.sample import run_sample

    if accounts < 2 or transfers < 1:
        raise click.BadParameter("need at least 2 accounts and 1 transfer")
    console = Console(stderr=True)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("proving", total=None)

        def progress(step: str, done: int, total: int) -> None:
            bar.update(task, description=step, completed=done, total=total)

        report = run_sample(
            accounts=accounts,
            transfers=transfers,
            segment_size=int(segment_size),
            threads=threads,
            out=Path(out),
            progress=progress,
        )
    if as_json:
        click.echo(json.dumps(report))
    else:
        table = Table(title="receipts", show_lines=False)
        for column in ("batch", "type", "tx_hash", "status", "code"):
            table.add_column(column)
        for r in report["receipts"]:
            table.add_row(str(r["batch"]), r["type"], r["tx_hash"], r["status"], r["code"] or "")
        out_console = Console()
        out_console.print(table)
        out_console.print(f"genesis root  {report['genesis_root']}")
        for b in report["batches"]:
            out_console.print(f"batch {b['number']} ({b['txs']} txs) root {b['root_after']}")
        out_console.print(
            f"{report['segments_proven']} segment proofs (k = {report['segment_size']}) folded into one "
            f"{report['aggregate_proof_bytes']}-byte proof in {report['proving_s']} s; verified, "
            f"statement matches the spec: {report['proof_matches_spec']}; "
            f"fees credited {report['fees_credited']}"
        )
        out_console.print(
            f"proof written to {report['proof_file']} (check it: zkpipe verify {report['proof_file']})"
        )
    if not report["proof_matches_spec"]:
        sys.exit(1)
