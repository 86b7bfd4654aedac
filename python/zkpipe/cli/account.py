"""`zkpipe account`: show an L2 account."""

from __future__ import annotations

import json

import click

from zkpipe.cli import main
from zkpipe.client import DEFAULT_URL, ZkClient
from zkpipe.errors import ZkpipeError


@main.command("account")
@click.argument("index", type=int)
@click.option("--rpc", default=DEFAULT_URL, show_default=True, help="Node JSON-RPC URL.")
def account(index: int, rpc: str) -> None:
    """Print the trusted state of account INDEX as JSON (null if the slot is empty)."""
    try:
        with ZkClient(rpc) as client:
            result = client.call("zk_getAccount", index)
    except ZkpipeError as err:
        raise click.ClickException(f"{err.code}: {err.message}") from None
    click.echo(json.dumps(result))
