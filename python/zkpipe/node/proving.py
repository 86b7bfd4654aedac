"""The node's proving half: sequenced batches → segment proofs → one aggregate per window → L1.

The supervisor steps it on its own thread; it follows the store. Each batch that is provable
(virtual on L1, or closed when `prove_from = "trusted"`) is re-applied with the spec from the state
after the previous batch, which yields its segment witnesses; the segmenter turns them into jobs for
the aggregator (proving/aggregator.py), which forms windows of N batches (or fewer after
`aggregation_timeout_s`) and has the scheduler fold each into one proof. Before that proof goes to
L1 the node checks that it proves exactly the sequenced data from the consolidated state: the data
it proved hashes to L1's accumulated input hash, its start root is L1's consolidated root, and its
statement is the spec's. Then `verifyBatches` consolidates the window (the syncer marks the batches
when L1 reports it).

With `proving.bind_to_l1` each batch is also proven at the batch level (ADR 29): a DATA job proves
that its posted bytes hash, in circuit, to L1's accumulated input hash, and a JOIN job joins that
proof with the batch's segments; both are verified on receipt like every job, and before the window
goes to L1 each join's acc_in/acc_out must equal L1's stored accInputHash around its batch.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from zkpipe.errors import L1Behind, ProvingFailed, SnapshotInvalid, StorageError
from zkpipe.execution import digest_bytes
from zkpipe.extras import require
from zkpipe.kpi.report import BatchTimes
from zkpipe.l1 import RollupContract, wait_for_receipt
from zkpipe.l1.chain import Address, L1Chain, TxHash
from zkpipe.l1.rollup import BatchData
from zkpipe.l1.verifier import DEV_PROOF
from zkpipe.l1.withdrawals import WithdrawalTree
from zkpipe.node.config import ProvingConfig
from zkpipe.node.recovery import compute_state_at
from zkpipe.node.store import Store, StoredBatch
from zkpipe.node.withdrawals import compute_claim_proofs, compute_window_payouts
from zkpipe.proving.aggregator import Aggregator, BatchProving, Window
from zkpipe.proving.backends.base import ProverBackend
from zkpipe.proving.jobs import DataJob, JobStore, SegmentJob, compute_joined_statement
from zkpipe.proving.proof import Proof
from zkpipe.proving.scheduler import EventKind, Scheduler, SchedulerConfig
from zkpipe.proving.segmenter import Segmenter
from zkpipe.proving.statement import Statement
from zkpipe.spec import (
    BatchResult,
    ChainId,
    PublicKey,
    State,
    apply_batch,
    compute_batch_input_hash,
    decode_batch,
    initial_state,
)
from zkpipe.wire import JobTraffic, ProverPool, ProverWorker, QuarantinedWorker

logger = logging.getLogger("zkpipe.node.proving")

JOBS_DB = "jobs.db"


@dataclass(slots=True)
class ProvingBatch:
    """A batch the pipeline has re-applied: the spec's result, the state before, its aggregator entry."""

    stored: StoredBatch
    result: BatchResult
    state_before: State
    proving: BatchProving

    @property
    def jobs(self) -> list[SegmentJob]:
        """Its segment jobs."""
        return self.proving.jobs


@dataclass(slots=True)
class Consolidation:
    """A window verified on L1."""

    window: Window
    verify_tx: TxHash
    verify_gas: int
    withdrawals: WithdrawalTree


@dataclass(slots=True)
class ProvingRecord:
    """What the pipeline did, for the KPI report."""

    batches: dict[int, ProvingBatch] = field(default_factory=dict)
    consolidations: list[Consolidation] = field(default_factory=list)

    @property
    def verify_gas(self) -> list[int]:
        """Gas of each verifyBatches, in order."""
        return [c.verify_gas for c in self.consolidations]


def resolve_segment_size(config: ProvingConfig, *, batch_txs: int | None = None) -> int:
    """The configured segment size, or (segment_size 0) the cheapest that fits the memory budget."""
    if config.segment_size:
        return config.segment_size
    budget = config.memory_budget_mib * 2**20
    if not budget:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        budget = total // max(1, config.workers or (os.cpu_count() or 1))
    return Segmenter.for_memory_budget(budget, batch_txs=batch_txs).k


def new_backend(config: ProvingConfig, cache_dir: Path | None, k: int) -> ProverBackend:
    """The configured prover backend (warm local processes, or Ray actors)."""
    if config.backend == "ray":
        require("ray", needed_for="proving.backend 'ray'")
        from zkpipe.proving.backends.ray import RayBackend

        return RayBackend(
            config.workers or 2,
            address=config.ray_address or None,
            threads=config.threads_per_prover,
            cache_dir=cache_dir,
            preload=(k,),
        )
    from zkpipe.proving.backends.local import LocalBackend

    return LocalBackend(
        config.workers or None,
        threads=config.threads_per_prover,
        cache_dir=cache_dir,
        preload=(k,),
    )


