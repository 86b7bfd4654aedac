"""The node: wires the store, executor, mempool, sequencer, embedded L1 and the L1 worker together."""

from __future__ import annotations

import itertools
import logging
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zkpipe.errors import InvalidInput
from zkpipe.execution import SequentialExecutor, digest_bytes
from zkpipe.execution.engine import executor_factory
from zkpipe.execution.signatures import VerifiedSignatures
from zkpipe.kpi import NodeMetrics
from zkpipe.kpi.report import RunCosts, TxTimes, compute_kpi_report, json_safe
from zkpipe.l1 import RollupContract, wait_for_receipt
from zkpipe.l1.chain import Address, L1Chain, to_address
from zkpipe.native import keygen, public_key
from zkpipe.node.config import ConfigError, NodeConfig
from zkpipe.node.l1chain import BlockClock, open_chain
from zkpipe.node.l1worker import L1Worker
from zkpipe.node.proving import ProvingPipeline, new_backend, resolve_segment_size
from zkpipe.node.recovery import recover
from zkpipe.node.store import Store, StoredBatch, StoredTx
from zkpipe.planner.kpi import KpiReport
from zkpipe.sequencer.core import Sequencer
from zkpipe.sequencer.mempool import Mempool
from zkpipe.spec import (
    CHAIN_ID,
    PUBLIC_KEY_BYTES,
    AccountIndex,
    PublicKey,
    UserTransaction,
    decode_batch,
    initial_state,
    tx_to_json,
)
from zkpipe.spec import decode_tx as spec_decode_tx

logger = logging.getLogger("zkpipe.node")

DB_NAME = "node.db"
OPERATOR_KEY = "operator.key"
KPI_REFRESH_S = 2.0
"""Least interval between two refreshes of the KPI gauges in /metrics."""


@dataclass(frozen=True, slots=True)
class L1Roles:
    """Which embedded dev account plays which L1 role."""

    deployer: Address
    sequencer: Address
    aggregator: Address
    depositor: Address


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


