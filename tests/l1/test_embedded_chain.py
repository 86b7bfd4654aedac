"""The embedded devnet: accounts, mempool and blocks, timed block production, receipts, logs, calls."""

from __future__ import annotations

import threading
import time

import pytest

from tests.l1.conftest import Devnet, FakeClock, make_batches
from zkpipe.errors import L1Error, L1Reverted
from zkpipe.l1.chain import TxHash, wait_for_receipt
from zkpipe.l1.embedded import DEFAULT_DEV_BALANCE, EmbeddedChain, dev_account
from zkpipe.l1.rollup import BatchData

NOBODY = dev_account(999)


def test_dev_accounts_are_deterministic_and_funded(chain: EmbeddedChain) -> None:
    assert chain.accounts == tuple(dev_account(i) for i in range(10))
    with EmbeddedChain(None) as again:
        assert again.accounts == chain.accounts
    assert all(chain.balance_by_address(a) == DEFAULT_DEV_BALANCE for a in chain.accounts)
    assert chain.balance_by_address(NOBODY) == 0


def test_sent_transaction_waits_in_the_mempool_until_the_next_block(chain: EmbeddedChain) -> None:
    tx = chain.send_transaction(sender=chain.accounts[0], to=NOBODY, data=b"", value=5, gas=21_000)
    assert chain.receipt_by_hash(tx) is None and chain.pending_count() == 1
    assert chain.balance_by_address(NOBODY) == 0
    block = chain.mine()
    receipt = chain.receipt_by_hash(tx)
    assert receipt is not None and receipt.success and receipt.block_number == block.number == 1
    assert block.tx_hashes == (tx,) and chain.pending_count() == 0
    assert chain.balance_by_address(NOBODY) == 5
    sent = chain.transaction_by_hash(tx)
    assert sent is not None and sent.to == NOBODY and sent.value == 5


def test_block_timestamps_follow_the_clock_and_always_increase(
    chain: EmbeddedChain, clock: FakeClock
) -> None:
    genesis = chain.latest_block()
    assert genesis.number == 0 and genesis.timestamp == int(clock.now)
    assert chain.mine().timestamp == genesis.timestamp + 1  # the clock stood still
    clock.now += 100
    third = chain.mine()
    assert third.timestamp == int(clock.now)
    assert chain.mine(timestamp=int(clock.now) + 50).timestamp == int(clock.now) + 50


def test_block_hashes_chain_to_their_parents(chain: EmbeddedChain) -> None:
    first = chain.mine()
    second = chain.mine()
    assert second.parent_hash == first.hash and first.hash != second.hash


def test_blocks_are_produced_every_block_time_and_include_pending_transactions() -> None:
    with EmbeddedChain(None, block_time=0.05) as chain:
        chain.start()
        tx = chain.send_transaction(sender=chain.accounts[0], to=NOBODY, data=b"", value=1, gas=21_000)
        receipt = wait_for_receipt(chain, tx, timeout=5.0, poll_interval=0.01)
        assert receipt.success
        start_number, started = chain.latest_block().number, time.monotonic()
        time.sleep(0.5)
        produced = chain.latest_block().number - start_number
        elapsed = time.monotonic() - started
        chain.stop()
        # Loose bounds: two shared cores can delay a tick, but the producer never runs ahead.
        assert 3 <= produced <= elapsed / 0.05 + 2
        stopped_at = chain.latest_block().number
        time.sleep(0.15)
        assert chain.latest_block().number == stopped_at


def test_block_gas_limit_defers_transactions_to_later_blocks() -> None:
    with EmbeddedChain(None, block_gas_limit=50_000) as chain:
        txs = [
            chain.send_transaction(sender=chain.accounts[0], to=NOBODY, data=b"", value=1, gas=21_000)
            for _ in range(3)
        ]
        assert len(chain.mine().tx_hashes) == 2
        assert chain.mine().tx_hashes == (txs[2],)
        with pytest.raises(L1Error):
            chain.send_transaction(sender=chain.accounts[0], to=NOBODY, data=b"", gas=50_001)


