"""`zkpipe send`: sign and send transfers and withdrawals; devnet deposits."""

from __future__ import annotations

import json
from pathlib import Path

import click

from zkpipe.cli import main
from zkpipe.cli.keys import load_secret
from zkpipe.client import DEFAULT_URL, ZkClient
from zkpipe.errors import ZkpipeError

RPC_OPTION = click.option("--rpc", default=DEFAULT_URL, show_default=True, help="Node JSON-RPC URL.")
CHAIN_OPTION = click.option("--chain-id", type=int, help="Chain id to sign for (default: the node's).")
KEY_OPTION = click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                          required=True, help="Key file from `zkpipe keys new`.")  # fmt: skip


def _nonce(client: ZkClient, sender: int, nonce: int | None) -> int:
    if nonce is not None:
        return nonce
    account = client.get_account(sender)
    if account is None:
        raise click.ClickException(f"account {sender} does not exist")
    return int(account.nonce)


def _chain_id(client: ZkClient, chain_id: int | None) -> int:
    return chain_id if chain_id is not None else client.chain_info().chain_id


def _run(action: str, fn: object) -> None:
    try:
        result = fn()  # type: ignore[operator]
    except ZkpipeError as err:
        raise click.ClickException(f"{action} failed: {err.code}: {err.message}") from None
    click.echo(json.dumps(result))


@main.group()
def send() -> None:
    """Sign and send transactions to a node (each prints the node's answer as JSON)."""


@send.command("transfer")
@RPC_OPTION
@KEY_OPTION
@CHAIN_OPTION
@click.option("--from", "sender", type=int, required=True, help="Sender account index.")
@click.option("--to", "recipient", type=int, required=True, help="Recipient account index.")
@click.option("--amount", type=int, required=True, help="Amount (gwei units).")
@click.option("--fee", type=int, default=1, show_default=True, help="Fee paid to the operator.")
@click.option("--nonce", type=int, help="Nonce (default: the account's next nonce).")
@click.option("--wait", type=click.Choice(["trusted", "virtual", "consolidated"]), default="trusted",
              show_default=True, help="Return once the transaction reaches this state.")  # fmt: skip
def send_transfer(
    rpc: str,
    key_file: Path,
    chain_id: int | None,
    sender: int,
    recipient: int,
    amount: int,
    fee: int,
    nonce: int | None,
    wait: str,
) -> None:
    """Transfer AMOUNT from account --from to account --to."""
    from zkpipe.spec import AccountIndex, Amount, ChainId, Fee, Nonce, sign_transfer

    secret = load_secret(key_file)
    with ZkClient(rpc) as client:

        def go() -> dict[str, object]:
            n, chain = _nonce(client, sender, nonce), _chain_id(client, chain_id)
            tx = sign_transfer(
                secret, AccountIndex(sender), AccountIndex(recipient), Amount(amount), Fee(fee), Nonce(n),
                chain_id=ChainId(chain),
            )  # fmt: skip
            sent = client.send_transaction(tx, chain_id=chain)
            if wait != "trusted":
                client.wait_for_status(sent.hash, wait)
            return {"hash": sent.hash, "status": wait, "seq": sent.seq, "batch": sent.batch}

        _run("transfer", go)


@send.command("withdraw")
@RPC_OPTION
@KEY_OPTION
@CHAIN_OPTION
@click.option("--from", "sender", type=int, required=True, help="Sender account index.")
@click.option("--l1-address", required=True, help="L1 address (0x + 40 hex digits) that may claim on L1.")
@click.option("--amount", type=int, required=True, help="Amount (gwei).")
@click.option("--fee", type=int, default=1, show_default=True, help="Fee paid to the operator.")
@click.option("--nonce", type=int, help="Nonce (default: the account's next nonce).")
def send_withdraw(
    rpc: str,
    key_file: Path,
    chain_id: int | None,
    sender: int,
    l1_address: str,
    amount: int,
    fee: int,
    nonce: int | None,
) -> None:
    """Withdraw AMOUNT from account --from to an L1 address."""
    from zkpipe.spec import AccountIndex, Amount, ChainId, Fee, L1Address, Nonce, sign_withdraw

    try:
        address = bytes.fromhex(l1_address.removeprefix("0x"))
    except ValueError:
        raise click.BadParameter("not hex", param_hint="--l1-address") from None
    if len(address) != 20:
        raise click.BadParameter("must be 20 bytes", param_hint="--l1-address")
    secret = load_secret(key_file)
    with ZkClient(rpc) as client:

        def go() -> dict[str, object]:
            n, chain = _nonce(client, sender, nonce), _chain_id(client, chain_id)
            tx = sign_withdraw(
                secret, AccountIndex(sender), L1Address(address), Amount(amount), Fee(fee), Nonce(n),
                chain_id=ChainId(chain),
            )  # fmt: skip
            sent = client.send_transaction(tx, chain_id=chain)
            return {"hash": sent.hash, "status": sent.status, "seq": sent.seq, "batch": sent.batch}

        _run("withdraw", go)


@send.command("deposit")
@RPC_OPTION
@KEY_OPTION
@click.option("--to", "recipient", type=int, required=True, help="L2 account index to credit (or create).")
@click.option("--amount", type=int, required=True, help="Amount (gwei).")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until the account is credited.")
def send_deposit(rpc: str, key_file: Path, recipient: int, amount: int, wait: bool) -> None:
    """Deposit on the embedded devnet L1 (from its dev account) to L2 account --to, keyed by --key."""
    from zkpipe.native import public_key

    pk = public_key(load_secret(key_file))
    with ZkClient(rpc) as client:

        def go() -> dict[str, object]:
            before = client.get_account(recipient)
            l1_tx = client.dev_deposit(recipient, pk, amount)
            out: dict[str, object] = {"l1_tx_hash": l1_tx}
            if wait:
                import time

                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    account = client.get_account(recipient)
                    if account is not None and (before is None or account.balance != before.balance):
                        out["balance"] = str(account.balance)
                        break
                    time.sleep(0.2)
            return out

        _run("deposit", go)
