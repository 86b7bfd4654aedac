"""The JSON-RPC L1 client on a real anvil: sends, confirmations, dropped and lost transactions, re-orgs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from zkpipe.errors import L1Reorg, L1Reverted, L1Unavailable, Severity
from zkpipe.l1.anvil import Anvil, dev_key, free_port
from zkpipe.l1.chain import TxReceipt
from zkpipe.l1.jsonrpc import JsonRpcChain
from zkpipe.l1.rollup import BatchData, RollupContract
from zkpipe.l1.verifier import deploy_dev_verifier

from .conftest import GENESIS_ROOT, ROLLUP_CHAIN_ID, batch_data, filler

pytestmark = pytest.mark.timeout(120)

KEYS = [dev_key(i) for i in range(3)]


@pytest.fixture
def anvil(tmp_path: Path) -> Iterator[Anvil]:
    """A fresh anvil mining every 0.2 s (its dev accounts are funded)."""
    node = Anvil(tmp_path / "anvil", block_time=0.2).start()
    try:
        yield node
    finally:
        node.stop()


def _chain(anvil: Anvil, tmp_path: Path, **options: object) -> JsonRpcChain:
    return JsonRpcChain(anvil.url, KEYS, journal_path=tmp_path / "journal.db", **options)  # type: ignore[arg-type]


def _wait(chain: JsonRpcChain, tx_hash: bytes, timeout: float = 20.0) -> TxReceipt:
    deadline = time.monotonic() + timeout
    while (receipt := chain.receipt_by_hash(tx_hash)) is None:  # type: ignore[arg-type]
        assert time.monotonic() < deadline, "not mined"
        time.sleep(0.05)
    return receipt


def _deploy(chain: JsonRpcChain) -> RollupContract:
    deployer, sequencer, aggregator = chain.accounts
    return RollupContract.deploy(
        chain,
        deployer=deployer,
        sequencer=sequencer,
        verifier=deploy_dev_verifier(chain, deployer=deployer, aggregator=aggregator),
        genesis_state_root=GENESIS_ROOT,
        chain_id=ROLLUP_CHAIN_ID,
    )


def test_rollup_deploys_sequences_and_reports_events(anvil: Anvil, tmp_path: Path) -> None:
    chain = _chain(anvil, tmp_path)
    rollup = _deploy(chain)
    _, sequencer, _ = chain.accounts
    assert rollup.genesis_state_root() == GENESIS_ROOT
    ts = chain.latest_block().timestamp
    tx = rollup.sequence_batches(
        [batch_data(1, ts, txs=tuple(filler(1))), batch_data(2, ts)], sender=sequencer
    )
    receipt = rollup.wait(tx)
    assert rollup.last_batch_sequenced() == 2
    events = rollup.events(receipt.block_number, receipt.block_number)
    assert [e.batch_number for e in events] == [1, 2]  # type: ignore[union-attr]
    assert rollup.gas_records[-1].method == "sequenceBatches"
    assert 0 < receipt.gas_used < 300_000


def test_a_send_that_would_revert_is_refused_before_it_costs_gas(anvil: Anvil, tmp_path: Path) -> None:
    chain = _chain(anvil, tmp_path)
    rollup = _deploy(chain)
    deployer = chain.accounts[0]
    before = chain.balance_by_address(deployer)
    with pytest.raises(L1Reverted) as raised:
        rollup.sequence_batches([BatchData(b"\x01", 1, 0)], sender=deployer)  # not the sequencer
    assert raised.value.severity is Severity.REJECTED
    assert chain.balance_by_address(deployer) == before


def test_receipts_wait_for_the_confirmation_depth(anvil: Anvil, tmp_path: Path) -> None:
    chain = _chain(anvil, tmp_path, confirmations=3)
    anvil.set_automine(False)
    anvil.mine(5)
    sender = chain.accounts[0]
    tx = chain.send_transaction(sender=sender, to=chain.accounts[1], data=b"", value=1, gas=100_000)
    anvil.mine(1)
    head = int(anvil.request("eth_blockNumber"), 16)
    assert chain.receipt_by_hash(tx) is None
    assert chain.latest_block().number == head - 3
    anvil.mine(3)
    receipt = chain.receipt_by_hash(tx)
    assert receipt is not None and receipt.success and receipt.block_number == head


def test_a_dropped_transaction_is_broadcast_again_with_its_nonce(anvil: Anvil, tmp_path: Path) -> None:
    chain = _chain(anvil, tmp_path, confirmations=0)
    anvil.set_automine(False)
    sender, recipient = chain.accounts[0], chain.accounts[1]
    first = chain.send_transaction(sender=sender, to=recipient, data=b"", value=1, gas=100_000)
    anvil.drop_transaction(first)
    assert anvil.request("eth_getTransactionByHash", "0x" + first.hex()) is None
    second = chain.send_transaction(sender=sender, to=recipient, data=b"", value=2, gas=100_000)
    anvil.mine(1)
    a, b = _wait(chain, first), _wait(chain, second)
    txs = [chain.transaction_by_hash(first), chain.transaction_by_hash(second)]
    assert [t.nonce for t in txs if t is not None] == [0, 1]  # no gap, no reuse
    assert a.success and b.success and a.block_number == b.block_number


def test_the_journal_settles_in_flight_sends_after_a_restart(anvil: Anvil, tmp_path: Path) -> None:
    chain = _chain(anvil, tmp_path, confirmations=0)
    anvil.set_automine(False)
    sent = chain.send_transaction(
        sender=chain.accounts[0], to=chain.accounts[1], data=b"", value=5, gas=100_000
    )
    chain.close()  # the node is gone before its send was mined …
    anvil.drop_transaction(sent)  # … and the L1 lost it too
    anvil.set_automine(True)
    again = _chain(anvil, tmp_path, confirmations=0)  # start-up re-broadcasts and waits for inclusion
    assert again.in_flight() == []
    receipt = again.receipt_by_hash(sent)
    assert receipt is not None and receipt.success
    nxt = again.send_transaction(
        sender=again.accounts[0], to=again.accounts[1], data=b"", value=1, gas=100_000
    )
    assert again.transaction_by_hash(nxt).nonce == 1  # type: ignore[union-attr]


def test_an_anvil_restart_with_kept_state_is_ridden_out(anvil: Anvil, tmp_path: Path) -> None:
    chain = _chain(anvil, tmp_path, confirmations=0)
    rollup = _deploy(chain)
    before = chain.latest_block()
    restarter = threading.Thread(target=lambda: (anvil.stop(), time.sleep(1.0), anvil.start()))
    restarter.start()
    time.sleep(0.3)
    assert rollup.genesis_state_root() == GENESIS_ROOT  # retried through the outage
    restarter.join()
    assert chain.block_by_number(before.number) == before  # same chain, same hashes
    assert rollup.last_batch_sequenced() == 0


def test_an_unreachable_node_is_a_temporary_error_after_retries(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(L1Unavailable) as raised:
        JsonRpcChain(f"http://127.0.0.1:{free_port()}", KEYS, retry_for_s=0.5)
    assert raised.value.severity is Severity.TEMPORARY
    assert 0.4 < time.monotonic() - started < 10


def test_a_reorg_deeper_than_the_confirmations_is_a_reset(anvil: Anvil, tmp_path: Path) -> None:
    chain = _chain(anvil, tmp_path, confirmations=1)
    anvil.set_automine(False)
    snapshot = anvil.request("evm_snapshot")
    anvil.mine(4)
    seen = chain.latest_block()
    anvil.request("evm_revert", snapshot)
    chain.send_transaction(sender=chain.accounts[0], to=chain.accounts[1], data=b"", value=1, gas=100_000)
    anvil.mine(6)  # a longer chain whose blocks differ from those seen
    with pytest.raises(L1Reorg) as raised:
        chain.block_by_number(seen.number)
    assert raised.value.severity is Severity.RESET
