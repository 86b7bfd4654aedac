"""The node: built from its parts (store, L1 chain, executor, prover backend) by named constructors.

`new_local_node` runs on the embedded devnet; `new_rpc_node` on any `L1Chain` (e.g. a JSON-RPC node).
`start()` recovers the trusted state and wires the components — sequencer, L1 sender, L1 syncer,
proving pipeline — through the store and callbacks; a supervisor runs the L1 and proving components
and acts on the severity of their errors (see node/supervisor.py).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zkpipe.errors import InvalidInput
from zkpipe.execution import Executor, SequentialExecutor
from zkpipe.execution.engine import ExecutorFactory, executor_factory
from zkpipe.execution.signatures import VerifiedSignatures
from zkpipe.kpi import NodeMetrics
from zkpipe.kpi.figures import KpiReport
from zkpipe.kpi.report import RunCosts, TxTimes, compute_kpi_report, json_safe
from zkpipe.l1 import EmbeddedChain, RollupContract, require_success, wait_for_receipt
from zkpipe.l1.chain import Address, L1Chain, to_address
from zkpipe.l1.sender import SequenceSender
from zkpipe.l1.syncer import L1Syncer, SyncReport
from zkpipe.l1.withdrawals import withdrawal_proof_from_json
from zkpipe.node.config import NodeConfig, ProvingConfig
from zkpipe.node.deployment import L1Roles, deploy_or_attach, operator_fee_key
from zkpipe.node.l1chain import L1View, open_chain
from zkpipe.node.proving import ProvingPipeline, compute_prover_pool, new_backend, resolve_segment_size
from zkpipe.node.recovery import recover
from zkpipe.node.rpcjson import account_json, batch_json, hex_bytes, receipt_json
from zkpipe.node.store import Store
from zkpipe.node.supervisor import Supervisor
from zkpipe.node.withdrawals import withdrawal_proof_json
from zkpipe.proving.backends.base import ProverBackend
from zkpipe.sequencer.core import Sequencer
from zkpipe.sequencer.mempool import Mempool
from zkpipe.sequencer.policy import DownstreamFeedback
from zkpipe.spec import PUBLIC_KEY_BYTES, AccountIndex, ChainId, UserTransaction
from zkpipe.wire import ChainInfo, ComponentHealth, Health

logger = logging.getLogger("zkpipe.node")

DB_NAME = "node.db"
L1_DIR = "l1"
KPI_REFRESH_S = 2.0
"""Least interval between two refreshes of the KPI gauges in /metrics."""

BackendFactory = Callable[[ProvingConfig, int], ProverBackend]
"""Builds the prover backend for a segment size (warm local processes or Ray actors by default)."""


def _default_backend(config: ProvingConfig, k: int) -> ProverBackend:
    return new_backend(config, None, k)


@dataclass(frozen=True, slots=True)
class NodeParts:
    """What a node is built from; the named constructors fill it in."""

    chain: L1Chain
    roles: L1Roles
    open_store: Callable[[], Store]
    """Opens one connection to the node's store (the node opens one per thread)."""
    rollup_address: Address | None = None
    """Attach to this rollup contract instead of deploying one (ignored once the store knows one)."""
    new_executor: ExecutorFactory = SequentialExecutor
    new_backend: BackendFactory = _default_backend
    start_chain: Callable[[], None] | None = None
    """Starts the chain's block production (the embedded devnet), if the node owns it."""
    close_chain: Callable[[], None] | None = None


