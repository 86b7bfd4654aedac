"""`zkpipe withdraw`: fetch a withdrawal's claim proof and claim it on L1."""

from __future__ import annotations

import json

import click

from zkpipe.cli import main
from zkpipe.client import DEFAULT_URL, ZkClient
from zkpipe.errors import ZkpipeError

RPC_OPTION = click.option("--rpc", default=DEFAULT_URL, show_default=True, help="Node JSON-RPC URL.")
TX_OPTION = click.option(
    "--tx", "tx_hash", required=True, help="Hash of the L2 withdrawal (or refunded deposit)."
)


@main.group()
def withdraw() -> None:
    """Withdrawals to L1: their claim proofs, and claiming them."""


@withdraw.command("proof")
@RPC_OPTION
@TX_OPTION
def withdraw_proof(rpc: str, tx_hash: str) -> None:
    """Print the claim proof of a withdrawal as JSON (null until L1 verified its batch)."""
    try:
        with ZkClient(rpc) as client:
            found = client.get_withdrawal_proof(tx_hash)
            click.echo(json.dumps(None if found is None else found.model_dump(mode="json")))
    except ZkpipeError as err:
        raise click.ClickException(f"{err.code}: {err.message}") from None


@withdraw.command("claim")
@RPC_OPTION
@TX_OPTION
@click.option("--l1-rpc", default=None, help="JSON-RPC URL of the L1 (default: the node's embedded devnet).")
@click.option("--l1-key", default=None, help="Hex secret key of the L1 account that sends the claim.")
def withdraw_claim(rpc: str, tx_hash: str, l1_rpc: str | None, l1_key: str | None) -> None:
    """Claim a withdrawal on L1: the recipient is paid, once; a second claim is refused.

    With --l1-rpc the claim is signed with --l1-key and sent to that L1 node; without it the node
    sends it on its embedded devnet (a dev method, as `zk_devDeposit`).
    """
    try:
        with ZkClient(rpc) as client:
            if l1_rpc is None:
                sent = client.dev_claim_withdrawal(tx_hash)
            else:
                sent = _claim_on(l1_rpc, l1_key, client, tx_hash)
    except ZkpipeError as err:
        raise click.ClickException(f"claim failed: {err.code}: {err.message}") from None
    click.echo(json.dumps({"tx_hash": tx_hash, "l1_tx_hash": sent}))


def _claim_on(l1_rpc: str, l1_key: str | None, client: ZkClient, tx_hash: str) -> str:
    """Sends claimWithdrawal to a JSON-RPC L1 and waits for it; returns the L1 transaction hash."""
    from zkpipe.errors import InvalidInput
    from zkpipe.extras import require
    from zkpipe.l1 import RollupContract, require_success, to_address, wait_for_receipt

    require("web3", needed_for="zkpipe withdraw claim --l1-rpc")
    from zkpipe.l1.jsonrpc import JsonRpcChain
    from zkpipe.l1.withdrawals import withdrawal_proof_from_json

    if l1_key is None:
        raise click.UsageError("--l1-rpc needs --l1-key")
    found = client.get_withdrawal_proof(tx_hash)
    if found is None:
        raise InvalidInput("no verified withdrawal for that transaction (yet)")
    key = bytes.fromhex(l1_key.removeprefix("0x"))
    chain = JsonRpcChain(l1_rpc, [key])
    rollup = RollupContract(chain, to_address(client.chain_info().rollup_address))
    sent = rollup.claim_withdrawal(
        withdrawal_proof_from_json(found.model_dump()), sender=JsonRpcChain.address_of(key)
    )
    require_success(wait_for_receipt(chain, sent, timeout=120.0))
    return "0x" + sent.hex()
