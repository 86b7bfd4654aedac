"""The sequencer: durable acknowledgements, batch closing by policy, nonce handling, recovery."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.sequencer.helpers import FEE_PK, KEYS, deposits, make_sequencer, submit_and_wait
from zkpipe.errors import InvalidTransaction, TxError
from zkpipe.execution import digest_bytes
from zkpipe.node.recovery import recover
from zkpipe.node.store import Store
from zkpipe.sequencer.errors import NonceGap
from zkpipe.sequencer.mempool import Ack, MempoolConfig
from zkpipe.sequencer.policy import MaxTxsPolicy
from zkpipe.spec import AccountIndex, Amount, Fee, Nonce, Signature, Transfer, UserTransaction, sign_transfer

from .helpers import DEPTH


def _transfer(sender: int, recipient: int, nonce: int, amount: int = 5) -> Transfer:
    return sign_transfer(
        KEYS[sender - 1][0],
        AccountIndex(sender),
        AccountIndex(recipient),
        Amount(amount),
        Fee(1),
        Nonce(nonce),
    )


@pytest.fixture(params=["sequential", "parallel"])
def running(tmp_path: Path, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    sequencer, store = make_sequencer(tmp_path / "node.db", MaxTxsPolicy(3), engine=request.param)
    sequencer.mempool.add_deposits(deposits())
    sequencer.start()
    yield sequencer, store, tmp_path / "node.db"
    sequencer.stop()
    store.close()


def _wait_deposits(sequencer, count: int) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 10
    while sequencer.executor.state.next_deposit_index < count:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_acknowledged_transactions_are_already_on_disk(running) -> None:  # type: ignore[no-untyped-def]
    sequencer, _, path = running
    _wait_deposits(sequencer, 4)
    results = submit_and_wait(sequencer, [_transfer(1, 2, 0), _transfer(1, 3, 1)])
    assert all(isinstance(r, Ack) for r in results)
    other = Store(path)
    try:
        for r in results:
            assert isinstance(r, Ack)
            row = other.tx_by_hash(r.tx_hash)
            assert row is not None and row.seq == r.seq
        assert results[0].seq < results[1].seq  # type: ignore[union-attr]
    finally:
        other.close()


def test_batches_close_at_max_txs_with_deposits_first(running) -> None:  # type: ignore[no-untyped-def]
    sequencer, store, _ = running
    _wait_deposits(sequencer, 4)
    submit_and_wait(sequencer, [_transfer(2, 1, 0), _transfer(3, 1, 0)])
    first, second = store.batch_by_number(1), store.batch_by_number(2)
    assert first is not None and first.tx_count == 3 and (first.deposit_start, first.deposit_end) == (0, 3)
    assert second is not None and second.deposit_end == 4


def test_future_nonce_waits_for_its_gap(running) -> None:  # type: ignore[no-untyped-def]
    sequencer, _, _ = running
    _wait_deposits(sequencer, 4)
    results = submit_and_wait(sequencer, [_transfer(1, 2, 1), _transfer(1, 2, 0)])
    assert [type(r) for r in results] == [Ack, Ack]
    assert results[0].seq > results[1].seq  # type: ignore[union-attr]


def test_invalid_replay_bad_signature_and_balance_have_codes(running) -> None:  # type: ignore[no-untyped-def]
    sequencer, _, _ = running
    _wait_deposits(sequencer, 4)
    good = _transfer(1, 2, 0)
    forged = Transfer(AccountIndex(2), AccountIndex(1), Amount(1), Fee(1), Nonce(0), Signature(bytes(80)))
    txs: list[UserTransaction] = [good, good, forged, _transfer(3, 1, 0, amount=10**6)]
    results = submit_and_wait(sequencer, txs)
    assert isinstance(results[0], Ack)
    codes = [r.code for r in results[1:] if not isinstance(r, Ack)]
    assert codes == [TxError.WRONG_NONCE, TxError.BAD_SIGNATURE, TxError.INSUFFICIENT_BALANCE]
    assert all(isinstance(r, InvalidTransaction) for r in results[1:])


def test_invalid_nonce_gap_too_far(running) -> None:  # type: ignore[no-untyped-def]
    sequencer, _, _ = running
    _wait_deposits(sequencer, 4)
    (result,) = submit_and_wait(sequencer, [_transfer(1, 2, 100)])
    assert isinstance(result, NonceGap)


def test_unfilled_gap_expires(tmp_path: Path) -> None:
    sequencer, store = make_sequencer(tmp_path / "n.db", config=MempoolConfig(future_timeout_s=0.2))
    sequencer.mempool.add_deposits(deposits())
    sequencer.start()
    try:
        _wait_deposits(sequencer, 4)
        (result,) = submit_and_wait(sequencer, [_transfer(1, 2, 2)])
        assert isinstance(result, NonceGap)
    finally:
        sequencer.stop()
        store.close()


def test_recovery_rebuilds_the_trusted_state(tmp_path: Path) -> None:
    path = tmp_path / "node.db"
    sequencer, store = make_sequencer(path, MaxTxsPolicy(4))
    sequencer.mempool.add_deposits(deposits())
    sequencer.start()
    _wait_deposits(sequencer, 4)
    for nonce in range(5):
        submit_and_wait(sequencer, [_transfer(1, 2, nonce), _transfer(2, 3, nonce)])
    sequencer.stop()
    live = sequencer.executor.state
    store.close()
    reopened = Store(path)
    try:
        executor, last_seq, _ = recover(reopened, FEE_PK, DEPTH)
        assert last_seq == 14
        assert executor.open_batch_size()[0] == 14 - 4 * 3
        assert executor.state.accounts == live.accounts
        assert digest_bytes(executor.state.tree.root) == digest_bytes(live.tree.root)
        assert executor.state.accumulated_input_hash == live.accumulated_input_hash
    finally:
        reopened.close()
