"""`zkpipe tx`: show a transaction's receipt."""

from __future__ import annotations

import json

import click

from zkpipe.cli import main
from zkpipe.client import DEFAULT_URL, ZkClient
from zkpipe.errors import ZkpipeError


@main.command("tx")
@click.argument("tx_hash")
@click.option("--rpc", default=DEFAULT_URL, show_default=True, help="Node JSON-RPC URL.")
@click.option("--wait", type=click.Choice(["trusted", "virtual", "consolidated"]),
              help="Wait until the transaction reaches this state.")  # fmt: skip
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait with --wait.")
def tx(tx_hash: str, rpc: str, wait: str | None, timeout: float) -> None:
    """Print the receipt of TX_HASH (status, reason, batch, per-state timestamps) as JSON."""
    try:
        with ZkClient(rpc) as client:
            if wait is not None:
                client.wait_for_status(tx_hash, wait, timeout=timeout)
            result = client.call("zk_getTransactionReceipt", tx_hash)
    except TimeoutError as err:
        raise click.ClickException(str(err)) from None
    except ZkpipeError as err:
        raise click.ClickException(f"{err.code}: {err.message}") from None
    click.echo(json.dumps(result))
