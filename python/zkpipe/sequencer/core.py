"""The sequencer: orders, executes and durably stores transactions, and closes batches.

Its thread takes what the mempool holds (L1 deposits first, in queue order, then user transactions
in arrival order) and executes for at most `group_time_s`; the group — everything it executed and
every batch it closed — goes to the committer thread, which writes it in one SQLite transaction
(group commit) while the next group executes. Groups are committed in execution order, and only
after its commit is a group acknowledged: an acknowledged transaction is on disk. If a commit
fails, nothing after it is stored or acknowledged and the sequencer stops.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from zkpipe.errors import InvalidTransaction, TxError
from zkpipe.execution import ClosedBatch, ExecutedTx, Executor, digest_bytes
from zkpipe.execution.signatures import VerifiedSignatures
from zkpipe.kpi import NodeMetrics
from zkpipe.sequencer.errors import NodeStopping, NonceGap
from zkpipe.sequencer.mempool import Ack, Mempool, Pending, Result, Ticket
from zkpipe.sequencer.policy import BatchPolicy, DownstreamFeedback
from zkpipe.spec import (
    TX_ENCODING_BYTES,
    AccountIndex,
    Nonce,
    PublicKey,
    Timestamp,
    Transaction,
    UserTransaction,
    compute_batch_input_hash,
    get_tx_type,
)

logger = logging.getLogger("zkpipe.sequencer")

VERIFY_CHUNK = 256
"""Transactions taken from the mempool at a time; their signatures are verified together, in parallel."""


class GroupStore(Protocol):
    """Where the sequencer writes its groups (the node's SQLite store)."""

    def commit_group(
        self,
        txs: Sequence[tuple[int, ExecutedTx, float]],
        batches: Sequence[tuple[ClosedBatch, bytes, float]],
        trusted_at: float,
    ) -> None:
        """Stores executed transactions and closed batches in one durable transaction."""
        ...


@dataclass(slots=True)
class _Group:
    """What one loop of the sequencer executed, closed and decided: committed and answered together."""

    executed: list[tuple[int, ExecutedTx, float]]
    closed: list[tuple[ClosedBatch, bytes, float]]
    acks: list[tuple[Pending, int, ExecutedTx]]
    settled: list[tuple[Pending, Result]]


class Sequencer:
    """Orders and executes transactions on its own thread; see the module docstring."""

    def __init__(
        self,
        executor: Executor,
        store: GroupStore,
        mempool: Mempool,
        policy: BatchPolicy,
        metrics: NodeMetrics,
        *,
        last_seq: int,
        last_l1_acc_input_hash: bytes,
        group_time_s: float = 0.01,
        on_batch_closed: Callable[[], None] | None = None,
        timestamp_floor: Callable[[], int] | None = None,
        clock: Callable[[], float] = time.time,
        signatures: VerifiedSignatures | None = None,
    ) -> None:
        self.executor = executor
        # The executor's signature check must consult this same object to profit from it.
        self.signatures = signatures if signatures is not None else VerifiedSignatures()
        self.store = store
        self.mempool = mempool
        self.policy = policy
        self.metrics = metrics
        self.group_time_s = group_time_s
        self.on_batch_closed = on_batch_closed
        # Why a floor: L1 rejects a batch older than the last block (fast devnets run ahead of the clock).
        self.timestamp_floor = timestamp_floor
        self._clock = clock
        self._seq = last_seq
        self._l1_acc = last_l1_acc_input_hash
        self._opened_at: float | None = None  # monotonic time of the open batch's first transaction
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._backlog: deque[Pending] = deque()
        # Why a committer thread: the fsync of one group overlaps the execution of the next.
        self._commits: queue.Queue[_Group | None] = queue.Queue(maxsize=8)
        self._committer: threading.Thread | None = None
        self.failure: BaseException | None = None
        self.trusted_root = executor.state.tree.root
        """The state root after the last group (the native tree may not be read while it is written)."""
        self.lock = threading.Lock()
        """Held while the executor's state changes (readers that need a consistent view take it)."""

    # -- control ----------------------------------------------------------------------------

    def submit(self, txs: Sequence[UserTransaction], on_done: Callable[[list[Result]], None]) -> None:
        """Queues `txs` in order; `on_done` gets one outcome per transaction (Ack or error), from the
        sequencer thread, after the executed ones are durable. Raises MempoolFull / NodeStopping."""
        if self._stop.is_set() or self.failure is not None:
            raise NodeStopping("the node is stopping")
        now = self._clock()
        ticket = Ticket(len(txs), on_done)
        self.mempool.add([Pending(tx, now, ticket, i) for i, tx in enumerate(txs)])

    def submit_many(
        self, items: Sequence[tuple[Sequence[UserTransaction], Callable[[list[Result]], None]]]
    ) -> None:
        """Like `submit` for several submissions, each with its own callback, in one mempool insertion."""
        if self._stop.is_set() or self.failure is not None:
            raise NodeStopping("the node is stopping")
        now = self._clock()
        pending: list[Pending] = []
        for txs, on_done in items:
            ticket = Ticket(len(txs), on_done)
            pending += [Pending(tx, now, ticket, i) for i, tx in enumerate(txs)]
        self.mempool.add(pending)

    def observe(self, feedback: DownstreamFeedback) -> None:
        """Feeds a downstream measurement to the batch policy (the adaptive policy sizes batches by it)."""
        with self.lock:
            self.policy.observe(feedback)

    def start(self) -> None:
        """Starts the sequencer thread."""
        self._opened_at = time.monotonic() if self.executor.open_batch_size()[0] else None
        self._committer = threading.Thread(target=self._commit_loop, name="committer", daemon=True)
        self._committer.start()
        self._thread = threading.Thread(target=self._run, name="sequencer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops after the current group; unexecuted submissions fail with NodeStopping."""
        self._stop.set()
        self.mempool.wakeup.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._committer is not None:
            self._commits.put(None)
            self._committer.join()
            self._committer = None
        leftovers = list(self._backlog) + self.mempool.take_all()
        self._backlog.clear()
        self._settle(
            [(p, NodeStopping("the node stopped before executing the transaction")) for p in leftovers]
        )

    # -- the loop -----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                timeout = 0.005 if self._opened_at is not None else 0.1
                self.mempool.wakeup.wait(timeout)
                self.mempool.wakeup.clear()
                self.run_once()
        except BaseException as exc:  # why: a failed commit must stop acknowledging, not be retried silently
            self.failure = exc
            logger.exception("event=sequencer_failed")
            leftovers = list(self._backlog) + self.mempool.take_all()
            self._settle([(p, NodeStopping(f"the sequencer stopped: {exc}")) for p in leftovers])

    def run_once(self) -> None:
        """Executes groups of up to `group_time_s` until the backlog is empty; each goes to the committer."""
        while True:
            deadline = time.monotonic() + self.group_time_s
            group = _Group([], [], [], [])
            # Verify the next chunk's signatures on every core before taking the lock: only this
            # thread changes the state, so the senders' keys read here are the ones execution sees.
            drained = self.mempool.drain(VERIFY_CHUNK) if len(self._backlog) < VERIFY_CHUNK else []
            if drained and not self.executor.verifies_signatures:
                self.signatures.verify_ahead([p.tx for p in drained], self._key_of)
            with self.lock:
                self._execute_deposits(group.executed, group.closed)
                self._backlog.extend(drained)
                while self._backlog and time.monotonic() < deadline:
                    take = min(len(self._backlog), VERIFY_CHUNK)
                    self._admit_many([self._backlog.popleft() for _ in range(take)], group)
                now = self._clock()
                for item in self.mempool.expire(now):
                    group.settled.append(
                        (item, NonceGap(f"nonce gap before {item.tx.nonce} not filled in time"))
                    )
                self._maybe_close(group.closed)
                if group.executed or group.closed:  # a close credits the fees: the root changes
                    self.trusted_root = self.executor.state.tree.root
            if group.executed or group.closed or group.settled:
                if self._committer is not None:
                    self._commits.put(group)  # bounded: execution runs at most a few groups ahead of disk
                else:
                    self._commit(group)
            self.metrics.mempool_size.set(len(self.mempool) + len(self._backlog))
            if not self._backlog or self._stop.is_set():
                return

    def _commit_loop(self) -> None:
        """Commits queued groups; when the disk is slower than execution, merges them into one commit."""
        while True:
            group = self._commits.get()
            if group is None:
                return
            last = False
            while True:
                try:
                    more = self._commits.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    last = True
                    break
                group.executed += more.executed
                group.closed += more.closed
                group.acks += more.acks
                group.settled += more.settled
            self._commit(group)
            if last:
                return

    def _commit(self, group: _Group) -> None:
        """Stores a group durably, then acknowledges it (commits run in execution order)."""
        settled = group.settled
        if self.failure is not None:
            # An earlier group is not on disk: a later one must not be either, nor be acknowledged.
            settled += [
                (item, NodeStopping(f"the sequencer stopped: {self.failure}")) for item, _, _ in group.acks
            ]
            self._settle(settled)
            return
        if group.executed or group.closed:
            trusted_at = self._clock()
            t0 = time.monotonic()
            try:
                self.store.commit_group(group.executed, group.closed, trusted_at)
            except BaseException as exc:
                self.failure = exc
                self._stop.set()
                logger.exception("event=group_commit_failed")
                settled += [
                    (item, NodeStopping(f"the transaction could not be stored: {exc}"))
                    for item, _, _ in group.acks
                ]
                self._settle(settled)
                return
            self.metrics.group_commit_seconds.observe(time.monotonic() - t0)
            for item, seq, ex in group.acks:
                ack = Ack(
                    digest_bytes(ex.receipt.tx_hash), seq, ex.batch_number, item.submitted_at, trusted_at
                )
                settled.append((item, ack))
            self.metrics.observe_many(
                self.metrics.delay_trusted, (trusted_at - at for _, _, at in group.executed)
            )
            self.metrics.txs.labels("trusted").inc(len(group.executed))
            if group.closed:
                self.metrics.batches_closed.inc(len(group.closed))
                self.metrics.batch_trusted.set(group.closed[-1][0].batch.header.number)
        self._settle(settled)
        if group.closed and self.on_batch_closed is not None:
            self.on_batch_closed()

    def _key_of(self, index: AccountIndex) -> PublicKey | None:
        account = self.executor.account_by_index(index) if isinstance(index, int) else None
        return None if account is None else account.public_key

    def _settle(self, settled: list[tuple[Pending, Result]]) -> None:
        rejected = 0
        for item, result in settled:
            if not isinstance(result, Ack):
                rejected += 1
            if item.ticket.settle(item.index, result):
                item.ticket.finish()
        if rejected:
            self.metrics.txs.labels("rejected").inc(rejected)

    def _execute_deposits(
        self, executed: list[tuple[int, ExecutedTx, float]], closed: list[tuple[ClosedBatch, bytes, float]]
    ) -> None:
        """Executes the L1 deposits that are next in the queue (they go before user transactions)."""
        while True:
            entry = self.mempool.next_deposit(self.executor.state.next_deposit_index)
            if entry is None:
                return
            deposit, seen_at = entry
            self._execute(deposit, seen_at, executed, closed)

    def _execute(
        self,
        tx: Transaction,
        submitted_at: float,
        executed: list[tuple[int, ExecutedTx, float]],
        closed: list[tuple[ClosedBatch, bytes, float]],
    ) -> tuple[int, ExecutedTx]:
        ex = self.executor.execute(tx)  # raises InvalidTransaction, state unchanged
        self._seq += 1
        executed.append((self._seq, ex, submitted_at))
        if self._opened_at is None:
            self._opened_at = time.monotonic()
        self._maybe_close(closed)
        return self._seq, ex

    def _admit_many(self, items: list[Pending], group: _Group) -> None:
        """Executes, parks (future nonce) or rejects (used nonce) user transactions, in arrival order.

        The outcome is the one admitting them one at a time would give: a sender's next nonces are
        admitted ahead, on the prediction that the earlier ones apply; the engine runs them in
        order, and one that then fails on its nonce (an earlier one failed) is parked or rejected
        as it would have been at its turn.
        """
        start_nonce: dict[AccountIndex, Nonce] = {}
        expected: dict[AccountIndex, Nonce] = {}
        ready: list[Pending] = []
        order: list[list[Any]] = []  # [item, executed now] in arrival order, future nonces too
        future: dict[tuple[AccountIndex, int], int] = {}  # (sender, nonce) -> its entry in `order`
        for item in items:
            tx = item.tx
            account = self.executor.account_by_index(tx.sender) if isinstance(tx.sender, int) else None
            if account is None or not isinstance(tx.nonce, int):
                ready.append(item)  # the rules reject it, with their own code
                order.append([item, True])
                continue
            start_nonce.setdefault(tx.sender, account.nonce)
            nonce = expected.get(tx.sender, account.nonce)
            if tx.nonce > nonce:
                future.setdefault((tx.sender, tx.nonce), len(order))
                order.append([item, False])  # parked below, against the nonce at its turn
                continue
            order.append([item, True])
            current: Pending | None = item
            while current is not None:
                ready.append(current)
                if current.tx.nonce != nonce:
                    break  # a used nonce, or a second transaction with one: the rules decide
                nonce = Nonce(nonce + 1)
                expected[tx.sender] = nonce
                current = self.mempool.pop_parked(tx.sender, nonce)
                if current is not None:
                    order.append([current, True])
                elif (tx.sender, nonce) in future:  # it arrived earlier in this chunk
                    entry = order[future.pop((tx.sender, nonce))]
                    entry[1] = True
                    current = entry[0]
        results = self._execute_ready(ready, group)
        applied = dict(start_nonce)  # each sender's nonce at the turn of the item being settled
        for entry in order:
            item, executed = entry
            tx = item.tx
            result = results.get(id(item)) if executed else None
            if isinstance(result, ExecutedTx):
                if tx.sender in applied:
                    applied[tx.sender] = Nonce(applied[tx.sender] + 1)
                continue
            if result is not None and result.error is not TxError.WRONG_NONCE:
                group.settled.append((item, result))
                continue
            at_turn = applied.get(tx.sender)
            if at_turn is None:  # unknown sender: the rules' own rejection
                if result is not None:
                    group.settled.append((item, result))
                continue
            if tx.nonce < at_turn:
                stale = InvalidTransaction(
                    TxError.WRONG_NONCE,
                    f"nonce {tx.nonce} was already used (next is {at_turn}): a replay or a stale transaction",
                )
                group.settled.append((item, stale))
                continue
            try:
                self.mempool.park(item, at_turn, self._clock())
            except NonceGap as err:
                group.settled.append((item, err))

    def _execute_ready(
        self, ready: list[Pending], group: _Group
    ) -> dict[int, ExecutedTx | InvalidTransaction]:
        """Executes `ready` in order, in pieces that fit the open batch; results by id(item)."""
        results: dict[int, ExecutedTx | InvalidTransaction] = {}
        start = 0
        while start < len(ready):
            end = self._fitting(ready, start)
            piece = ready[start:end]
            for item, result in zip(piece, self.executor.execute_many([p.tx for p in piece]), strict=True):
                results[id(item)] = result
                if isinstance(result, ExecutedTx):
                    self._seq += 1
                    group.executed.append((self._seq, result, item.submitted_at))
                    group.acks.append((item, self._seq, result))
                    if self._opened_at is None:
                        self._opened_at = time.monotonic()
            self._maybe_close(group.closed)
            start = end
        return results

    def _fitting(self, ready: list[Pending], start: int) -> int:
        """The end of the longest run from `start` the open batch takes before its policy would
        close it, were every transaction valid (so a batch never grows past its limits)."""
        n, size = self.executor.open_batch_size()
        now = time.monotonic()
        opened_at = self._opened_at if self._opened_at is not None else now
        for end in range(start + 1, len(ready) + 1):
            n += 1
            size += TX_ENCODING_BYTES[get_tx_type(ready[end - 1].tx)]
            if self.policy.should_close(now, n, size, opened_at):
                return end
        return len(ready)

    def _maybe_close(self, closed: list[tuple[ClosedBatch, bytes, float]]) -> None:
        n, size = self.executor.open_batch_size()
        if self._opened_at is None or not self.policy.should_close(
            time.monotonic(), n, size, self._opened_at
        ):
            return
        now = self._clock()
        floor = self.timestamp_floor() if self.timestamp_floor is not None else 0
        batch = self.executor.close_batch(Timestamp(max(int(now), floor)))
        self._l1_acc = compute_batch_input_hash(self._l1_acc, batch.encoding, self.executor.state.chain_id)
        closed.append((batch, self._l1_acc, now))
        self.metrics.close_a_batch_time.observe(time.monotonic() - self._opened_at)
        self._opened_at = None