class Node:
    """A running sequencer node; `start()` recovers and starts every component, `stop()` stops them."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.data_dir = Path(config.data_dir)
        self.metrics = NodeMetrics()
        self.metrics.block_time.set(config.l1.block_time)
        self.started_at = 0.0
        self._started = False
        self._kpis_refreshed = -math.inf

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Opens the store, starts the embedded L1 (deploying the rollup on first start), recovers, runs."""
        config = self.config
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.data_dir / DB_NAME, synchronous=config.store.synchronous)
        self.reader = Store(self.data_dir / DB_NAME, synchronous=config.store.synchronous)
        l1_store = Store(self.data_dir / DB_NAME, synchronous=config.store.synchronous)
        self._l1_store = l1_store
        fee_pk = self._operator_key()
        self._l1 = open_chain(config)
        self.chain: L1Chain = self._l1.chain
        accounts = self._l1.accounts
        self.roles = L1Roles(accounts[0], accounts[1], accounts[2], accounts[3])
        self._l1.start()
        self.rollup = self._rollup(fee_pk)
        signatures = VerifiedSignatures()
        executor, last_seq, l1_acc = recover(
            self.store, fee_pk, config.tree_depth, signatures.check, executor_factory(config.execution.engine)
        )
        self.executor: SequentialExecutor = executor
        self.mempool = Mempool(config.mempool)
        self.mempool.add_deposits(self.store.deposits_from(executor.state.next_deposit_index))
        self.l1 = L1Worker(
            self.chain,
            self.rollup,
            l1_store,
            self.mempool,
            self.metrics,
            sequencer_address=self.roles.sequencer,
            block_time=config.l1.block_time,
            poll_interval_s=config.l1.poll_interval_s,
            send_margin_s=config.l1.send_margin_s,
            on_feedback=lambda feedback: self.sequencer.observe(feedback),
        )
        self._l1_clock = BlockClock(self.chain, max(config.l1.poll_interval_s, config.l1.block_time / 4))
        self._l1_clock.start()
        self.sequencer = Sequencer(
            executor,
            self.store,
            self.mempool,
            config.batch.build(),
            self.metrics,
            last_seq=last_seq,
            last_l1_acc_input_hash=l1_acc,
            on_batch_closed=self.l1.wakeup.set,
            timestamp_floor=self._l1_clock,
            signatures=signatures,
        )
        self.sequencer.start()
        self.l1.start()
        self.proving: ProvingPipeline | None = None
        if config.proving.enabled:
            self._proving_store = Store(self.data_dir / DB_NAME, synchronous=config.store.synchronous)
            self.proving = ProvingPipeline(
                config.proving,
                self._proving_store,
                self.chain,
                self.rollup,
                aggregator=self.roles.aggregator,
                fee_public_key=fee_pk,
                data_dir=self.data_dir,
                backend=new_backend(config.proving, None, resolve_segment_size(config.proving)),
            )
            self.proving.start()
        self.started_at = time.time()
        self._started = True
        logger.info(
            "event=node_started data_dir=%s rollup=%s batch=%d seq=%d",
            self.data_dir, self.rollup.address, executor.state.batch_number, last_seq,
        )  # fmt: skip

    def stop(self) -> None:
        """Stops accepting, finishes the current group, stops L1 and closes the store."""
        if not self._started:
            return
        self._started = False
        if self.proving is not None:
            self.proving.stop()
            self._proving_store.close()
        self.sequencer.stop()
        self.l1.stop()
        self._l1_clock.stop()
        self._l1.close()
        for store in (self.store, self.reader, self._l1_store):
            store.close()
        logger.info("event=node_stopped")

    def __enter__(self) -> Node:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _operator_key(self) -> PublicKey:
        """The fee account's key: created on first start (secret in data_dir/operator.key, mode 0600)."""
        stored = self.store.meta("fee_public_key")
        if stored is not None:
            return PublicKey(bytes.fromhex(stored))
        path = self.data_dir / OPERATOR_KEY
        if path.exists():
            secret = bytes.fromhex(path.read_text().strip())
        else:
            secret, _ = keygen()
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secret.hex())
                f.flush()
                os.fsync(f.fileno())
        pk = PublicKey(public_key(secret))
        self.store.set_meta(fee_public_key=pk.hex())
        return pk

    def _rollup(self, fee_pk: PublicKey) -> RollupContract:
        """The rollup contract: deployed on first start, its address kept in the store."""
        address = self.store.meta("rollup_address")
        if address is not None:
            return RollupContract(self.chain, to_address(address))
        genesis = initial_state(fee_pk, self.config.tree_depth)
        if self.config.l1.rollup_address:
            return self._attach(to_address(self.config.l1.rollup_address), digest_bytes(genesis.tree.root))
        tx_hash = RollupContract.send_deploy(
            self.chain,
            deployer=self.roles.deployer,
            sequencer=self.roles.sequencer,
            aggregator=self.roles.aggregator,
            genesis_state_root=digest_bytes(genesis.tree.root),
            chain_id=CHAIN_ID,
        )
        receipt = wait_for_receipt(self.chain, tx_hash, timeout=max(60.0, 5 * self.config.l1.block_time))
        rollup = RollupContract.from_deployment(self.chain, receipt)
        self.store.set_meta(rollup_address=rollup.address, l1_cursor=str(receipt.block_number - 1))
        return rollup

    def _attach(self, address: Address, genesis_root: bytes) -> RollupContract:
        """A rollup deployed before (`l1.rollup_address`), checked to be this node's: roles and genesis."""
        rollup = RollupContract(self.chain, address)
        if rollup.sequencer() != self.roles.sequencer or rollup.genesis_state_root() != genesis_root:
            raise ConfigError(f"the rollup at {address} has another sequencer or genesis than this node")
        self.store.set_meta(rollup_address=rollup.address, l1_cursor="-1")
        return rollup

    # -- the RPC backend ------------------------------------------------------------------------------

    def submit(self, txs: list[UserTransaction], on_done: Any) -> None:
        """Queues user transactions (see Sequencer.submit)."""
        self.sequencer.submit(txs, on_done)

    def submit_each(self, items: list[tuple[UserTransaction, Any]]) -> None:
        """Queues user transactions, one callback each (see Sequencer.submit_each)."""
        self.sequencer.submit_each(items)

    def receipt_by_hash(self, tx_hash: bytes) -> dict[str, Any] | None:
        """A transaction's status and per-state timestamps, or None if unknown."""
        row = self.reader.tx_by_hash(tx_hash)
        if row is None:
            return None
        return receipt_json(row)

    def account_by_index(self, index: int) -> dict[str, Any] | None:
        """The trusted account at `index`, or None if the slot is empty."""
        account = self.executor.account_by_index(AccountIndex(index))
        if account is None:
            return None
        return {
            "index": index,
            "public_key": _hex(account.public_key),
            "balance": str(account.balance),
            "nonce": account.nonce,
        }

    def batch_by_number(self, number: int, with_transactions: bool = False) -> dict[str, Any] | None:
        """A closed batch: header, status, L1 inclusion, timestamps, transaction hashes."""
        row = self.reader.batch_by_number(number)
        if row is None:
            return None
        out = batch_json(row)
        out["transactions"] = [_hex(h) for h in self.reader.tx_hashes_by_batch(number)]
        if with_transactions:
            out["transaction_objects"] = [tx_to_json(tx) for tx in decode_batch(row.data).transactions]
        return out

    def kpi_report(self) -> KpiReport:
        """The measured KPIs so far (consolidated transactions only count toward throughput)."""
        txs = [TxTimes(*row) for row in self.reader.tx_times()]
        batches = self.proving.batch_times() if self.proving is not None else []
        sequence_gas, sequenced_txs = self.reader.l1_gas_total()
        latest = self.chain.latest_block().number
        blocks = [self.chain.block_by_number(n) for n in range(max(1, latest - 50), latest + 1)]
        stamps = [b.timestamp for b in blocks if b is not None]
        usage = self.proving.scheduler.utilisation() if self.proving is not None else {}
        costs = RunCosts(
            sequence_gas=sequence_gas,
            sequenced_txs=sequenced_txs,
            verify_gas=list(self.proving.record.verify_gas) if self.proving is not None else [],
            prover_busy_seconds=sum(u.busy_s for u in usage.values()),
            threads_per_prover=max(1, self.config.proving.threads_per_prover),
            block_intervals=[float(b - a) for a, b in itertools.pairwise(stamps)],
        )
        return compute_kpi_report(txs, batches, costs)

    def kpi(self) -> dict[str, Any]:
        """The KPI report as JSON (NaN, for figures with no sample yet, becomes null)."""
        return dict(json_safe(self.kpi_report().to_dict()))

    def chain_info(self) -> dict[str, Any]:
        """Latest trusted / virtual / consolidated batches, state roots and L1 position."""
        heads = self.reader.batch_heads()
        state = self.executor.state
        consolidated_root = self.rollup.consolidated_state_root()
        return {
            "chain_id": CHAIN_ID,
            "trusted_batch": heads["trusted"],
            "virtual_batch": heads["virtual"],
            "consolidated_batch": heads["consolidated"],
            "open_batch": heads["trusted"] + 1,
            "trusted_state_root": _hex(digest_bytes(self.sequencer.trusted_root)),
            "consolidated_state_root": _hex(consolidated_root),
            "next_deposit_index": str(state.next_deposit_index),
            "mempool_size": len(self.mempool),
            "l1_block": self.chain.latest_block().number,
            "l1_block_time": self.config.l1.block_time,
            "rollup_address": self.rollup.address,
        }

    def dev_deposit(self, account_index: int, public_key_bytes: bytes, amount: int) -> str:
        """Deposits from the embedded L1's dev account (devnet only); returns the L1 transaction hash."""
        if len(public_key_bytes) != PUBLIC_KEY_BYTES:
            raise InvalidInput(f"a public key is {PUBLIC_KEY_BYTES} bytes")
        if not 0 <= account_index < 2**32 or not 0 < amount < 2**64:
            raise InvalidInput("account index must be a u32 and amount in [1, 2**64)")
        return _hex(self.rollup.deposit(account_index, public_key_bytes, amount, sender=self.roles.depositor))

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
            usage = self.proving.scheduler.utilisation()
            self.metrics.set_kpis(figures, {w: u.busy_s for w, u in usage.items()})
        return self.metrics.render()

    def health(self) -> dict[str, Any]:
        """Liveness of the components."""
        failures = {
            name: repr(f)
            for name, f in (("sequencer", self.sequencer.failure), ("l1", self.l1.failure))
            if f is not None
        }
        return {"ok": not failures, "failures": failures}


