"""The whole pipeline in one node: trusted → virtual → proven → consolidated, and a claim on L1."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest

from tests.node.conftest import L1_KINDS, anvil_overrides, proving_node_config
from tests.node.helpers import FundedNode, fund
from tests.node.test_proving_crash import _zkpipe as zkpipe_cli
from zkpipe.client import ZkClient
from zkpipe.errors import L1Reverted
from zkpipe.execution import digest_bytes
from zkpipe.l1 import wait_for_receipt
from zkpipe.l1.anvil import Anvil, dev_key
from zkpipe.l1.chain import to_address
from zkpipe.l1.withdrawals import withdrawal_proof_from_json
from zkpipe.node.run import BackgroundNode
from zkpipe.spec import (
    AccountIndex,
    Amount,
    Fee,
    L1Address,
    Nonce,
    PublicKey,
    apply_batch,
    decode_batch,
    initial_state,
    sign_withdraw,
)

RECIPIENT = bytes.fromhex("c0" * 20)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=L1_KINDS)
def proving_node(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, private_compile_cache: None
) -> Iterator[FundedNode]:
    """A proving node with four funded accounts, on the embedded L1 or on anvil over JSON-RPC."""
    with contextlib.ExitStack() as stack:
        overrides: dict[str, object] = {}
        if request.param == "anvil":
            anvil = stack.enter_context(Anvil(tmp_path_factory.mktemp("anvil"), block_time=0.5))
            overrides = anvil_overrides(anvil)
        config = proving_node_config(tmp_path_factory.mktemp("proving-node"), **overrides)
        background = BackgroundNode(config)
        background.start()
        stack.callback(background.stop)
        client = ZkClient(background.url)
        stack.callback(client.close)
        yield fund(background, client, 4)


def wait_consolidated(client: ZkClient, tx_hashes: list[str], timeout: float = 180.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        statuses = [r.status if (r := client.get_transaction_receipt(h)) else None for h in tx_hashes]
        if all(s == "consolidated" for s in statuses):
            return
        time.sleep(0.5)
    raise AssertionError(f"not consolidated in {timeout} s: {statuses}")


def test_transactions_are_consolidated_and_a_withdrawal_is_claimable(proving_node: FundedNode) -> None:
    node, client = proving_node, proving_node.client
    sent = [client.send_transaction(node.transfer(1 + i % 3, 4, amount=5)).hash for i in range(10)]
    account = client.get_account(2)
    assert account is not None
    withdraw = sign_withdraw(
        node.keys[1][0], AccountIndex(2), L1Address(RECIPIENT), Amount(7), Fee(1), Nonce(account.nonce)
    )
    receipt = client.send_transaction(withdraw)
    sent.append(receipt.hash)
    wait_consolidated(client, sent)

    running = node.background.node
    assert running is not None and running.proving is not None
    # Nothing was lost and L1's consolidated root is the spec's, replayed independently from the data.
    chain, rollup = running.chain, running.rollup
    final = rollup.last_verified_batch()
    state = initial_state(PublicKey(bytes.fromhex(running.store.meta("fee_public_key") or "")))
    for number in range(1, final + 1):
        stored = running.store.batch_by_number(number)
        assert stored is not None
        state = apply_batch(state, decode_batch(stored.data), 8).state
    assert digest_bytes(state.tree.root) == rollup.consolidated_state_root()
    assert running.proving.record.verify_gas and all(g > 0 for g in running.proving.record.verify_gas)

    # The withdrawal is paid on L1 against the consolidated withdrawals root, once.
    found = client.get_withdrawal_proof(receipt.hash)
    assert found is not None and found.claimed is False
    proof = withdrawal_proof_from_json(found.model_dump())
    claimant = chain.accounts[5]
    before = chain.balance_by_address(to_address(RECIPIENT))
    if running.config.l1.kind == "rpc":
        # `zkpipe withdraw claim --l1-rpc`: the user's own key, straight to the JSON-RPC L1 (anvil).
        claim = (
            *("withdraw", "claim", "--rpc", node.background.url, "--tx", receipt.hash),
            *("--l1-rpc", running.config.l1.rpc_url, "--l1-key", dev_key(5).hex()),
        )
        first = zkpipe_cli(*claim)
        assert first.returncode == 0, first.stderr
        second = zkpipe_cli(*claim)
        assert second.returncode != 0 and "L1_REVERTED" in second.stderr
    else:
        tx = rollup.claim_withdrawal(proof, sender=claimant)
        assert wait_for_receipt(chain, tx, timeout=30).success
        with pytest.raises(L1Reverted):
            rollup.wait(rollup.claim_withdrawal(proof, sender=claimant))
    assert chain.balance_by_address(to_address(RECIPIENT)) - before == 7 * 10**9
    again = client.get_withdrawal_proof(receipt.hash)
    assert again is not None and again.claimed is True
    assert client.get_withdrawal_proof(sent[0]) is None  # a transfer makes no payout


def test_kpi_timestamps_cover_every_state(proving_node: FundedNode) -> None:
    running = proving_node.background.node
    assert running is not None and running.proving is not None
    times = [b for b in running.proving.batch_times() if b.consolidated is not None]
    assert times
    for b in times:
        marks = [b.closed, b.virtual, b.proving_started, b.proven, b.aggregated, b.consolidated]
        present = [m for m in marks if m is not None]
        assert len(present) == len(marks)
        assert sorted(present) == present


def test_kpis_are_in_the_rpc_and_in_metrics(proving_node: FundedNode) -> None:
    running = proving_node.background.node
    assert running is not None
    kpis = proving_node.client.call("zk_kpi")
    assert kpis["transactions"] > 0 and kpis["throughput"] > 0
    assert kpis["delay_consolidated"]["p50"] >= kpis["delay_virtual"]["p50"] >= kpis["delay_trusted"]["p50"]
    assert kpis["l1_gas_per_aggregated_proof"] > 0
    text = running.metrics_text().decode()
    assert 'zkpipe_kpi{name="throughput"}' in text
    assert 'zkpipe_kpi{name="delay_consolidated_p99"}' in text
    assert "zkpipe_prover_busy_seconds" in text
