"""Helpers for node tests: funding accounts through real L1 deposits."""

from __future__ import annotations

from dataclasses import dataclass

from zkpipe.client import ZkClient
from zkpipe.native import keygen
from zkpipe.node.run import BackgroundNode
from zkpipe.spec import AccountIndex, Amount, Fee, Nonce, Transfer, sign_transfer

BALANCE = 1_000_000


@dataclass
class FundedNode:
    """A running node, a client and the keys of its funded accounts (index i+1 has keys[i])."""

    background: BackgroundNode
    client: ZkClient
    keys: list[tuple[bytes, bytes]]

    def transfer(
        self, sender: int, recipient: int, amount: int = 1, fee: int = 1, nonce: int | None = None
    ) -> Transfer:
        """A signed transfer with the sender's next nonce by default."""
        if nonce is None:
            account = self.client.get_account(sender)
            assert account is not None
            nonce = account.nonce
        secret = self.keys[sender - 1][0]
        return sign_transfer(
            secret, AccountIndex(sender), AccountIndex(recipient), Amount(amount), Fee(fee), Nonce(nonce)
        )


def fund(background: BackgroundNode, client: ZkClient, count: int, seed: int = 0) -> FundedNode:
    """Deposits BALANCE into accounts 1..count through the embedded L1 and waits until they exist."""
    keys = [keygen(bytes([seed, i + 1]) * 16) for i in range(count)]
    for i, (_, pk) in enumerate(keys):
        client.dev_deposit(i + 1, pk, BALANCE)
    for i in range(count):
        client.wait_for_account(i + 1, timeout=30)
    return FundedNode(background, client, keys)