class Node:
    """A running sequencer node; `start()` recovers and starts every component, `stop()` stops them."""

    def __init__(self, config: NodeConfig, parts: NodeParts) -> None:
        self.config = config
        self.parts = parts
        self.chain = parts.chain
        self.roles = parts.roles
        self.data_dir = Path(config.data_dir)
        self.metrics = NodeMetrics()
        self.metrics.block_time.set(config.l1.block_time)
        self.supervisor = Supervisor()
        self.started_at = 0.0
        self._started = False
        self._kpis_refreshed = -math.inf
        self._kpi_lock = threading.Lock()
        self._kpi_cache: tuple[float, dict[str, Any] | None] = (-math.inf, None)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Opens the store, starts the L1 (deploying the rollup on first start), recovers, runs."""
        config, parts = self.config, self.parts
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = parts.open_store()
        self.reader = parts.open_store()
        self._stores = [self.store, self.reader]
        fee_pk = operator_fee_key(self.store, self.data_dir)
        if parts.start_chain is not None:
            parts.start_chain()
        self.rollup: RollupContract = deploy_or_attach(
            self.chain, self.store, self.roles, fee_pk,
            tree_depth=config.tree_depth, block_time=config.l1.block_time, chain_id=ChainId(config.chain_id),
            address=parts.rollup_address,
        )  # fmt: skip
        self._genesis_root = self.rollup.genesis_state_root()  # immutable: read once, not per chainInfo
        signatures = VerifiedSignatures(ChainId(config.chain_id))
        executor, last_seq, l1_acc = recover(
            self.store, fee_pk, config.tree_depth, signatures.check, parts.new_executor,
            chain_id=ChainId(config.chain_id),
        )  # fmt: skip
        self.executor: Executor = executor
        self.mempool = Mempool(config.mempool)
        self.mempool.add_deposits(self.store.deposits_from(executor.state.next_deposit_index))
        self.sender = SequenceSender(
            self.chain, self.rollup, self._open_store(), self.metrics, sender=self.roles.sequencer,
            block_time=config.l1.block_time, send_margin_s=config.l1.send_margin_s,
        )  # fmt: skip
        self.syncer = L1Syncer(
            self.chain, self.rollup, self._open_store(), self.metrics, on_report=self._on_sync
        )
        # Why a view of its own: reading it never waits on L1 (an outage must stall neither receipts
        # nor zk_chainInfo).
        self.l1_view = L1View(
            self.chain,
            self.rollup.consolidated_state_root,
            max(config.l1.poll_interval_s, config.l1.block_time / 4),
        )
        self.l1_view.start()
        self.sequencer = Sequencer(
            executor,
            self.store,
            self.mempool,
            config.batch.build(),
            self.metrics,
            last_seq=last_seq,
            last_l1_acc_input_hash=l1_acc,
            on_batch_closed=self.sender.wakeup.set,
            timestamp_floor=self.l1_view,
            signatures=signatures,
        )
        self.sender.reconcile()
        poll = config.l1.poll_interval_s
        self.supervisor.add(self.syncer, interval_s=poll)
        self.supervisor.add(self.sender, interval_s=poll, wakeup=self.sender.wakeup)
        self.proving: ProvingPipeline | None = None
        if config.proving.enabled:
            self.proving = ProvingPipeline(
                config.proving,
                self._open_store(),
                self.chain,
                self.rollup,
                aggregator=self.roles.aggregator,
                fee_public_key=fee_pk,
                data_dir=self.data_dir,
                backend=parts.new_backend(config.proving, resolve_segment_size(config.proving)),
            )
            self.proving.catch_up()
            self.supervisor.add(self.proving, interval_s=0.05)
        self.sequencer.start()
        self.supervisor.start()
        self.started_at = time.time()
        self._started = True
        logger.info(
            "event=node_started data_dir=%s rollup=%s batch=%d seq=%d",
            self.data_dir, self.rollup.address, executor.state.batch_number, last_seq,
        )  # fmt: skip

    def _open_store(self) -> Store:
        store = self.parts.open_store()
        self._stores.append(store)
        return store

    def _on_sync(self, report: SyncReport) -> None:
        """Hands what the syncer found to the sequencer: new deposits, and the downstream measurements."""
        if report.deposits:
            self.mempool.add_deposits(report.deposits)
        if report.saw_sequenced:
            latencies = [report.at - b.closed_at for b in report.newly_virtual]
            self.sequencer.observe(
                DownstreamFeedback(
                    now=time.monotonic(),
                    queue_depth=report.waiting,
                    downstream_latency=max(latencies) if latencies else None,
                )
            )

    def stop(self) -> None:
        """Stops accepting, finishes the current group, stops L1 and proving, closes the store."""
        if not self._started:
            return
        self._started = False
        self.sequencer.stop()
        self.supervisor.stop()
        self.l1_view.stop()
        if self.proving is not None:
            self.proving.close()
        if self.parts.close_chain is not None:
            self.parts.close_chain()
        for store in self._stores:
            store.close()
        logger.info("event=node_stopped")

    def __enter__(self) -> Node:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the RPC backend ------------------------------------------------------------------------------

    def submit(self, txs: list[UserTransaction], on_done: Any) -> None:
        """Queues user transactions (see Sequencer.submit)."""
        self.sequencer.submit(txs, on_done)

    def submit_many(self, items: list[tuple[list[UserTransaction], Any]]) -> None:
        """Queues several submissions, one callback each (see Sequencer.submit_many)."""
        self.sequencer.submit_many(items)

    def receipt_by_hash(self, tx_hash: bytes) -> dict[str, Any] | None:
        """A transaction's status and per-state timestamps, or None if unknown."""
        row = self.reader.tx_by_hash(tx_hash)
        return None if row is None else receipt_json(row)

    def account_by_index(self, index: int) -> dict[str, Any] | None:
        """The trusted account at `index`, or None if the slot is empty."""
        account = self.executor.account_by_index(AccountIndex(index))
        return None if account is None else account_json(index, account)

    def batch_by_number(self, number: int, with_transactions: bool = False) -> dict[str, Any] | None:
        """A closed batch: header, status, L1 inclusion, timestamps, transaction hashes."""
        row = self.reader.batch_by_number(number)
        if row is None:
            return None
        return batch_json(row, self.reader.tx_hashes_by_batch(number), with_transactions=with_transactions)

    def kpi_report(self) -> KpiReport:
        """The measured KPIs so far (consolidated transactions only count toward throughput)."""
        txs = [TxTimes(*row) for row in self.reader.tx_times()]
        batches = self.proving.batch_times() if self.proving is not None else []
        sequence_gas, sequenced_txs = self.reader.l1_gas_total()
        usage = self.proving.scheduler.utilisation() if self.proving is not None else {}
        costs = RunCosts(
            sequence_gas=sequence_gas,
            sequenced_txs=sequenced_txs,
            verify_gas=list(self.proving.record.verify_gas) if self.proving is not None else [],
            prover_busy_seconds=sum(u.busy_s for u in usage.values()),
            threads_per_prover=max(1, self.config.proving.threads_per_prover),
            block_intervals=self.l1_view.block_intervals(),  # why the view: zk_kpi never waits on L1
            network_bytes=sum(u.bytes_in + u.bytes_out for u in usage.values()),
        )
        return compute_kpi_report(txs, batches, costs)

    def kpi(self) -> dict[str, Any]:
        """The KPI report as JSON (NaN, for figures with no sample yet, becomes null).

        Computed at most once per KPI_REFRESH_S (it reads every stored transaction): concurrent
        callers wait for the one computation and share it, so no burst of calls monopolises the node.
        """
        with self._kpi_lock:
            at, cached = self._kpi_cache
            if cached is None or time.monotonic() - at >= KPI_REFRESH_S:
                cached = dict(json_safe(self.kpi_report().to_dict()))
                self._kpi_cache = (time.monotonic(), cached)
            return cached

    def chain_info(self) -> dict[str, Any]:
        """Latest trusted / virtual / consolidated batches, roots and the L1 position (never waits on L1)."""
        l1 = self.l1_view.seen
        heads = self.reader.batch_heads()
        last = self.reader.last_batch()
        # Why the last closed batch's root: it has its fees credited and is durably stored, so it is
        # a root the node stands behind (a batch proof will attest it); mid-batch roots are not.
        trusted_root = last.state_root if last is not None else self._genesis_root
        info = ChainInfo(
            chain_id=self.executor.state.chain_id,
            trusted_batch=heads["trusted"],
            virtual_batch=heads["virtual"],
            consolidated_batch=heads["consolidated"],
            open_batch=heads["trusted"] + 1,
            trusted_state_root=hex_bytes(trusted_root),
            consolidated_state_root=hex_bytes(l1.consolidated_state_root),
            next_deposit_index=str(self.executor.state.next_deposit_index),
            mempool_size=len(self.mempool),
            l1_block=l1.block,
            l1_block_time=self.config.l1.block_time,
            l1_view_age_s=round(self.l1_view.age_s(), 3),
            l1_degraded=self.l1_view.is_degraded(),
            rollup_address=self.rollup.address,
            health=self._health(),
        )
        return info.model_dump(mode="json")

    def prover_pool(self) -> dict[str, Any] | None:
        """The prover workers, the quarantined ones and the traffic per kind of job (None: not proving)."""
        if self.proving is None:
            return None
        return compute_prover_pool(self.proving.backend, self.proving.scheduler).model_dump(mode="json")

    def dev_deposit(self, account_index: int, public_key_bytes: bytes, amount: int) -> str:
        """Deposits from the embedded L1's dev account (devnet only); returns the L1 transaction hash."""
        if len(public_key_bytes) != PUBLIC_KEY_BYTES:
            raise InvalidInput(f"a public key is {PUBLIC_KEY_BYTES} bytes")
        if not 0 <= account_index < 2**32 or not 0 < amount < 2**64:
            raise InvalidInput("account index must be a u32 and amount in [1, 2**64)")
        return hex_bytes(
            self.rollup.deposit(account_index, public_key_bytes, amount, sender=self.roles.depositor)
        )

    def withdrawal_proof_by_tx(self, tx_hash: bytes) -> dict[str, Any] | None:
        """The claim proof of the payout `tx_hash` made, once L1 verified its window (else None)."""
        return withdrawal_proof_json(self.reader, self.rollup, tx_hash)

    def dev_claim_withdrawal(self, tx_hash: bytes) -> str:
        """Claims the payout of `tx_hash` on the L1 from the dev depositor account (devnet only);
        waits for inclusion and returns the L1 transaction hash. L1Reverted if L1 refuses the claim."""
        found = self.withdrawal_proof_by_tx(tx_hash)
        if found is None:
            raise InvalidInput("no verified withdrawal for that transaction (yet)")
        proof = withdrawal_proof_from_json(found)
        sent = self.rollup.claim_withdrawal(proof, sender=self.roles.depositor)
        require_success(wait_for_receipt(self.chain, sent, timeout=max(30.0, 10 * self.config.l1.block_time)))
        return hex_bytes(sent)

    def metrics_text(self) -> bytes:
        """Prometheus exposition (with the proving KPIs when the node proves)."""
        # Why throttled: a KPI report reads every stored transaction; scrapers may poll often.
        if self.proving is not None and time.monotonic() - self._kpis_refreshed >= KPI_REFRESH_S:
            self._kpis_refreshed = time.monotonic()
            report = self.kpi_report().to_dict()
            figures = {k: float(v) for k, v in report.items() if isinstance(v, int | float) and k != "source"}
            for state in ("trusted", "virtual", "consolidated"):
                for q, v in report[f"delay_{state}"].items():
                    figures[f"delay_{state}_{q}"] = float(v)
            scheduler = self.proving.scheduler
            usage = scheduler.utilisation()
            self.metrics.set_kpis(figures, {w: u.busy_s for w, u in usage.items()})
            self.metrics.set_pool(
                scheduler.quarantined,
                [w.worker_id for w in self.proving.backend.workers()],
                {str(kind): (n.bytes_in, n.bytes_out) for kind, n in scheduler.network().items()},
            )
        return self.metrics.render()

    def failures(self) -> dict[str, str]:
        """Why each stopped component stopped (empty when all run)."""
        failures = dict(self.supervisor.failures())
        if self.sequencer.failure is not None:
            failures["sequencer"] = repr(self.sequencer.failure)
        return failures

    def _health(self) -> Health:
        failures = self.failures()
        components = {
            name: ComponentHealth(
                running=h.running, failure=h.failure, retries=h.retries,
                rejected=h.rejected, resets=h.resets, last_error=h.last_error,
            )
            for name, h in self.supervisor.health().items()
        }  # fmt: skip
        return Health(ok=not failures, failures=failures, components=components)

    def health(self) -> dict[str, Any]:
        """Liveness of the components, and what the supervisor did about their errors."""
        return self._health().model_dump(mode="json")