def compute_prover_pool(backend: ProverBackend, scheduler: Scheduler) -> ProverPool:
    """The prover workers as the scheduler sees them, the quarantined ones and the traffic per job kind."""
    usage = scheduler.utilisation()
    quarantined = scheduler.store.quarantined()
    workers = []
    for w in backend.workers():
        u = usage.get(w.worker_id)
        workers.append(
            ProverWorker(
                worker_id=w.worker_id,
                ready=w.ready,
                job_id=w.job_id,
                host=w.host,
                busy_s=round(u.busy_s, 3) if u else 0.0,
                accepted=u.accepted if u else 0,
                rejected=u.rejected if u else 0,
                failed=u.failed if u else 0,
                bytes_in=u.bytes_in if u else 0,
                bytes_out=u.bytes_out if u else 0,
                quarantined=w.worker_id in quarantined,
            )
        )
    return ProverPool(
        backend=type(backend).__name__,
        workers=workers,
        quarantined=[
            QuarantinedWorker(worker_id=q.worker_id, host=q.host, reason=q.reason, since=q.since)
            for q in quarantined.values()
        ],
        network={
            str(kind): JobTraffic(
                jobs=n.jobs,
                copies=n.copies,
                bytes_in=n.bytes_in,
                bytes_out=n.bytes_out,
                bytes_per_job=round(n.bytes_per_job, 1),
            )
            for kind, n in scheduler.network().items()
        },
    )


def compute_batch_times(
    store: Store, proving: Mapping[int, ProvingBatch], numbers: Iterable[int]
) -> list[BatchTimes]:
    """Stage timestamps of the stored batches `numbers`; the proving marks come from `proving`
    (None for a batch the pipeline has not taken)."""
    out = []
    for number in numbers:
        b = proving.get(number)
        stored = store.batch_by_number(number) or (b.stored if b is not None else None)
        if stored is None:
            continue
        opened = min(store.submitted_times(number, number), default=stored.closed_at)
        out.append(
            BatchTimes(
                number=number,
                txs=stored.tx_count,
                opened=min(opened, stored.closed_at),
                closed=stored.closed_at,
                virtual=stored.virtual_at,
                proving_started=None if b is None else b.proving.queued_at,
                proven=None if b is None else b.proving.proven,
                aggregated=None if b is None else b.proving.aggregated,
                consolidated=stored.consolidated_at,
            )
        )
    return out


def compute_proven_state(store: Store, genesis: State, consolidated: int, k: int) -> tuple[State, int]:
    """The state after batch `consolidated` and how many batches were re-applied to reach it: from the
    stored proven state when it is at most `consolidated` (and matches its batch's root), else from
    `genesis`; a stored state that does not match is ignored (SNAPSHOT_INVALID, logged)."""
    state, start = genesis, 0
    proven = store.proven_state()
    if proven is not None and 0 < proven[0] <= consolidated:
        batch, accounts = proven
        stored = store.batch_by_number(batch)
        try:
            if stored is None:
                raise SnapshotInvalid(f"the proven state is of batch {batch}, which is not stored")
            state = compute_state_at(stored, accounts, genesis.tree.depth, genesis.chain_id)
            start = batch
        except SnapshotInvalid as err:
            logger.warning("event=proven_state_ignored code=%s reason=%s", err.code, err.message)
    for number in range(start + 1, consolidated + 1):
        stored = store.batch_by_number(number)
        if stored is None:
            raise StorageError(f"batch {number} is on L1 but not in the store")
        state = apply_batch(state, decode_batch(stored.data), k).state
    return state, consolidated - start


