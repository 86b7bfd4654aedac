"""Mempool admission: capacity, future-nonce parking and its limits, expiry, deposits in queue order."""

from __future__ import annotations

import pytest

from zkpipe.sequencer.errors import MempoolFull, NonceGap
from zkpipe.sequencer.mempool import Mempool, MempoolConfig, Pending, Result, Ticket
from zkpipe.spec import (
    AccountIndex,
    Amount,
    Deposit,
    DepositIndex,
    Fee,
    L1Address,
    Nonce,
    PublicKey,
    Signature,
    Transfer,
)


def _pending(sender: int, nonce: int, ticket: Ticket | None = None) -> Pending:
    tx = Transfer(
        AccountIndex(sender), AccountIndex(9), Amount(1), Fee(0), Nonce(nonce), Signature(bytes(80))
    )
    return Pending(tx, 0.0, ticket or Ticket(1, lambda _r: None), 0)


def test_add_beyond_capacity_is_mempool_full_and_adds_nothing() -> None:
    pool = Mempool(MempoolConfig(max_pending=3))
    pool.add([_pending(1, 0), _pending(1, 1)])
    with pytest.raises(MempoolFull):
        pool.add([_pending(2, 0), _pending(2, 1)])
    assert len(pool) == 2
    assert [p.tx.nonce for p in pool.drain(10)] == [0, 1]


def test_admission_control_refuses_while_the_oldest_waited_too_long() -> None:
    pool = Mempool(MempoolConfig(max_wait_s=2.0))
    waiting = _pending(1, 0)
    waiting.submitted_at = 100.0
    pool.add([waiting])
    late = _pending(2, 0)
    late.submitted_at = 101.5  # the oldest has waited 1.5 s: still admitted
    pool.add([late])
    refused = _pending(3, 0)
    refused.submitted_at = 102.5  # 2.5 s: refused with the typed temporary error, nothing queued
    with pytest.raises(MempoolFull, match="expected wait") as err:
        pool.add([refused])
    assert str(err.value.severity) == "temporary" and len(pool) == 2
    pool.drain(2)  # the backlog is served: admitted again
    pool.add([refused])
    assert len(pool) == 1


def test_park_within_gap_then_pop_in_order() -> None:
    pool = Mempool(MempoolConfig(max_nonce_gap=4))
    pool.park(_pending(1, 3), Nonce(1), now=0.0)
    pool.park(_pending(1, 2), Nonce(1), now=0.0)
    assert pool.pop_parked(AccountIndex(1), Nonce(1)) is None
    item = pool.pop_parked(AccountIndex(1), Nonce(2))
    assert item is not None and item.tx.nonce == 2
    assert len(pool) == 1


def test_invalid_park_too_far_duplicate_or_full() -> None:
    pool = Mempool(MempoolConfig(max_nonce_gap=2, max_future_per_sender=1))
    with pytest.raises(NonceGap, match="ahead"):
        pool.park(_pending(1, 5), Nonce(0), now=0.0)
    pool.park(_pending(1, 1), Nonce(0), now=0.0)
    with pytest.raises(NonceGap, match="already waiting"):
        pool.park(_pending(1, 1), Nonce(0), now=0.0)
    with pytest.raises(NonceGap, match="full"):
        pool.park(_pending(1, 2), Nonce(0), now=0.0)


def test_parked_expire_after_timeout() -> None:
    pool = Mempool(MempoolConfig(future_timeout_s=5.0))
    pool.park(_pending(1, 1), Nonce(0), now=10.0)
    assert pool.expire(14.0) == []
    assert [p.tx.nonce for p in pool.expire(15.0)] == [1]
    assert len(pool) == 0


def test_deposits_come_out_by_queue_index() -> None:
    pool = Mempool(MempoolConfig())

    def dep(i: int) -> tuple[Deposit, float]:
        return Deposit(
            DepositIndex(i), AccountIndex(1), PublicKey(bytes(40)), Amount(1), L1Address(bytes(20))
        ), 0.0

    pool.add_deposits([dep(2), dep(0), dep(1), dep(1)])
    assert pool.deposit_count() == 3
    assert pool.next_deposit(1) is not None  # index 0 is dropped as already consumed
    assert pool.next_deposit(3) is None
    assert pool.deposit_count() == 0


def test_ticket_delivers_once_when_complete() -> None:
    delivered: list[list[Result]] = []
    ticket = Ticket(2, delivered.append)
    assert not ticket.settle(1, NonceGap("x"))
    assert not ticket.settle(1, NonceGap("again"))
    assert ticket.settle(0, NonceGap("y"))
    ticket.finish()
    assert [str(r) for r in delivered[0]] == ["y", "x"]