def _store_opener(config: NodeConfig) -> Callable[[], Store]:
    path = Path(config.data_dir) / DB_NAME
    return lambda: Store(path, synchronous=config.store.synchronous)


def new_local_node(config: NodeConfig, *, new_executor: ExecutorFactory | None = None) -> Node:
    """A node on the embedded devnet (in this process, persisted under data_dir/l1); its executor is
    `new_executor`, or the one `execution.engine` names."""
    chain = EmbeddedChain(Path(config.data_dir) / L1_DIR, block_time=config.l1.block_time)
    parts = NodeParts(
        chain=chain,
        roles=L1Roles.from_accounts(chain.accounts),
        open_store=_store_opener(config),
        new_executor=new_executor or executor_factory(config.execution.engine),
        start_chain=chain.start,
        close_chain=chain.close,
    )
    return Node(config, parts)


def new_rpc_node(
    config: NodeConfig,
    chain: L1Chain,
    roles: L1Roles,
    *,
    rollup_address: Address | None = None,
    new_executor: ExecutorFactory | None = None,
    close_chain: Callable[[], None] | None = None,
) -> Node:
    """A node on any L1 chain (e.g. a JSON-RPC node): deploys the rollup, or attaches to `rollup_address`."""
    parts = NodeParts(
        chain=chain,
        roles=roles,
        open_store=_store_opener(config),
        rollup_address=rollup_address,
        new_executor=new_executor or executor_factory(config.execution.engine),
        close_chain=close_chain,
    )
    return Node(config, parts)


def new_node(config: NodeConfig) -> Node:
    """The node `config.l1` describes: the embedded devnet, or a JSON-RPC node (`l1.rpc_url`, keys)."""
    if config.l1.kind == "embedded":
        return new_local_node(config)
    Path(config.data_dir).mkdir(parents=True, exist_ok=True)  # the chain's journal lives there
    opened = open_chain(config)
    return new_rpc_node(
        config,
        opened.chain,
        L1Roles.from_accounts(opened.accounts),
        rollup_address=to_address(config.l1.rollup_address) if config.l1.rollup_address else None,
        close_chain=opened.close,
    )


__all__ = ["L1Roles", "Node", "NodeParts", "new_local_node", "new_node", "new_rpc_node"]