class ProvingPipeline:
    """Proves the node's batches and consolidates them on L1 (see the module docstring)."""

    name = "proving"

    def __init__(
        self,
        config: ProvingConfig,
        store: Store,
        chain: L1Chain,
        rollup: RollupContract,
        *,
        aggregator: Address,
        fee_public_key: PublicKey,
        data_dir: Path,
        backend: ProverBackend,
        cache_dir: Path | None = None,
    ) -> None:
        self.config = config
        self.segmenter = Segmenter(resolve_segment_size(config))
        self.store = store
        self.chain = chain
        self.rollup = rollup
        self.aggregator_address = aggregator
        self.backend = backend
        self.scheduler = Scheduler(
            backend,
            JobStore(data_dir / JOBS_DB),
            SchedulerConfig(job_timeout_s=config.job_timeout_s, redundancy=config.redundancy),
            cache_dir=cache_dir,
        )
        self.aggregator = Aggregator(
            self.scheduler, n=config.aggregation_n, timeout_s=config.aggregation_timeout_s
        )
        self.record = ProvingRecord()
        self._state = initial_state(fee_public_key, chain_id=ChainId(rollup.chain_id()))
        self._next_batch = 1
        self.reapplied = 0
        """Consolidated batches `catch_up` re-applied (those after the stored proven state)."""

    @property
    def k(self) -> int:
        """The segment size."""
        return self.segmenter.k

    # -- lifecycle ----------------------------------------------------------------------------

    def catch_up(self) -> None:
        """Stands at the state after the batches L1 already consolidated (see `compute_proven_state`)."""
        consolidated = self.rollup.last_verified_batch()
        self._state, self.reapplied = compute_proven_state(self.store, self._state, consolidated, self.k)
        self._next_batch = consolidated + 1

    def close(self) -> None:
        """Stops the backend's workers."""
        self.backend.close()

    # -- the loop -----------------------------------------------------------------------------

    def step(self) -> None:
        """Queues newly provable batches, forms windows, drives the provers, consolidates finished windows."""
        self._take_new_batches()
        self.aggregator.step()
        self.scheduler.step()
        self._settle_windows()

    def _is_provable(self, stored: StoredBatch) -> bool:
        if stored.status in ("virtual", "consolidated"):
            return True
        return self.config.prove_from == "trusted"

    def _take_new_batches(self) -> None:
        """Re-applies each newly provable batch with the spec and queues its segments."""
        while True:
            stored = self.store.batch_by_number(self._next_batch)
            if stored is None or not self._is_provable(stored):
                return
            before = self._state
            result = apply_batch(before, decode_batch(stored.data), self.k)
            # The sequencer and the spec must agree before anything is proven.
            if digest_bytes(result.state.tree.root) != stored.state_root:
                raise StorageError(f"batch {stored.number}: the spec's root differs from the sequencer's")
            jobs = self.segmenter.jobs(result)
            entry = self.aggregator.add(stored.number, jobs, self._data_job(stored, jobs))
            self.record.batches[stored.number] = ProvingBatch(stored, result, before, entry)
            self._state = result.state
            self._next_batch += 1
            logger.info("event=batch_queued batch=%d segments=%d", stored.number, len(entry.jobs))

    def _data_job(self, stored: StoredBatch, jobs: Sequence[SegmentJob]) -> DataJob | None:
        """The batch's DATA job when the batch level is on (`proving.bind_to_l1`), else None."""
        if not self.config.bind_to_l1:
            return None
        segments = jobs[0].expected
        for job in jobs[1:]:
            segments = compute_joined_statement(segments, job.expected)
        previous = self.store.batch_by_number(stored.number - 1)
        # L1's hash before the batch: as the sequencer computed it (the join's is checked against L1's later).
        acc_in = previous.l1_acc_input_hash if previous is not None else self.rollup.acc_input_hash(0)
        return DataJob(stored.number, self.k, self.config.data_blocks, stored.data, segments, acc_in)

    def _settle_windows(self) -> None:
        """Sends each finished aggregate to L1, oldest window first."""
        while (window := self.aggregator.next_finished()) is not None:
            assert window.proof is not None
            self.check_joins_against_l1(window)
            self._consolidate(window, window.proof)
            self.aggregator.pop_finished()

    def check_joins_against_l1(self, window: Window) -> None:
        """With the batch level on: raises ProvingFailed unless every batch's verified join starts at
        L1's accInputHash before the batch and ends at L1's after it, the first at L1's consolidated
        root; L1Behind while the window's last batch is not sequenced yet."""
        if not window.batches[0].is_bound:
            return
        if self.rollup.last_batch_sequenced() < window.last:
            raise L1Behind(f"batch {window.last} is not sequenced on L1 yet")
        for batch in window.batches:
            assert batch.join is not None and batch.join.statement is not None
            statement = batch.join.statement
            if (statement.acc_in, statement.acc_out) != (
                self.rollup.acc_input_hash(batch.number - 1),
                self.rollup.acc_input_hash(batch.number),
            ):
                raise ProvingFailed(f"batch {batch.number}: its join's accumulated input hashes are not L1's")
        first = window.batches[0].join
        assert first is not None and first.statement is not None
        if digest_bytes(first.statement.root_before) != self.rollup.consolidated_state_root():
            raise ProvingFailed(f"batch {window.first}: its join does not start at L1's consolidated root")

    # -- consolidation ------------------------------------------------------------------------

    def check_against_l1(self, batches: Sequence[ProvingBatch], statement: Statement) -> None:
        """Raises ProvingFailed unless the aggregate proves exactly L1's sequenced data from L1's root,
        L1Behind (temporary: the supervisor retries) while its last batch is not sequenced yet."""
        first, last = batches[0].stored.number, batches[-1].stored.number
        if self.rollup.last_batch_sequenced() < last:
            # Why temporary: with prove_from = "trusted" a proof may be ready before its batches are posted.
            raise L1Behind(f"batch {last} is not sequenced on L1 yet")
        # The data the proof was built from is the data L1 holds: it hashes to L1's acc input hash.
        acc = self.rollup.acc_input_hash(first - 1)
        for batch in batches:
            acc = compute_batch_input_hash(acc, batch.stored.data, self._state.chain_id)
        if acc != self.rollup.acc_input_hash(last):
            raise ProvingFailed(f"batches {first}-{last}: proven data differs from L1's sequenced data")
        if digest_bytes(statement.root_before) != self.rollup.consolidated_state_root():
            raise ProvingFailed(f"batches {first}-{last}: the proof does not start at L1's consolidated root")
        # The proof consumed exactly L1's queue entries for these batches, for this deployment.
        if (
            statement.queue_in != batches[0].stored.deposit_start
            or statement.queue_out != batches[-1].stored.deposit_end
            or statement.chain_id != self.rollup.chain_id()
        ):
            raise ProvingFailed(f"batches {first}-{last}: the proof's queue range or chain id is not L1's")
        expected_before, expected_after = batches[0].state_before, batches[-1].result.state
        if (
            statement.root_after != expected_after.tree.root
            or statement.commitments_in != expected_before.commitments
            or statement.commitments_out != expected_after.commitments
        ):
            raise ProvingFailed(f"batches {first}-{last}: the proof's statement is not the spec's")

    def _consolidate(self, window: Window, proof: Proof) -> None:
        """Checks the aggregate and sends verifyBatches with its statement's new state and chain heads.

        The proof sent is the dev verifier's (the node does not wrap its aggregates yet: docs/wrap.md),
        so a rollup deployed with the Groth16 verifier refuses it."""
        batches = [self.record.batches[b.number] for b in window.batches]
        self.check_against_l1(batches, proof.statement)
        final = window.last
        payouts = compute_window_payouts([(b.stored.number, b.result) for b in batches])
        tree, claim_proofs = compute_claim_proofs(payouts, final)
        # Why before verifyBatches: a node killed after it must still be able to serve every claim.
        self.store.store_claim_proofs(claim_proofs)
        out, last = proof.statement, batches[-1].stored
        tx_hash = self.rollup.verify_batches(
            final,
            BatchData(last.data, last.timestamp, last.deposit_end),
            digest_bytes(out.root_after),
            [digest_bytes(out.data_out), digest_bytes(out.withdrawals_out), digest_bytes(out.deposits_out)],
            out.fee_total,
            tree.root,
            DEV_PROOF,
            sender=self.aggregator_address,
        )
        receipt = wait_for_receipt(self.chain, tx_hash, timeout=120.0)
        if not receipt.success:
            raise ProvingFailed(f"verifyBatches for batch {final} reverted: {receipt.revert_reason}")
        self.record.consolidations.append(Consolidation(window, tx_hash, receipt.gas_used, tree))
        # Why after the receipt: the snapshot must be of a consolidated batch (a restart starts there).
        self.store.store_proven_state(final, batches[-1].result.state.accounts)
        logger.info(
            "event=window_verified final=%d segments=%d gas=%d",
            final,
            proof.provenance.segments,
            receipt.gas_used,
        )

    # -- reports ------------------------------------------------------------------------------

    def batch_times(self) -> list[BatchTimes]:
        """Per-batch stage timestamps of every batch the pipeline took, for the KPI report."""
        return compute_batch_times(self.store, self.record.batches, sorted(self.record.batches))

    def job_work_seconds(self) -> dict[str, list[float]]:
        """Seconds a worker was held by each accepted job (start to acceptance), by kind.

        This is the *work* of a job as the scheduler sees it (proving, verification and collection
        included, queueing excluded): the per-job service time the simulator puts on its provers.
        Keys: ``segment`` and ``aggregate``, and ``data`` and ``join`` (batch level, empty when it is
        off); each list in the order the jobs started.
        """
        started: dict[tuple[str | None, str | None], float] = {}
        jobs: dict[str, list[tuple[float, float]]] = {"segment": [], "aggregate": [], "data": [], "join": []}
        for event in list(self.scheduler.events):
            key = (event.job_id, event.worker_id)
            if event.kind in (EventKind.STARTED, EventKind.DUPLICATE_STARTED):
                started[key] = event.at
            elif event.kind is EventKind.ACCEPTED and key in started and event.job_id is not None:
                kind = str(self.scheduler.job_by_id(event.job_id).kind)
                at = started.pop(key)
                jobs[kind].append((at, event.at - at))
        return {kind: [seconds for _, seconds in sorted(pairs)] for kind, pairs in jobs.items()}
