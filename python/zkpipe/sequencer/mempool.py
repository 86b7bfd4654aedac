"""The mempool: bounded intake in arrival order, a bounded per-sender queue for future nonces, L1 deposits.

Thread-safe where it must be: `add` and `add_deposits` are called by the RPC and the syncer, the
rest by the sequencer thread only.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from zkpipe.errors import ZkpipeError
from zkpipe.sequencer.errors import MempoolFull, NonceGap
from zkpipe.spec import AccountIndex, Deposit, Nonce, UserTransaction


@dataclass(frozen=True, slots=True)
class Ack:
    """A transaction the sequencer executed and durably stored (trusted)."""

    tx_hash: bytes
    seq: int
    batch: int
    submitted_at: float
    trusted_at: float


Result = Ack | ZkpipeError


class MempoolConfig(BaseModel):
    """Admission limits of the mempool."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    max_pending: int = Field(default=50_000, ge=1)
    """Transactions accepted but not yet executed, across all senders (MEMPOOL_FULL beyond)."""
    max_nonce_gap: int = Field(default=16, ge=0)
    """How far ahead of a sender's next nonce a transaction may be parked (NONCE_GAP beyond)."""
    max_future_per_sender: int = Field(default=16, ge=0)
    max_future_total: int = Field(default=4096, ge=0)
    future_timeout_s: float = Field(default=10.0, gt=0)
    """A parked transaction whose gap is not filled in this time is dropped (NONCE_GAP)."""
    max_wait_s: float = Field(default=2.0, ge=0)
    """Admission control: while the oldest transaction waiting to execute has waited longer than
    this, new ones are refused (MEMPOOL_FULL, temporary), so acknowledged latency stays bounded
    under overload (0: no bound)."""


class Ticket:
    """The outcome of one submission of several transactions, delivered once all are decided."""

    __slots__ = ("_left", "_lock", "on_done", "results")

    def __init__(self, count: int, on_done: Callable[[list[Result]], None]) -> None:
        self.results: list[Result | None] = [None] * count
        self._left = count
        self._lock = threading.Lock()
        self.on_done = on_done

    def settle(self, index: int, result: Result) -> bool:
        """Records one outcome; True when it was the last one."""
        with self._lock:
            if self.results[index] is not None:
                return False
            self.results[index] = result
            self._left -= 1
            return self._left == 0

    def finish(self) -> None:
        """Hands all outcomes to `on_done`."""
        self.on_done([r for r in self.results if r is not None])


@dataclass(slots=True)
class Pending:
    """A submitted user transaction waiting to be executed."""

    tx: UserTransaction
    submitted_at: float
    ticket: Ticket
    index: int
    deadline: float = field(default=0.0)
    """For a parked transaction: when it is dropped if its gap is still open."""


class Mempool:
    """Admission limits and queues in front of the executor."""

    def __init__(self, config: MempoolConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._intake: deque[Pending] = deque()
        self._parked: dict[AccountIndex, dict[Nonce, Pending]] = {}
        self._parked_count = 0
        self._deposits: dict[int, tuple[Deposit, float]] = {}
        self.wakeup = threading.Event()
        """Set when there is new work for the sequencer."""

    def __len__(self) -> int:
        return len(self._intake) + self._parked_count

    def expected_wait_s(self, now: float) -> float:
        """How long a transaction queued now is expected to wait: the oldest waiting one's wait so far."""
        intake = self._intake
        return max(0.0, now - intake[0].submitted_at) if intake else 0.0

    def add(self, items: Sequence[Pending], *, now: float | None = None) -> None:
        """Queues submissions in order; MempoolFull (nothing queued) if they do not fit, or if the
        expected wait is above `max_wait_s` (admission control)."""
        with self._lock:
            if len(self) + len(items) > self.config.max_pending:
                raise MempoolFull(
                    f"the mempool holds {len(self)} transactions (limit {self.config.max_pending})"
                )
            bound = self.config.max_wait_s
            if bound > 0 and items:
                wait = self.expected_wait_s(items[0].submitted_at if now is None else now)
                if wait > bound:
                    raise MempoolFull(f"the node is overloaded: expected wait {wait:.2f} s above {bound} s")
            self._intake.extend(items)
        self.wakeup.set()

    def drain(self, limit: int) -> list[Pending]:
        """Up to `limit` submissions in arrival order."""
        with self._lock:
            n = min(limit, len(self._intake))
            return [self._intake.popleft() for _ in range(n)]

    def park(self, item: Pending, expected: Nonce, now: float) -> None:
        """Holds a transaction whose nonce is ahead of `expected`; NonceGap if too far or queue full."""
        tx = item.tx
        gap = tx.nonce - expected
        if gap > self.config.max_nonce_gap:
            raise NonceGap(f"nonce {tx.nonce} is {gap} ahead of the next nonce {expected}")
        queue = self._parked.setdefault(tx.sender, {})
        if tx.nonce in queue:
            raise NonceGap(f"a transaction with nonce {tx.nonce} is already waiting for its gap")
        if (
            len(queue) >= self.config.max_future_per_sender
            or self._parked_count >= self.config.max_future_total
        ):
            raise NonceGap("the queue of future-nonce transactions is full")
        item.deadline = now + self.config.future_timeout_s
        queue[tx.nonce] = item
        self._parked_count += 1

    def pop_parked(self, sender: AccountIndex, nonce: Nonce) -> Pending | None:
        """The parked transaction of `sender` with `nonce`, if any."""
        queue = self._parked.get(sender)
        if not queue or nonce not in queue:
            return None
        item = queue.pop(nonce)
        if not queue:
            del self._parked[sender]
        self._parked_count -= 1
        return item

    def expire(self, now: float) -> list[Pending]:
        """Removes and returns parked transactions past their deadline."""
        out: list[Pending] = []
        if not self._parked_count:
            return out
        for sender in list(self._parked):
            queue = self._parked[sender]
            for nonce in [n for n, p in queue.items() if p.deadline <= now]:
                out.append(queue.pop(nonce))
                self._parked_count -= 1
            if not queue:
                del self._parked[sender]
        return out

    def take_all(self) -> list[Pending]:
        """Everything not executed (at shutdown)."""
        with self._lock:
            items = list(self._intake)
            self._intake.clear()
        for queue in self._parked.values():
            items.extend(queue.values())
        self._parked.clear()
        self._parked_count = 0
        return items

    # -- deposits --------------------------------------------------------------------------

    def add_deposits(self, deposits: Sequence[tuple[Deposit, float]]) -> None:
        """Deposits read from L1 `(deposit, seen_at)`; duplicates are ignored."""
        with self._lock:
            for deposit, seen_at in deposits:
                self._deposits.setdefault(deposit.queue_index, (deposit, seen_at))
        self.wakeup.set()

    def next_deposit(self, queue_index: int) -> tuple[Deposit, float] | None:
        """Removes and returns the deposit with `queue_index` (older ones are dropped)."""
        with self._lock:
            for stale in [q for q in self._deposits if q < queue_index]:
                del self._deposits[stale]
            return self._deposits.pop(queue_index, None)

    def deposit_count(self) -> int:
        """Deposits waiting."""
        return len(self._deposits)