def receipt_json(row: StoredTx) -> dict[str, Any]:
    """The RPC form of a stored transaction's receipt."""
    status = "trusted"
    if row.batch_status in ("virtual", "consolidated"):
        status = row.batch_status
    tx = spec_decode_tx(row.data)
    return {
        "hash": _hex(row.hash),
        "status": status,
        "outcome": row.status,
        "reason": row.code,
        "seq": row.seq,
        "batch": row.batch,
        "batch_closed": row.batch_status is not None,
        "l1_block": row.l1_block,
        "timestamps": {
            "submitted": row.submitted_at,
            "trusted": row.trusted_at,
            "virtual": row.virtual_at,
            "consolidated": row.consolidated_at,
        },
        "transaction": tx_to_json(tx),
    }


def batch_json(row: StoredBatch) -> dict[str, Any]:
    """The RPC form of a stored batch."""
    status = {"closed": "trusted", "sending": "trusted"}.get(row.status, row.status)
    return {
        "number": row.number,
        "timestamp": row.timestamp,
        "deposit_start": str(row.deposit_start),
        "deposit_end": str(row.deposit_end),
        "tx_count": row.tx_count,
        "status": status,
        "l1_status": row.status,
        "data_bytes": len(row.data),
        "acc_input_hash": _hex(row.acc_input_hash),
        "l1_acc_input_hash": _hex(row.l1_acc_input_hash),
        "state_root": _hex(row.state_root),
        "l1_tx_hash": row.l1_tx_hash,
        "l1_block": row.l1_block,
        "l1_gas": row.l1_gas,
        "timestamps": {
            "closed": row.closed_at,
            "sent": row.sent_at,
            "virtual": row.virtual_at,
            "consolidated": row.consolidated_at,
        },
    }


def new_local_node(config: NodeConfig) -> Node:
    """A node on the L1 `config.l1` names: the embedded devnet or a JSON-RPC node."""
    return Node(config)


__all__ = ["L1Roles", "Node", "batch_json", "new_local_node", "receipt_json"]
