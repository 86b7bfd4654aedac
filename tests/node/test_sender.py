"""The sequence sender never posts a batch twice: not after a crash that lost its send record, and a
send the L1 forgot (the embedded mempool dies with the process) is posted again exactly once."""

from __future__ import annotations

from tests.node.conftest import batch_data


def test_batch_on_l1_without_a_send_record_is_not_posted_again(l1_setup) -> None:  # type: ignore[no-untyped-def]
    chain, rollup, store, sender, syncer = l1_setup
    # A crash right after submitting batch 1, before its send was recorded; the block got mined.
    rollup.sequence_batches([batch_data(store, 1)], sender=sender.sequencer_address)
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


def test_send_forgotten_by_the_l1_is_posted_again_once(l1_setup) -> None:  # type: ignore[no-untyped-def]
    chain, rollup, store, sender, syncer = l1_setup
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
