"""The L1 side: batches closed within one block go out in one sequenceBatches call, gas is recorded,
deposits arrive in queue order, and a verification on L1 makes receipts consolidated."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.node.conftest import node_config
from tests.node.helpers import FundedNode, fund
from zkpipe.client import ZkClient
from zkpipe.l1.rollup import BatchData
from zkpipe.l1.verifier import DEV_PROOF
from zkpipe.node.run import BackgroundNode
from zkpipe.node.store import Store


@pytest.fixture(scope="module")
def slow_blocks(
    tmp_path_factory: pytest.TempPathFactory, private_compile_cache: None
) -> Iterator[FundedNode]:
    """A node with 1 s blocks and batches closing every 50 ms."""
    background = BackgroundNode(
        node_config(tmp_path_factory.mktemp("l1node"), **{"l1.block_time": 1.0, "batch.timeout_s": 0.05})
    )
    background.start()
    client = ZkClient(background.url)
    try:
        yield fund(background, client, 3, seed=5)
    finally:
        client.close()
        background.stop()


def _store(funded: FundedNode) -> Store:
    node = funded.background.node
    assert node is not None
    return Store(Path(node.config.data_dir) / "node.db")


@pytest.mark.slow
def test_batches_closed_within_a_block_share_one_l1_transaction(slow_blocks: FundedNode) -> None:
    client = slow_blocks.client
    hashes = []
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        hashes.append(client.send_transaction(slow_blocks.transfer(1, 2)).hash)
        time.sleep(0.02)
    last = client.wait_for_status(hashes[-1], "virtual", timeout=20)
    store = _store(slow_blocks)
    try:
        sends = store.sends_by_status("mined")
        batches = {client.get_transaction_receipt(h).batch for h in hashes}  # type: ignore[union-attr]
        assert len(batches) >= 4  # many batches closed...
        assert any(last_b > first for _, first, last_b in sends)  # ...and some calls carried several
        assert len(sends) < len(batches) + 4
        for n in batches:
            assert store.count_sends_covering(n) == 1
        row = store.batch_by_number(last.batch)
        assert row is not None and row.l1_gas is not None and row.l1_gas > 0
    finally:
        store.close()


def test_deposits_are_applied_in_queue_order(slow_blocks: FundedNode) -> None:
    store = _store(slow_blocks)
    try:
        deposits = store.deposits_from(0)
        assert [d.queue_index for d, _ in deposits] == list(range(len(deposits)))
        assert [d.recipient for d, _ in deposits[:3]] == [1, 2, 3]
    finally:
        store.close()
    assert slow_blocks.client.chain_info().next_deposit_index == str(len(deposits))


@pytest.mark.slow
def test_verification_on_l1_makes_receipts_consolidated(slow_blocks: FundedNode) -> None:
    client = slow_blocks.client
    sent = client.send_transaction(slow_blocks.transfer(2, 3))
    client.wait_for_status(sent.hash, "virtual", timeout=20)
    node = slow_blocks.background.node
    assert node is not None
    # The aggregator verifies on L1 through the dev verifier (which checks no proof).
    stored = node.reader.batch_by_number(sent.batch)
    assert stored is not None
    final = BatchData(stored.data, stored.timestamp, stored.deposit_end)
    chains, aggregator = [bytes(32)] * 3, node.roles.aggregator
    node.rollup.verify_batches(
        sent.batch, final, bytes(32), chains, 0, bytes(32), DEV_PROOF, sender=aggregator
    )
    receipt = client.wait_for_status(sent.hash, "consolidated", timeout=20)
    assert receipt.timestamps.consolidated is not None
    assert client.chain_info().consolidated_batch >= sent.batch
    assert b"zkpipe_delay_consolidated_seconds_count" in node.metrics_text()


def test_adaptive_policy_gets_downstream_feedback(tmp_path: Path) -> None:
    from zkpipe.sequencer.policy import AdaptivePolicy, AnyOf

    background = BackgroundNode(
        node_config(tmp_path / "adaptive", **{"batch.policy": "adaptive", "batch.timeout_s": 0.1})
    )
    background.start()
    client = ZkClient(background.url)
    try:
        funded = fund(background, client, 2, seed=9)
        hashes = [client.send_transaction(funded.transfer(1, 2, nonce=n)).hash for n in range(20)]
        client.wait_for_status(hashes[-1], "virtual", timeout=20)
        node = background.node
        assert node is not None
        policy = node.sequencer.policy
        assert isinstance(policy, AnyOf) and isinstance(policy.policies[0], AdaptivePolicy)
        assert policy.policies[0].latency_ewma is not None
    finally:
        client.close()
        background.stop()
