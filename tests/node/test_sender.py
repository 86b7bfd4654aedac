"""The sequence sender never posts a batch twice: not after a crash that lost its send record, and a
send the L1 forgot (the embedded mempool dies with the process) is posted again exactly once."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sequencer.helpers import FEE_PK, KEYS, deposits
from zkpipe.execution import SequentialExecutor, digest_bytes
from zkpipe.kpi import NodeMetrics
from zkpipe.l1 import EmbeddedChain, RollupContract
from zkpipe.l1.hashes import compute_acc_input_hash
from zkpipe.l1.rollup import BatchData
from zkpipe.l1.sender import SequenceSender
from zkpipe.l1.syncer import L1Syncer
from zkpipe.node.store import Store
from zkpipe.spec import (
    CHAIN_ID,
    AccountIndex,
    Amount,
    Fee,
    L1Address,
    Nonce,
    Timestamp,
    initial_state,
    sign_transfer,
)

DEPTH = 8


@pytest.fixture
def setup(
    tmp_path: Path, private_compile_cache: None
) -> Iterator[tuple[EmbeddedChain, RollupContract, Store, SequenceSender, L1Syncer]]:
    chain = EmbeddedChain(None, block_time=1.0)
    deployer, sequencer, aggregator = chain.accounts[:3]
    genesis = initial_state(FEE_PK, DEPTH)
    tx = RollupContract.send_deploy(
        chain, deployer=deployer, sequencer=sequencer, aggregator=aggregator,
        genesis_state_root=digest_bytes(genesis.tree.root), chain_id=CHAIN_ID,
    )  # fmt: skip
    chain.mine()
    receipt = chain.receipt_by_hash(tx)
    assert receipt is not None
    rollup = RollupContract.from_deployment(chain, receipt)
    for i, (_, pk) in enumerate(KEYS):  # the L1 queue entries the first batch consumes
        rollup.deposit(i + 1, pk, 1000, sender=chain.accounts[3])
    chain.mine()
    store = Store(tmp_path / "node.db", synchronous="NORMAL")
    # Two closed batches, stored as the sequencer would.
    executor = SequentialExecutor(genesis)
    l1_acc = bytes(32)
    seq = 0
    ts = chain.latest_block().timestamp
    for number in (1, 2):
        rows = []
        if number == 1:
            depositor = L1Address(bytes.fromhex(chain.accounts[3].removeprefix("0x")))
            for deposit, _ in deposits():
                seq += 1  # exactly the entry L1 queued (L1 checks every posted deposit against its queue)
                rows.append((seq, executor.execute(dataclasses.replace(deposit, l1_sender=depositor)), 0.0))
        secret = KEYS[0][0]
        transfer = sign_transfer(
            secret, AccountIndex(1), AccountIndex(2), Amount(1), Fee(1), Nonce(number - 1)
        )
        seq += 1
        rows.append((seq, executor.execute(transfer), 0.0))
        closed = executor.close_batch(Timestamp(ts))
        h = closed.batch.header
        l1_acc = compute_acc_input_hash(l1_acc, closed.encoding, h.timestamp, h.deposit_end)
        store.commit_group(rows, [(closed, l1_acc, 0.0)], 0.0)
    metrics = NodeMetrics()
    sender = SequenceSender(
        chain, rollup, store, metrics, sender=sequencer, block_time=1.0, send_margin_s=0.1
    )
    yield chain, rollup, store, sender, L1Syncer(chain, rollup, store, metrics)
    store.close()
    chain.close()


def _data(store: Store, number: int) -> BatchData:
    b = store.batch_by_number(number)
    assert b is not None
    return BatchData(b.data, b.timestamp, b.deposit_end)


def test_batch_on_l1_without_a_send_record_is_not_posted_again(setup) -> None:  # type: ignore[no-untyped-def]
    chain, rollup, store, sender, syncer = setup
    # A crash right after submitting batch 1, before its send was recorded; the block got mined.
    rollup.sequence_batches([_data(store, 1)], sender=sender.sequencer_address)
    chain.mine()
    sender.reconcile()
    syncer.sync_once()
    sender.send_once(now_due=True)  # posts batch 2 only
    chain.mine()
    syncer.sync_once()
    sender.send_once(now_due=True)
    assert rollup.last_batch_sequenced() == 2
    for n in (1, 2):
        row = store.batch_by_number(n)
        assert row is not None and row.status == "virtual"
        assert rollup.acc_input_hash(n) == row.l1_acc_input_hash


def test_send_forgotten_by_the_l1_is_posted_again_once(setup) -> None:  # type: ignore[no-untyped-def]
    chain, rollup, store, sender, syncer = setup
    # A send recorded as in flight whose transaction the L1 does not know (lost with its mempool).
    store.mark_sending([1, 2], "0x" + "ab" * 32, 0.0)
    sender.reconcile()
    assert store.sends_by_status("lost") == [("0x" + "ab" * 32, 1, 2)]
    syncer.sync_once()
    sender.send_once(now_due=True)
    sender.send_once(now_due=True)  # a second call before the block must not post again
    chain.mine()
    syncer.sync_once()
    sender.send_once(now_due=True)
    chain.mine()
    assert rollup.last_batch_sequenced() == 2
    assert [s for s in store.sends_by_status("mined") if s[1] <= 2] == store.sends_by_status("mined")
    assert store.count_sends_covering(1) == 1 and store.count_sends_covering(2) == 1