def test_receipts_record_gas_used_and_failure_reasons(devnet: Devnet) -> None:
    transfer = devnet.chain.send_transaction(sender=devnet.user, to=NOBODY, data=b"", value=1, gas=21_000)
    bad = devnet.rollup.sequence_batches([BatchData(b"x", 0, 0)], sender=devnet.user)
    devnet.chain.mine()
    ok, failed = devnet.chain.receipt_by_hash(transfer), devnet.chain.receipt_by_hash(bad)
    assert ok is not None and ok.gas_used == 21_000
    assert failed is not None and not failed.success and failed.revert_reason == "only sequencer"
    assert 21_000 < failed.gas_used < 100_000


def test_rollup_client_records_gas_of_every_transaction(devnet: Devnet) -> None:
    ts = devnet.chain.latest_block().timestamp
    txs = [
        devnet.rollup.deposit(1, b"\x01" * 40, 5, sender=devnet.user),
        devnet.rollup.sequence_batches(make_batches(devnet, (ts, 0)), sender=devnet.sequencer),
        devnet.verify(1, b"\x02" * 32, b"\x03" * 32, sender=devnet.user),  # reverts
    ]
    devnet.chain.mine()
    for tx in txs:
        devnet.rollup.receipt(tx)
        devnet.rollup.receipt(tx)  # seen twice, recorded once
    records = devnet.rollup.gas_records
    assert [r.method for r in records] == ["deploy", "deposit", "sequenceBatches", "verifyBatches"]
    assert [r.success for r in records] == [True, True, True, False]
    for record in records:
        receipt = devnet.chain.receipt_by_hash(record.tx_hash)
        assert receipt is not None and record.gas_used == receipt.gas_used > 21_000


def test_logs_by_range_filters_blocks_and_address(devnet: Devnet) -> None:
    first = devnet.mine_receipt(devnet.rollup.deposit(1, b"\x01" * 40, 5, sender=devnet.user))
    second = devnet.mine_receipt(devnet.rollup.deposit(2, b"\x02" * 40, 6, sender=devnet.user))
    both = devnet.chain.logs_by_range(0, second.block_number, address=devnet.rollup.address)
    assert [log.tx_hash for log in both] == [first.tx_hash, second.tx_hash]
    only_second = devnet.chain.logs_by_range(second.block_number, second.block_number + 10)
    assert [log.tx_hash for log in only_second] == [second.tx_hash]
    assert devnet.chain.logs_by_range(0, second.block_number, address=NOBODY) == []


def test_call_reads_without_changing_state(devnet: Devnet) -> None:
    fn = devnet.rollup.abi.function("sequenceBatches")
    (batch,) = make_batches(devnet, (devnet.chain.latest_block().timestamp, 0))
    data = fn.encode_call([[(len(batch.data), batch.timestamp, 0)], batch.data])
    assert devnet.chain.call(to=devnet.rollup.address, data=data, sender=devnet.sequencer) == b""
    assert devnet.rollup.last_batch_sequenced() == 0
    with pytest.raises(L1Reverted, match="only sequencer"):
        devnet.chain.call(to=devnet.rollup.address, data=data, sender=devnet.user)


def test_concurrent_senders_while_producing_blocks_lose_nothing() -> None:
    with EmbeddedChain(None, block_time=0.02) as chain:
        chain.start()
        hashes: list[TxHash] = []
        lock = threading.Lock()

        def send(sender_index: int) -> None:
            for _ in range(20):
                tx = chain.send_transaction(
                    sender=chain.accounts[sender_index], to=NOBODY, data=b"", value=1, gas=21_000
                )
                with lock:
                    hashes.append(tx)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for tx in hashes:
            assert wait_for_receipt(chain, tx, timeout=5.0, poll_interval=0.01).success
        assert len(set(hashes)) == 80
        assert chain.balance_by_address(NOBODY) == 80


def test_invalid_send_after_close(clock: FakeClock) -> None:
    chain = EmbeddedChain(None, clock=clock)
    chain.close()
    with pytest.raises(L1Error):
        chain.send_transaction(sender=chain.accounts[0], to=NOBODY, data=b"")
