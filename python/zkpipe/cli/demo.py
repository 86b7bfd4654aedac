"""`zkpipe demo`: the README's main command."""

from __future__ import annotations

import json

import click

from zkpipe.cli import main


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--accounts", default=8, show_default=True, help="Accounts created by deposits.")
@click.option("--transfers", default=24, show_default=True, help="Signed transfers in the sample batch.")
@click.option("--segment-size", default=8, show_default=True, help="Transactions per segment (lazy fees).")
def demo(as_json: bool, accounts: int, transfers: int, segment_size: int) -> None:
    """Apply a sample batch through the state-transition spec and show roots and receipts.

    Until the node exists this runs the spec only: deposits create accounts,
    then signed transfers and withdrawals move funds, and every state root,
    receipt and commitment is printed.
    """
    from zkpipe.bench.sample import run_sample_batch

    report = run_sample_batch(accounts=accounts, transfers=transfers, segment_size=segment_size)
    if as_json:
        click.echo(json.dumps(report))
    else:
        from zkpipe.bench.sample import print_report

        print_report(report)
