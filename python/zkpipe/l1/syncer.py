"""The L1 syncer: reads the rollup's events block by block and stores them with its cursor atomically.

`SequenceBatch` → the batch is virtual, `Deposit` → the deposit queue, `VerifyBatches` → batches up
to it are consolidated. What the pipeline needs to hear (new deposits, newly virtual or consolidated
batches) goes out as one `SyncReport` per step.

If L1's accumulated input hash for a batch differs from the one stored when the batch closed, the
batch is not marked virtual: the step raises `L1Diverged` (a reset), and `reset` re-syncs from the
block of the last batch that agreed. A batch that still differs after a re-sync is critical: the L1
holds other data than this node sequenced, and the syncer stops.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from zkpipe.errors import L1Diverged, StorageError, ZkpipeError
from zkpipe.kpi import NodeMetrics
from zkpipe.l1.chain import L1Chain
from zkpipe.l1.rollup import DepositEvent, RollupContract, SequencedBatch, VerifiedBatches
from zkpipe.spec import AccountIndex, Amount, Deposit, DepositIndex, L1Address, PublicKey

logger = logging.getLogger("zkpipe.l1.syncer")

MAX_BLOCKS_PER_SYNC = 500
RESYNC_DEPTH = 64
"""Blocks a re-sync after an L1 re-org reads again."""
CURSOR_KEY = "l1_cursor"
ORIGIN_KEY = "l1_origin"
"""The block before the rollup's deployment: the earliest a re-sync reads from."""


class SyncedBatch(Protocol):
    """A stored batch as the syncer reads it."""

    @property
    def number(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def closed_at(self) -> float: ...
    @property
    def l1_acc_input_hash(self) -> bytes: ...
    @property
    def l1_block(self) -> int | None: ...


class EventLog(Protocol):
    """The part of the node's store the syncer reads and writes."""

    def meta(self, key: str) -> str | None:
        """A stored setting."""
        ...

    def batch_by_number(self, number: int) -> SyncedBatch | None:
        """A closed batch."""
        ...

    def batches_by_status(self, status: str, limit: int = 1000) -> Sequence[SyncedBatch]:
        """Batches in `status`, oldest first."""
        ...

    def submitted_times(self, first_batch: int, last_batch: int) -> list[float]:
        """Submission times of the transactions of batches `first_batch..last_batch`."""
        ...

    def apply_l1_events(
        self,
        *,
        cursor: int,
        deposits: Sequence[tuple[Deposit, int, float]],
        virtual: Sequence[tuple[int, int, float]],
        consolidated: Sequence[tuple[int, float]],
    ) -> None:
        """Stores events up to block `cursor` atomically with the cursor."""
        ...

    def rewind_l1(self, cursor: int) -> None:
        """Forgets what was stored from blocks after `cursor` (virtual batches there go back to closed)."""
        ...


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What one sync step found, for the pipeline."""

    at: float
    deposits: list[tuple[Deposit, float]] = field(default_factory=list)
    newly_virtual: list[SyncedBatch] = field(default_factory=list)
    """Batches that became virtual in this step (with their `closed_at`)."""
    saw_sequenced: bool = False
    waiting: int = 0
    """Batches closed but not yet virtual, after this step."""


class L1Syncer:
    """Follows the rollup contract's events; see the module docstring."""

    name = "syncer"

    def __init__(
        self,
        chain: L1Chain,
        rollup: RollupContract,
        store: EventLog,
        metrics: NodeMetrics,
        *,
        on_report: Callable[[SyncReport], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.chain = chain
        self.rollup = rollup
        self.store = store
        self.metrics = metrics
        self.on_report = on_report
        self._clock = clock
        cursor = store.meta(CURSOR_KEY)
        self._cursor = int(cursor) if cursor is not None else -1
        self._diverged: dict[int, int] = {}
        """Batch number → how many re-syncs it has diverged through."""

    @property
    def cursor(self) -> int:
        """The last L1 block whose events are stored."""
        return self._cursor

    def step(self) -> None:
        """One sync round."""
        self.sync_once()

    def reset(self, err: ZkpipeError) -> None:
        """Re-syncs from L1: after a divergence from the block of the last batch that agreed, after a
        re-org from RESYNC_DEPTH blocks back; what was stored from those blocks is forgotten first."""
        origin = int(self.store.meta(ORIGIN_KEY) or "-1")
        number = err.batch_number if isinstance(err, L1Diverged) else None
        if number is not None:
            if self._diverged.get(number, 0) >= 1:
                raise StorageError(f"L1 holds other data for batch {number} than this node made") from err
            self._diverged[number] = self._diverged.get(number, 0) + 1
            previous = self.store.batch_by_number(number - 1)
            block = previous.l1_block if previous is not None else None
            back_to = block if block is not None else origin + 1
        else:
            back_to = self._cursor - RESYNC_DEPTH + 1
        self._cursor = max(origin, min(self._cursor, back_to - 1))
        self.store.rewind_l1(self._cursor)
        logger.warning("event=l1_resync batch=%s code=%s from_block=%d", number, err.code, self._cursor + 1)

    def sync_once(self) -> None:
        """Reads the rollup's events from the blocks after the cursor and stores them."""
        latest = self.chain.latest_block().number
        if latest <= self._cursor:
            return
        to_block = min(latest, self._cursor + MAX_BLOCKS_PER_SYNC)
        now = self._clock()
        deposits: list[tuple[Deposit, int, float]] = []
        virtual: list[tuple[int, int, float]] = []
        consolidated: list[tuple[int, float]] = []
        diverged: L1Diverged | None = None
        for event in self.rollup.events(self._cursor + 1, to_block):
            if isinstance(event, SequencedBatch):
                stored = self.store.batch_by_number(event.batch_number)
                if stored is not None and stored.l1_acc_input_hash != event.acc_input_hash:
                    # Keep only what came before this block; the batch is not virtual.
                    diverged = L1Diverged(
                        f"batch {event.batch_number}: L1's accumulated input hash is not the stored one",
                        batch_number=event.batch_number,
                    )
                    to_block = event.block_number - 1
                    break
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
        if diverged is not None:
            deposits = [d for d in deposits if d[1] <= to_block]
            virtual = [v for v in virtual if v[1] <= to_block]
            consolidated = []
        if to_block > self._cursor:
            self._store(to_block, now, deposits, virtual, consolidated)
        if diverged is not None:
            logger.critical("event=acc_input_hash_mismatch batch=%d", diverged.batch_number)
            raise diverged

    def _store(
        self,
        to_block: int,
        now: float,
        deposits: list[tuple[Deposit, int, float]],
        virtual: list[tuple[int, int, float]],
        consolidated: list[tuple[int, float]],
    ) -> None:
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
        if self.on_report is not None and (deposits or virtual):
            waiting = len(self.store.batches_by_status("closed")) + len(
                self.store.batches_by_status("sending")
            )
            self.on_report(
                SyncReport(
                    at=now,
                    deposits=[(d, at) for d, _, at in deposits],
                    newly_virtual=newly_virtual,
                    saw_sequenced=bool(virtual),
                    waiting=waiting,
                )
            )

    def _unconsolidated_upto(self, final: int) -> list[SyncedBatch]:
        if final <= 0:
            return []
        return [
            b
            for status in ("closed", "sending", "virtual")
            for b in self.store.batches_by_status(status, limit=100_000)
            if b.number <= final
        ]
