"""The sequence sender and the L1 syncer: one thread that posts closed batches and follows L1 events.

Sender rules (never post a batch twice, also across crashes):
- it posts only batches stored as `closed`, oldest first, and only if the first of them is the
  batch right after both the contract's `lastBatchSequenced` and every send still in flight;
- it records each send (`sending` + the L1 transaction hash) right after submitting it; a send
  whose transaction failed, or that the L1 no longer knows (the embedded chain's mempool dies with
  the process), goes back to `closed` — but only for batches above `lastBatchSequenced`;
- it groups the batches closed within one block time: it posts shortly before the next block is
  due (`send_margin_s`), at most once per block, up to the contract's 16 batches / 120 000 bytes.

The syncer reads the rollup's events block by block and stores them with its cursor atomically:
`SequenceBatch` → the batch is virtual, `Deposit` → the deposit queue (and the mempool),
`VerifyBatches` → batches up to it are consolidated.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from zkpipe.errors import ZkpipeError
from zkpipe.kpi import NodeMetrics
from zkpipe.l1 import Address, L1Chain, RollupContract, TxHash
from zkpipe.l1.rollup import (
    MAX_BATCHES_PER_CALL,
    MAX_SEQUENCE_DATA_BYTES,
    BatchData,
    DepositEvent,
    SequencedBatch,
    VerifiedBatches,
)
from zkpipe.node.store import Store, StoredBatch
from zkpipe.sequencer.mempool import Mempool
from zkpipe.sequencer.policy import DownstreamFeedback
from zkpipe.spec import AccountIndex, Amount, Deposit, DepositIndex, L1Address, PublicKey

logger = logging.getLogger("zkpipe.node.l1")

MAX_BLOCKS_PER_SYNC = 500


class L1Worker:
    """Posts batches and follows the rollup contract's events; see the module docstring."""

    def __init__(
        self,
        chain: L1Chain,
        rollup: RollupContract,
        store: Store,
        mempool: Mempool,
        metrics: NodeMetrics,
        *,
        sequencer_address: Address,
        block_time: float,
        poll_interval_s: float,
        send_margin_s: float,
        on_feedback: Callable[[DownstreamFeedback], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.chain = chain
        self.on_feedback = on_feedback
        """Gets the downstream measurements (batches waiting for L1, close-to-virtual latency)."""
        self.rollup = rollup
        self.store = store
        self.mempool = mempool
        self.metrics = metrics
        self.sequencer_address = sequencer_address
        self.block_time = block_time
        self.poll_interval_s = poll_interval_s
        self.send_margin_s = send_margin_s
        self._clock = clock
        self._stop = threading.Event()
        self.wakeup = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen_block = -1
        self._seen_block_at = 0.0  # monotonic time the newest block was first seen
        self._sent_for_block = -2  # the block number after which the last send happened
        cursor = store.meta("l1_cursor")
        self._cursor = int(cursor) if cursor is not None else -1
        self.failure: BaseException | None = None

    def start(self) -> None:
        """Reconciles sends left from a previous run, then starts the thread."""
        self.reconcile()
        self._thread = threading.Thread(target=self._run, name="l1-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops the thread."""
        self._stop.set()
        self.wakeup.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sync_once()
                self.send_once()
            except ZkpipeError as err:
                # Why keep going: L1 trouble is temporary; the store keeps what was done.
                logger.warning("event=l1_step_failed code=%s message=%s", err.code, err.message)
            except BaseException as exc:
                self.failure = exc
                logger.exception("event=l1_worker_failed")
                return
            self.wakeup.wait(self.poll_interval_s)
            self.wakeup.clear()

    # -- sender --------------------------------------------------------------------------------

    def reconcile(self) -> None:
        """Settles every send recorded as in flight: mined, failed, or unknown to the L1 (lost)."""
        for tx_hash, _, _ in self.store.sends_by_status("sent"):
            receipt = self.chain.receipt_by_hash(_tx_hash(tx_hash))
            if receipt is not None:
                self._settle_send(
                    tx_hash, receipt.success, receipt.gas_used, receipt.block_number, receipt.revert_reason
                )
            elif self.chain.transaction_by_hash(_tx_hash(tx_hash)) is None:
                logger.warning("event=send_lost l1_tx=%s", tx_hash)
                self._reset_send(tx_hash, "lost")

    def _settle_send(
        self, tx_hash: str, success: bool, gas_used: int, block: int, reason: str | None = None
    ) -> None:
        if success:
            self.store.record_send_outcome(tx_hash, "mined", gas_used, block)
            gas, txs = self.store.l1_gas_total()
            if txs:
                self.metrics.l1_gas_per_tx.set(gas / txs)
        else:
            logger.error("event=send_failed l1_tx=%s reason=%r", tx_hash, reason)
            self._reset_send(tx_hash, "failed", gas_used, block)

    def _reset_send(
        self, tx_hash: str, status: str, gas_used: int | None = None, block: int | None = None
    ) -> None:
        last = self.rollup.last_batch_sequenced()
        sends = {h: (a, b) for h, a, b in self.store.sends_by_status("sent")}
        first, _ = sends.get(tx_hash, (last + 1, last))
        if first <= last:
            # The L1 already holds these batches (sent some other way): never post them again.
            self.store.record_send_outcome(tx_hash, "mined", gas_used, block)
            return
        self.store.record_send_outcome(tx_hash, status, gas_used, block)

    def send_once(self, *, now_due: bool = False) -> None:
        """Settles in-flight sends, then posts the closed batches if the next block is due soon
        (`now_due`: as if it were; still at most once per block)."""
        in_flight = self.store.sends_by_status("sent")
        for tx_hash, _, _ in in_flight:
            receipt = self.chain.receipt_by_hash(_tx_hash(tx_hash))
            if receipt is not None:
                self._settle_send(
                    tx_hash, receipt.success, receipt.gas_used, receipt.block_number, receipt.revert_reason
                )
        if self._sent_for_block == self._seen_block:
            return  # one send per block: batches closed since wait for the next one
        due = (
            now_due
            or self._seen_block < 0
            or time.monotonic() >= self._seen_block_at + self.block_time - self.send_margin_s
        )
        if not due:
            return
        closed = self.store.batches_by_status("closed", limit=MAX_BATCHES_PER_CALL * 8)
        if not closed:
            return
        in_flight = self.store.sends_by_status("sent")
        expected = max([self.rollup.last_batch_sequenced(), *(b for _, _, b in in_flight)]) + 1
        closed = [b for b in closed if b.number >= expected]
        if not closed or closed[0].number != expected:
            return  # wait: an earlier batch is not closed yet, or everything is on L1 already
        for group in _groups(closed):
            sent = self.rollup.sequence_batches(
                [BatchData(b.data, b.timestamp, b.deposit_end) for b in group], sender=self.sequencer_address
            )
            self.store.mark_sending([b.number for b in group], "0x" + sent.hex(), self._clock())
            self.metrics.l1_sends.inc()
            logger.info(
                "event=batches_sent first=%d last=%d l1_tx=%s", group[0].number, group[-1].number, sent.hex()
            )
        self._sent_for_block = self._seen_block

    # -- syncer ----------------------------------------------------------------------------------

    def sync_once(self) -> None:
        """Reads the rollup's events from the blocks after the cursor and stores them."""
        latest = self.chain.latest_block().number
        if latest != self._seen_block:
            self._seen_block = latest
            self._seen_block_at = time.monotonic()
        if latest <= self._cursor:
            return
        to_block = min(latest, self._cursor + MAX_BLOCKS_PER_SYNC)
        now = self._clock()
        deposits: list[tuple[Deposit, int, float]] = []
        virtual: list[tuple[int, int, float]] = []
        consolidated: list[tuple[int, float]] = []
        for event in self.rollup.events(self._cursor + 1, to_block):
            if isinstance(event, SequencedBatch):
                stored = self.store.batch_by_number(event.batch_number)
                if stored is not None and stored.l1_acc_input_hash != event.acc_input_hash:
                    logger.critical("event=acc_input_hash_mismatch batch=%d", event.batch_number)
                virtual.append((event.batch_number, event.block_number, now))
            elif isinstance(event, DepositEvent):
                deposit = Deposit(
                    DepositIndex(event.deposit_index),
                    AccountIndex(event.account_index),
                    PublicKey(event.public_key),
                    Amount(event.amount_gwei),
                    L1Address(bytes.fromhex(event.sender[2:])),
                )
                deposits.append((deposit, event.block_number, now))
            elif isinstance(event, VerifiedBatches):
                consolidated.append((event.final_batch_number, now))
        newly_virtual = [
            b
            for n, _, _ in virtual
            if (b := self.store.batch_by_number(n)) is not None and b.status != "virtual"
        ]
        newly_consolidated = self._unconsolidated_upto(max((f for f, _ in consolidated), default=0))
        self.store.apply_l1_events(
            cursor=to_block, deposits=deposits, virtual=virtual, consolidated=consolidated
        )
        self._cursor = to_block
        if deposits:
            self.mempool.add_deposits([(d, at) for d, _, at in deposits])
        if self.on_feedback is not None and (newly_virtual or virtual):
            latencies = [now - b.closed_at for b in newly_virtual]
            waiting = len(self.store.batches_by_status("closed")) + len(
                self.store.batches_by_status("sending")
            )
            self.on_feedback(
                DownstreamFeedback(
                    now=time.monotonic(),
                    queue_depth=waiting,
                    downstream_latency=max(latencies) if latencies else None,
                )
            )
        for b in newly_virtual:
            self.metrics.observe_many(
                self.metrics.delay_virtual, (now - t for t in self.store.submitted_times(b.number, b.number))
            )
            self.metrics.batch_virtual.set(b.number)
        for b in newly_consolidated:
            self.metrics.observe_many(
                self.metrics.delay_consolidated,
                (now - t for t in self.store.submitted_times(b.number, b.number)),
            )
            self.metrics.batch_consolidated.set(b.number)

    def _unconsolidated_upto(self, final: int) -> list[StoredBatch]:
        if final <= 0:
            return []
        return [
            b
            for status in ("closed", "sending", "virtual")
            for b in self.store.batches_by_status(status, limit=100_000)
            if b.number <= final
        ]


def _groups(batches: list[StoredBatch]) -> list[list[StoredBatch]]:
    """Consecutive batches cut into sequenceBatches calls within the contract's limits."""
    groups: list[list[StoredBatch]] = []
    current: list[StoredBatch] = []
    size = 0
    for b in batches:
        if current and (len(current) == MAX_BATCHES_PER_CALL or size + len(b.data) > MAX_SEQUENCE_DATA_BYTES):
            groups.append(current)
            current, size = [], 0
        current.append(b)
        size += len(b.data)
    if current:
        groups.append(current)
    return groups


def _tx_hash(text: str) -> TxHash:
    """A stored "0x…" L1 transaction hash as bytes."""
    return TxHash(bytes.fromhex(text[2:]))
