"""The sequence sender: posts closed batches to the rollup contract, never one twice (also across crashes).

Rules:
- it posts only batches stored as `closed`, oldest first, and only if the first of them is the
  batch right after both the contract's `lastBatchSequenced` and every send still in flight;
- it records each send (`sending` + the L1 transaction hash) right after submitting it; a send
  whose transaction failed, or that the L1 no longer knows (the embedded chain's mempool dies with
  the process), goes back to `closed` — but only for batches above `lastBatchSequenced`;
- a send refused by the gas estimate while an earlier send of ours is still in flight is temporary
  (L1Behind, retried): the estimate did not see that send; with nothing in flight it is rejected;
- it groups the batches closed within one block time: it posts shortly before the next block is
  due (`send_margin_s`), at most once per block, up to the contract's 16 batches / 120 000 bytes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from zkpipe.errors import L1Behind, L1Reverted
from zkpipe.kpi import NodeMetrics
from zkpipe.l1.chain import Address, L1Chain, TxHash
from zkpipe.l1.rollup import MAX_BATCHES_PER_CALL, MAX_SEQUENCE_DATA_BYTES, BatchData, RollupContract

logger = logging.getLogger("zkpipe.l1.sender")


class PostableBatch(Protocol):
    """A closed batch as the sender reads it from the store."""

    @property
    def number(self) -> int: ...
    @property
    def data(self) -> bytes: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def deposit_end(self) -> int: ...


class SendLog(Protocol):
    """The part of the node's store the sender reads and writes."""

    def batches_by_status(self, status: str, limit: int = 1000) -> Sequence[PostableBatch]:
        """Batches in `status`, oldest first."""
        ...

    def mark_sending(self, numbers: Sequence[int], l1_tx_hash: str, sent_at: float) -> None:
        """Records that batches `numbers` went to L1 in `l1_tx_hash`."""
        ...

    def record_send_outcome(
        self, l1_tx_hash: str, status: str, gas_used: int | None, block: int | None
    ) -> None:
        """Stores what became of a send (mined / failed / lost)."""
        ...

    def sends_by_status(self, status: str) -> list[tuple[str, int, int]]:
        """`(l1_tx_hash, first_batch, last_batch)` of sends in `status`."""
        ...

    def l1_gas_total(self) -> tuple[int, int]:
        """Total sequencing gas and the transactions it covered."""
        ...


class SequenceSender:
    """Posts batches to L1; see the module docstring. `step()` is one round (the supervisor runs it)."""

    name = "sender"

    def __init__(
        self,
        chain: L1Chain,
        rollup: RollupContract,
        store: SendLog,
        metrics: NodeMetrics,
        *,
        sender: Address,
        block_time: float,
        send_margin_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.chain = chain
        self.rollup = rollup
        self.store = store
        self.metrics = metrics
        self.sequencer_address = sender
        self.block_time = block_time
        self.send_margin_s = send_margin_s
        self._clock = clock
        self.wakeup = threading.Event()
        """Set when a batch closes, so the sender looks at once."""
        self._seen_block = -1
        self._seen_block_at = 0.0  # monotonic time the newest block was first seen
        self._sent_for_block = -2  # the block number after which the last send happened

    def step(self) -> None:
        """Settles in-flight sends and posts what is due."""
        self.send_once()

    def reconcile(self) -> None:
        """Settles every send recorded as in flight: mined, failed, or unknown to the L1 (lost)."""
        for tx_hash, _, _ in self.store.sends_by_status("sent"):
            receipt = self.chain.receipt_by_hash(_tx_hash(tx_hash))
            if receipt is not None:
                self._settle(
                    tx_hash, receipt.success, receipt.gas_used, receipt.block_number, receipt.revert_reason
                )
            elif self.chain.transaction_by_hash(_tx_hash(tx_hash)) is None:
                logger.warning("event=send_lost l1_tx=%s", tx_hash)
                self._reset_send(tx_hash, "lost")

    def _settle(
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

    def _observe_block(self) -> None:
        latest = self.chain.latest_block().number
        if latest != self._seen_block:
            # Why 0.0 on the first look: after a (re)start the batches waiting are due at once.
            self._seen_block_at = time.monotonic() if self._seen_block >= 0 else 0.0
            self._seen_block = latest

    def send_once(self, *, now_due: bool = False) -> None:
        """Settles in-flight sends, then posts the closed batches if the next block is due soon
        (`now_due`: as if it were; still at most once per block)."""
        self._observe_block()
        for tx_hash, _, _ in self.store.sends_by_status("sent"):
            receipt = self.chain.receipt_by_hash(_tx_hash(tx_hash))
            if receipt is not None:
                self._settle(
                    tx_hash, receipt.success, receipt.gas_used, receipt.block_number, receipt.revert_reason
                )
        if self._sent_for_block == self._seen_block:
            return  # one send per block: batches closed since wait for the next one
        due = now_due or time.monotonic() >= self._seen_block_at + self.block_time - self.send_margin_s
        if not due:
            return
        closed = list(self.store.batches_by_status("closed", limit=MAX_BATCHES_PER_CALL * 8))
        if not closed:
            return
        in_flight = self.store.sends_by_status("sent")
        expected = max([self.rollup.last_batch_sequenced(), *(b for _, _, b in in_flight)]) + 1
        closed = [b for b in closed if b.number >= expected]
        if not closed or closed[0].number != expected:
            return  # wait: an earlier batch is not closed yet, or everything is on L1 already
        for group in compute_send_groups(closed):
            try:
                sent = self.rollup.sequence_batches(
                    [BatchData(b.data, b.timestamp, b.deposit_end) for b in group],
                    sender=self.sequencer_address,
                )
            except L1Reverted as err:
                if not in_flight and group[0].number == expected:
                    raise
                # Why temporary: the gas estimate ran on a state without our send still in flight
                # (anvil does not apply it), so its batches look missing ("wrong batch number").
                raise L1Behind(f"batch {group[0].number} waits for the send before it: {err.reason}") from err
            in_flight = [*in_flight, ("0x" + sent.hex(), group[0].number, group[-1].number)]
            self.store.mark_sending([b.number for b in group], "0x" + sent.hex(), self._clock())
            self.metrics.l1_sends.inc()
            logger.info(
                "event=batches_sent first=%d last=%d l1_tx=%s", group[0].number, group[-1].number, sent.hex()
            )
        self._sent_for_block = self._seen_block


def compute_send_groups(batches: Sequence[PostableBatch]) -> list[list[PostableBatch]]:
    """Consecutive batches cut into sequenceBatches calls within the contract's limits."""
    groups: list[list[PostableBatch]] = []
    current: list[PostableBatch] = []
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
