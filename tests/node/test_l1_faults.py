"""L1 faults on anvil: anvil restarted mid-run, a send dropped from its mempool, the node killed (kill -9)
before its send is mined — nothing posted twice, nothing lost, the node carries on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.node.conftest import anvil_overrides, node_config
from tests.node.helpers import FundedNode, fund
from tests.node.test_crash import NodeProcess, _check_l1_exactly_once, _free_port
from zkpipe.client import ZkClient
from zkpipe.l1.anvil import Anvil
from zkpipe.native import keygen
from zkpipe.node.run import BackgroundNode
from zkpipe.spec import AccountIndex, Amount, Fee, Nonce, sign_transfer
from zkpipe.wire import Batch

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture
def anvil(tmp_path: Path) -> Iterator[Anvil]:
    with Anvil(tmp_path / "anvil", block_time=0.3) as node:
        yield node


@pytest.fixture
def funded(anvil: Anvil, tmp_path: Path) -> Iterator[FundedNode]:
    """A node on anvil with two funded accounts."""
    background = BackgroundNode(node_config(tmp_path / "node", **anvil_overrides(anvil))).start()
    client = ZkClient(background.url)
    try:
        yield fund(background, client, 2)
    finally:
        client.close()
        background.stop()


def _send(node: FundedNode, count: int) -> list[str]:
    return [node.client.send_transaction(node.transfer(1, 2)).hash for _ in range(count)]


def _wait_sending(client: ZkClient, timeout: float = 20.0) -> Batch:
    """The newest batch once it is posted but not yet on L1."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        number = client.chain_info().trusted_batch
        batch = client.get_batch(number) if number else None
        if batch is not None and batch.l1_status == "sending" and batch.l1_tx_hash:
            return batch
        time.sleep(0.02)
    raise AssertionError("no batch was posted")


def _wait_l1_caught_up(client: ZkClient, timeout: float = 30.0) -> None:
    """Waits until every batch so far is on L1, so turning mining off strands only the test's own send
    (a send still in flight from funding would hold every later one back: its gas estimate cannot see it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = client.chain_info()
        if info.virtual_batch == info.trusted_batch:
            return
        time.sleep(0.05)
    raise AssertionError("the node's batches did not reach L1")


def _wait_all_virtual(client: ZkClient, hashes: list[str], timeout: float = 60.0) -> None:
    for tx_hash in hashes:
        client.wait_for_status(tx_hash, "virtual", timeout=timeout)
    info = client.chain_info()
    assert info.virtual_batch == info.trusted_batch


def test_anvil_restarted_mid_run_keeps_its_state_and_the_node_carries_on(
    funded: FundedNode, anvil: Anvil, tmp_path: Path
) -> None:
    before = _send(funded, 5)
    anvil.stop()  # graceful: anvil writes its state; the node keeps sequencing meanwhile
    during = _send(funded, 5)
    time.sleep(1.0)
    # zk_chainInfo answers at once from the node's last L1 view, marked degraded once it is overdue.
    deadline = time.monotonic() + 10
    while True:
        asked = time.monotonic()
        info = funded.client.chain_info()
        assert time.monotonic() - asked < 1.0
        if info.l1_degraded:
            break
        assert time.monotonic() < deadline, "the L1 view was never marked degraded"
        time.sleep(0.1)
    assert info.l1_view_age_s > 1.0
    asked = time.monotonic()
    kpi = funded.client.call("zk_kpi")  # nor does zk_kpi wait on L1: block intervals come from the view
    assert time.monotonic() - asked < 1.0
    assert kpi["block_time"] is not None  # the view had recent blocks to measure
    receipt = funded.client.get_transaction_receipt(during[-1])
    assert receipt is not None
    assert funded.client.get_batch(receipt.batch) is not None  # its batch closed while L1 was away
    anvil.start()
    after = _send(funded, 5)
    _wait_all_virtual(funded.client, before + during + after)
    assert funded.background.node is not None and not funded.background.node.failures()
    assert _check_l1_exactly_once(tmp_path / "node", anvil) == funded.client.chain_info().trusted_batch
    assert not funded.client.chain_info().l1_degraded


def test_a_send_dropped_from_the_mempool_is_sent_again_once(
    funded: FundedNode, anvil: Anvil, tmp_path: Path
) -> None:
    _wait_l1_caught_up(funded.client)
    anvil.set_automine(False)
    sent = _send(funded, 3)
    batch = _wait_sending(funded.client)
    anvil.drop_transaction(bytes.fromhex(str(batch.l1_tx_hash)[2:]))
    assert anvil.request("eth_getTransactionByHash", batch.l1_tx_hash) is None
    anvil.set_automine(True)
    _wait_all_virtual(funded.client, sent)
    assert (funded.client.get_batch(batch.number) or batch).l1_tx_hash == batch.l1_tx_hash
    assert _check_l1_exactly_once(tmp_path / "node", anvil) == funded.client.chain_info().trusted_batch


def test_node_killed_before_its_send_is_mined_and_the_send_dropped(anvil: Anvil, tmp_path: Path) -> None:
    data_dir, port = tmp_path / "node", _free_port()
    node = NodeProcess(data_dir, port, ["--l1-rpc", anvil.url])
    try:
        secret, pk = keygen(bytes([3]) * 32)
        node.client.dev_deposit(1, pk, 1000)
        node.client.dev_deposit(2, pk, 1000)
        node.client.wait_for_account(2, timeout=30)
        _wait_l1_caught_up(node.client)
        anvil.set_automine(False)
        sent = node.client.send_transaction(
            sign_transfer(secret, AccountIndex(1), AccountIndex(2), Amount(5), Fee(1), Nonce(0))
        )
        batch = _wait_sending(node.client)
        node.kill()  # after the send, before its inclusion …
        anvil.drop_transaction(bytes.fromhex(str(batch.l1_tx_hash)[2:]))  # … and the L1 lost it too
        anvil.set_automine(True)
        node = NodeProcess(data_dir, port, ["--l1-rpc", anvil.url])
        node.client.wait_for_status(sent.hash, "virtual", timeout=30)
        more = node.client.send_transaction(
            sign_transfer(secret, AccountIndex(1), AccountIndex(2), Amount(5), Fee(1), Nonce(1))
        )
        node.client.wait_for_status(more.hash, "virtual", timeout=30)
        assert _check_l1_exactly_once(data_dir, anvil) == node.client.chain_info().trusted_batch
        node.terminate()
    finally:
        if node.proc.poll() is None:
            node.kill()
