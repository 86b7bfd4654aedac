"""A deployment's chain id comes from the node's config: the rollup contract, signing and restarts use it,
and a transaction signed for another deployment is refused (typed, when the sender names its chain)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.node.conftest import node_config
from tests.node.helpers import fund
from zkpipe.client import RpcCallError, ZkClient
from zkpipe.node.run import BackgroundNode
from zkpipe.spec import CHAIN_ID, AccountIndex, Amount, ChainId, Fee, Nonce, Transfer, sign_transfer

CHAIN = ChainId(0x1234)


def _transfer(secret: bytes, nonce: int, chain_id: ChainId) -> Transfer:
    return sign_transfer(
        secret, AccountIndex(1), AccountIndex(2), Amount(1), Fee(1), Nonce(nonce), chain_id=chain_id
    )


def _refusal(client: ZkClient, tx: Transfer, chain_id: int | None) -> str:
    with pytest.raises(RpcCallError) as info:
        client.send_transaction(tx, chain_id=chain_id)
    assert info.value.rpc_code == -32001
    return info.value.code


def test_chain_id_from_config_through_contract_signing_and_restart(tmp_path: Path) -> None:
    config = node_config(tmp_path / "node", chain_id=CHAIN)
    background = BackgroundNode(config)
    background.start()
    client = ZkClient(background.url)
    try:
        funded = fund(background, client, 2)
        secret = funded.keys[0][0]
        assert client.chain_info().chain_id == CHAIN
        assert background.node is not None and background.node.rollup.chain_id() == CHAIN
        assert client.send_transaction(_transfer(secret, 0, CHAIN), chain_id=CHAIN).status == "trusted"
        # Signed for the default deployment: refused with the reason when the sender names its
        # chain, and as a bad signature when it does not (the digest is this chain's).
        elsewhere = _transfer(secret, 1, CHAIN_ID)
        assert _refusal(client, elsewhere, CHAIN_ID) == "WRONG_CHAIN_ID"
        assert _refusal(client, elsewhere, None) == "BAD_SIGNATURE"
    finally:
        client.close()
        background.stop()
    # After a restart the recovered state still signs and verifies for this chain.
    background = BackgroundNode(config)
    background.start()
    client = ZkClient(background.url)
    try:
        assert client.send_transaction(_transfer(secret, 1, CHAIN)).status == "trusted"
    finally:
        client.close()
        background.stop()
