"""An in-process EVM devnet on revm (pyrevm): blocks on a timer, a mempool, a block log, state snapshots."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from eth_abi.abi import decode, encode
from pyrevm import EVM, BlockEnv, CfgEnv, Env

from zkpipe.errors import L1Error, L1Reverted, SnapshotInvalid, StorageError
from zkpipe.l1.blocklog import RecordLog
from zkpipe.l1.chain import (
    DEFAULT_GAS,
    Address,
    Block,
    Log,
    Transaction,
    TxHash,
    TxReceipt,
    to_address,
)
from zkpipe.l1.evmstate import AccountState, EvmSnapshot, dump_evm, read_snapshot, restore_evm, write_snapshot
from zkpipe.l1.hashes import ZERO_HASH, keccak256

logger = logging.getLogger("zkpipe.l1.embedded")

DEFAULT_CHAIN_ID = 1337
DEFAULT_BLOCK_TIME = 2.0
DEFAULT_BLOCK_GAS_LIMIT = 30_000_000
DEFAULT_DEV_ACCOUNTS = 10
DEFAULT_DEV_BALANCE = 10**12 * 10**18
"""10**12 ether per dev account: enough to deposit the largest L2 amount (2**64 - 1 gwei) many times."""
SPEC_ID = "CANCUN"
"""The EVM fork; matches the compiler's target (zkpipe.l1.compiler.EVM_VERSION)."""
BLOCK_LOG_NAME = "blocks.log"
SNAPSHOT_NAME = "state.snapshot"
DEFAULT_SNAPSHOT_EVERY = 256
"""Blocks between two state snapshots while mining (and one at close): a restart replays at most these."""
_ERROR_SELECTOR = keccak256(b"Error(string)")[:4]
_REVERT_OUTPUT = re.compile(r"output: 0x([0-9a-fA-F]*)")
_GAS_USED = re.compile(r"gas_used: (\d+)")


def dev_account(index: int) -> Address:
    """The `index`-th funded dev account: keccak256("zkpipe/dev-account/<index>")[12:]."""
    return to_address(keccak256(f"zkpipe/dev-account/{index}".encode())[12:])


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What executing one transaction produced."""

    success: bool
    gas_used: int
    logs: tuple[tuple[Address, tuple[bytes, ...], bytes], ...]
    contract_address: Address | None
    revert_reason: str | None


class EmbeddedChain:
    """An L1Chain backed by an in-process revm: deterministic dev accounts, persisted as a block log
    and a snapshot of the EVM state; a restart loads the snapshot and replays only the blocks after it."""

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        chain_id: int = DEFAULT_CHAIN_ID,
        block_time: float = DEFAULT_BLOCK_TIME,
        block_gas_limit: int = DEFAULT_BLOCK_GAS_LIMIT,
        dev_accounts: int = DEFAULT_DEV_ACCOUNTS,
        dev_balance: int = DEFAULT_DEV_BALANCE,
        clock: Callable[[], float] = time.time,
        snapshot_every: int = DEFAULT_SNAPSHOT_EVERY,
    ) -> None:
        """Open the chain in `data_dir` (its snapshot, then later blocks) or create it; None: in memory."""
        self.chain_id = chain_id
        self.block_time = block_time
        self.block_gas_limit = block_gas_limit
        self._clock = clock
        self.snapshot_every = snapshot_every
        self._lock = threading.RLock()  # why reentrant: mine() and the readers share helpers
        self._reset()
        self._mempool: list[Transaction] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._closed = False
        self._genesis: dict[str, Any] = {}
        self._log = RecordLog(data_dir / BLOCK_LOG_NAME) if data_dir is not None else None
        self._snapshot_path = data_dir / SNAPSHOT_NAME if data_dir is not None else None
        self._snapshot_block = -1
        self.replayed_blocks = 0
        """Blocks re-executed when the chain was opened (those after its snapshot, or all without one)."""
        try:
            records = self._log.records if self._log is not None else []
            # Why: a log written before blocks carried their receipts cannot be loaded without replay.
            self._snapshots_usable = all("receipts" in r for r in records[1:])
            if records:
                self._open(records)
            else:
                genesis = {
                    "kind": "genesis",
                    "chain_id": chain_id,
                    "timestamp": int(clock()),
                    "accounts": [[dev_account(i), dev_balance] for i in range(dev_accounts)],
                }
                self._apply_genesis(genesis)
                if self._log is not None:
                    self._log.append(genesis)
        except BaseException:
            if self._log is not None:
                self._log.close()
            raise
        self.accounts: tuple[Address, ...] = tuple(Address(a) for a, _ in self._genesis["accounts"])
        """The funded dev accounts, in order."""

    # -- L1Chain ------------------------------------------------------------------

    def send_transaction(
        self, *, sender: Address, to: Address | None, data: bytes, value: int = 0, gas: int = DEFAULT_GAS
    ) -> TxHash:
        """Queue a transaction in the mempool; it is executed in the next block."""
        sender = to_address(sender)
        to = to_address(to) if to is not None else None
        if value < 0 or gas <= 0:
            raise L1Error("value must be >= 0 and gas > 0")
        if gas > self.block_gas_limit:
            raise L1Error(f"gas {gas} exceeds the block gas limit {self.block_gas_limit}")
        with self._lock:
            self._check_usable()
            nonce = self._next_nonce.get(sender, 0)
            self._next_nonce[sender] = nonce + 1
            tx = _make_transaction(self.chain_id, sender, to, bytes(data), value, gas, nonce)
            self._mempool.append(tx)
            self._transactions[tx.hash] = tx
            return tx.hash

    def receipt_by_hash(self, tx_hash: TxHash) -> TxReceipt | None:
        """The receipt of a mined transaction, or None while it is pending or unknown."""
        with self._lock:
            return self._receipts.get(tx_hash)

    def transaction_by_hash(self, tx_hash: TxHash) -> Transaction | None:
        """A submitted transaction, or None if unknown."""
        with self._lock:
            return self._transactions.get(tx_hash)

    def logs_by_range(self, from_block: int, to_block: int, *, address: Address | None = None) -> list[Log]:
        """Logs of blocks `from_block..to_block` (inclusive), optionally from one address only."""
        wanted = to_address(address) if address is not None else None
        with self._lock:
            last = min(to_block, len(self._blocks) - 1)
            return [
                log
                for number in range(max(from_block, 0), last + 1)
                for log in self._logs_by_block[number]
                if wanted is None or log.address == wanted
            ]

    def latest_block(self) -> Block:
        """The newest mined block."""
        with self._lock:
            return self._blocks[-1]

    def block_by_number(self, number: int) -> Block | None:
        """A mined block, or None if there is no such block yet."""
        with self._lock:
            return self._blocks[number] if 0 <= number < len(self._blocks) else None

    def call(self, *, to: Address, data: bytes, sender: Address | None = None) -> bytes:
        """Execute a call on the latest state and throw its changes away; raises L1Reverted."""
        with self._lock:
            checkpoint = self._evm.snapshot()
            try:
                return bytes(
                    self._evm.message_call(
                        sender or self.accounts[0], to_address(to), calldata=data, gas=DEFAULT_GAS
                    )
                )
            except RuntimeError as exc:
                raise L1Reverted(_revert_reason(str(exc))) from exc
            finally:
                self._evm.revert(checkpoint)

    def balance_by_address(self, address: Address) -> int:
        """An account's balance in wei at the latest block."""
        with self._lock:
            return int(self._evm.get_balance(to_address(address)))

    # -- block production ------------------------------------------------------------

    def pending_count(self) -> int:
        """Transactions waiting in the mempool."""
        with self._lock:
            return len(self._mempool)

    def mine(self, *, timestamp: int | None = None) -> Block:
        """Mine one block now from the mempool, persist it, and return it."""
        with self._lock:
            self._check_usable()
            parent = self._blocks[-1]
            ts = max(parent.timestamp + 1, int(self._clock()) if timestamp is None else timestamp)
            included: list[Transaction] = []
            gas_budget = self.block_gas_limit
            for tx in self._mempool:
                # Why by declared gas: it bounds what the tx can use, as Ethereum's block gas limit does.
                if tx.gas <= gas_budget:
                    included.append(tx)
                    gas_budget -= tx.gas
            record = {
                "kind": "block",
                "number": parent.number + 1,
                "timestamp": ts,
                "txs": [_tx_to_record(tx) for tx in included],
            }
            outcomes = self._execute_block(parent.number + 1, ts, included)
            record["results"] = [[o.success, o.gas_used] for o in outcomes]
            record["receipts"] = [_receipt_to_record(o) for o in outcomes]
            block_hash = _block_hash(parent, ts, included)
            record["hash"] = block_hash.hex()  # why logged: a start from a snapshot need not recompute it
            if self._log is not None:
                # Why after executing and before publishing: a block is visible only once it is durable.
                try:
                    self._log.append(record)
                except OSError as exc:
                    # Why fail for good: the EVM already holds this block's effects but the log does not.
                    self._failure = exc
                    raise StorageError(f"cannot persist block {parent.number + 1}: {exc}") from exc
            included_hashes = {tx.hash for tx in included}
            self._mempool = [tx for tx in self._mempool if tx.hash not in included_hashes]
            block = self._publish_block(parent, ts, included, outcomes, block_hash)
            if self.snapshot_every > 0 and block.number % self.snapshot_every == 0:
                self.write_snapshot()
            return block

    def evm_state(self) -> tuple[AccountState, ...]:
        """Every account and storage slot of the EVM (what a snapshot holds)."""
        with self._lock:
            return dump_evm(self._evm)

    def write_snapshot(self) -> None:
        """Writes the EVM state after the latest block (atomically; a failure only costs replay time)."""
        with self._lock:
            if self._snapshot_path is None or not self._snapshots_usable or self._failure is not None:
                return
            block = self._blocks[-1]
            if block.number == self._snapshot_block:
                return
            try:
                snapshot = EvmSnapshot(self.chain_id, block.number, block.hash, dump_evm(self._evm))
                write_snapshot(self._snapshot_path, snapshot)
            except (OSError, SnapshotInvalid) as exc:
                logger.warning("event=snapshot_failed block=%d error=%s", block.number, exc)
                return
            self._snapshot_block = block.number

    def start(self) -> None:
        """Start producing a block every `block_time` seconds in a background thread."""
        with self._lock:
            if self._thread is not None:
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._produce_blocks, name="l1-blocks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the block producer (pending transactions stay in the mempool)."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        thread.join()
        self._thread = None

    def close(self) -> None:
        """Stop producing blocks, snapshot the state and close the block log."""
        self.stop()
        with self._lock:
            if not self._closed:
                self.write_snapshot()
            self._closed = True
            if self._log is not None:
                self._log.close()
                self._log = None

    def __enter__(self) -> EmbeddedChain:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _check_usable(self) -> None:
        """Raise if an earlier block could not be persisted or the chain is closed."""
        if self._failure is not None:
            raise StorageError(f"the embedded chain stopped after a failed write: {self._failure}")
        if self._closed:
            raise L1Error("the embedded chain is closed")

    def _produce_blocks(self) -> None:
        """The block producer's loop: mine at fixed deadlines so the block time does not drift."""
        deadline = time.monotonic() + self.block_time
        while not self._stop.wait(max(0.0, deadline - time.monotonic())):
            try:
                self.mine()
            except Exception:
                # Why stop instead of retrying: a block that cannot be persisted must not be skipped silently.
                logger.exception("event=block_production_failed")
                return
            deadline += self.block_time

    # -- execution ------------------------------------------------------------------

    def _reset(self) -> None:
        """An empty EVM and no blocks (before opening, or to replay after an unusable snapshot)."""
        self._evm = EVM(env=Env(cfg=CfgEnv(chain_id=self.chain_id)), spec_id=SPEC_ID)
        self._blocks: list[Block] = []
        self._receipts: dict[TxHash, TxReceipt] = {}
        self._transactions: dict[TxHash, Transaction] = {}
        self._logs_by_block: list[list[Log]] = []
        self._next_nonce: dict[Address, int] = {}

    def _open(self, records: list[dict[str, Any]]) -> None:
        """Rebuild the chain from its snapshot and the blocks after it, or else by replaying every block."""
        if self._snapshot_path is not None and self._snapshot_path.exists():
            try:
                self._load_snapshot(records, read_snapshot(self._snapshot_path, self.chain_id))
                return
            except SnapshotInvalid as err:
                # Why go on: the block log is the source of truth; the snapshot only saves time.
                logger.warning("event=snapshot_ignored code=%s reason=%s", err.code, err.message)
                self._reset()
                self.replayed_blocks = 0
        self._replay(records)

    def _load_snapshot(self, records: list[dict[str, Any]], snapshot: EvmSnapshot) -> None:
        """Publish the snapshot's blocks from their logged receipts, load its state, replay the rest."""
        if not self._snapshots_usable:
            raise SnapshotInvalid("the block log has blocks without receipts")
        if snapshot.block >= len(records):
            raise SnapshotInvalid(f"the snapshot (block {snapshot.block}) is ahead of the block log")
        self._apply_genesis(records[0], fund=False)
        for record in records[1 : snapshot.block + 1]:
            self._check_order(record)
            txs = self._logged_txs(record, logged_hashes=True)
            outcomes = [
                _receipt_from_record(r, o) for r, o in zip(record["results"], record["receipts"], strict=True)
            ]
            logged = bytes.fromhex(record["hash"]) if "hash" in record else None
            self._publish_block(self._blocks[-1], record["timestamp"], txs, outcomes, logged)
        if self._blocks[-1].hash != snapshot.block_hash:
            raise SnapshotInvalid(f"block {snapshot.block} of the log is not the snapshot's")
        restore_evm(self._evm, snapshot.accounts)
        # Why no read-back: the snapshot's values were read back when it was written; this compares
        # what the journal now holds (warm slots, originals, present values) with them.
        if dump_evm(self._evm, read_back=False) != snapshot.accounts:
            raise SnapshotInvalid("the restored EVM state differs from the snapshot")
        try:
            self._replay_blocks(records[snapshot.block + 1 :])
        except StorageError as err:
            raise SnapshotInvalid(
                f"the blocks after the snapshot do not replay on it: {err.message}"
            ) from None
        self._snapshot_block = snapshot.block
        logger.info(
            "event=snapshot_loaded block=%d replayed=%d", snapshot.block, len(records) - 1 - snapshot.block
        )

    def _apply_genesis(self, genesis: dict[str, Any], *, fund: bool = True) -> None:
        """Create block 0 and (unless a snapshot holds the state) fund the dev accounts."""
        if genesis.get("kind") != "genesis":
            raise StorageError("the block log does not start with a genesis record")
        if genesis["chain_id"] != self.chain_id:
            raise StorageError(f"the block log is for chain {genesis['chain_id']}, not {self.chain_id}")
        self._genesis = genesis
        for address, balance in genesis["accounts"] if fund else ():
            self._evm.set_balance(address, balance)
        ts = int(genesis["timestamp"])
        block_hash = keccak256(encode(["uint256", "uint256", "uint256"], [self.chain_id, 0, ts]))
        self._blocks.append(Block(0, ts, block_hash, ZERO_HASH, ()))
        self._logs_by_block.append([])

    def _replay(self, records: list[dict[str, Any]]) -> None:
        """Rebuild the state by re-executing every logged block."""
        self._apply_genesis(records[0])
        self._replay_blocks(records[1:])
        logger.info("event=replayed blocks=%d", len(records) - 1)

    def _replay_blocks(self, records: list[dict[str, Any]]) -> None:
        """Re-execute logged blocks on the current state, checking each result against the log."""
        for record in records:
            parent = self._blocks[-1]
            self._check_order(record)
            txs = self._logged_txs(record)
            outcomes = self._execute_block(record["number"], record["timestamp"], txs)
            replayed = [[o.success, o.gas_used] for o in outcomes]
            if (
                replayed != record["results"]
                or ("receipts" in record and [_receipt_to_record(o) for o in outcomes] != record["receipts"])
                or (
                    "hash" in record and _block_hash(parent, record["timestamp"], txs).hex() != record["hash"]
                )
                or any(
                    "hash" in r and r["hash"] != tx.hash.hex()
                    for r, tx in zip(record["txs"], txs, strict=True)
                )
            ):
                # Why check: a different EVM or contract build would silently fork the chain otherwise.
                raise StorageError(f"replaying block {record['number']} gave different results")
            self._publish_block(parent, record["timestamp"], txs, outcomes)
            self.replayed_blocks += 1

    def _check_order(self, record: dict[str, Any]) -> None:
        """StorageError unless `record` is the block after the latest one."""
        parent = self._blocks[-1]
        if record.get("kind") != "block" or record["number"] != parent.number + 1:
            raise StorageError(f"block log out of order after block {parent.number}")

    def _logged_txs(self, record: dict[str, Any], *, logged_hashes: bool = False) -> list[Transaction]:
        """A logged block's transactions (with their logged hashes, or recomputed); their senders' next
        nonces follow them."""
        txs = [_tx_from_record(self.chain_id, r, logged_hash=logged_hashes) for r in record["txs"]]
        for tx in txs:
            self._next_nonce[tx.sender] = max(self._next_nonce.get(tx.sender, 0), tx.nonce + 1)
        return txs

    def _execute_block(self, number: int, timestamp: int, txs: list[Transaction]) -> list[_Outcome]:
        """Run transactions in order in a block environment."""
        self._evm.set_block_env(
            BlockEnv(number=number, timestamp=timestamp, gas_limit=self.block_gas_limit, basefee=0)
        )
        return [self._execute(tx) for tx in txs]

    def _execute(self, tx: Transaction) -> _Outcome:
        """Run one transaction and commit its effects."""
        contract: Address | None = None
        try:
            if tx.to is None:
                contract = to_address(self._evm.deploy(tx.sender, tx.data, value=tx.value, gas=tx.gas))
            else:
                self._evm.message_call(tx.sender, tx.to, calldata=tx.data, value=tx.value, gas=tx.gas)
        except RuntimeError as exc:
            # Why parse the message: pyrevm reports reverts, halts and invalid txs only as text.
            text = str(exc)
            used = _GAS_USED.search(text)
            gas_used = int(used.group(1)) if used else 0
            return _Outcome(False, min(gas_used, tx.gas), (), None, _revert_reason(text))
        result = self._evm.result
        if result is None:
            raise L1Error("revm returned no execution result")
        logs = tuple(
            (to_address(log.address), tuple(_hex_bytes(t) for t in log.topics), bytes(log.data[1]))
            for log in result.logs
        )
        return _Outcome(bool(result.is_success), int(result.gas_used), logs, contract, None)

    def _publish_block(
        self,
        parent: Block,
        timestamp: int,
        txs: list[Transaction],
        outcomes: list[_Outcome],
        block_hash: bytes | None = None,
    ) -> Block:
        """Record a mined block's header (its hash computed unless given), receipts and logs."""
        number = parent.number + 1
        hashes = tuple(tx.hash for tx in txs)
        if block_hash is None:
            block_hash = _block_hash(parent, timestamp, txs)
        block = Block(number, timestamp, block_hash, parent.hash, hashes)
        block_logs: list[Log] = []
        for tx, outcome in zip(txs, outcomes, strict=True):
            tx_logs = []
            for address, topics, data in outcome.logs:
                tx_logs.append(Log(address, topics, data, number, tx.hash, len(block_logs)))
                block_logs.append(tx_logs[-1])
            self._transactions[tx.hash] = tx
            self._receipts[tx.hash] = TxReceipt(
                tx.hash,
                number,
                outcome.success,
                outcome.gas_used,
                tuple(tx_logs),
                outcome.contract_address,
                outcome.revert_reason,
            )
        self._blocks.append(block)
        self._logs_by_block.append(block_logs)
        return block


def _make_transaction(
    chain_id: int, sender: Address, to: Address | None, data: bytes, value: int, gas: int, nonce: int
) -> Transaction:
    """A transaction and its hash: keccak256(abi.encode(chain, sender, nonce, to, value, gas, data))."""
    tx_hash = keccak256(
        encode(
            ["uint256", "address", "uint256", "address", "uint256", "uint256", "bytes"],
            [chain_id, sender, nonce, to or "0x" + "00" * 20, value, gas, data],
        )
    )
    return Transaction(TxHash(tx_hash), sender, to, data, value, gas, nonce)


def _block_hash(parent: Block, timestamp: int, txs: list[Transaction]) -> bytes:
    """A block's hash: keccak256(abi.encode(parent hash, number, timestamp, tx hashes))."""
    return keccak256(
        encode(
            ["bytes32", "uint256", "uint256", "bytes32[]"],
            [parent.hash, parent.number + 1, timestamp, [tx.hash for tx in txs]],
        )
    )


def _tx_to_record(tx: Transaction) -> dict[str, Any]:
    """The block-log form of a transaction."""
    return {
        "hash": tx.hash.hex(),
        "sender": tx.sender,
        "to": tx.to,
        "data": tx.data.hex(),
        "value": str(tx.value),  # why text: JSON readers elsewhere may lose precision above 2**53
        "gas": tx.gas,
        "nonce": tx.nonce,
    }


def _tx_from_record(chain_id: int, record: dict[str, Any], *, logged_hash: bool = False) -> Transaction:
    """A transaction read back from the block log, with its logged hash if told to (else recomputed)."""
    to = record["to"]
    fields = (
        Address(record["sender"]),
        Address(to) if to is not None else None,
        bytes.fromhex(record["data"]),
        int(record["value"]),
        int(record["gas"]),
        int(record["nonce"]),
    )
    if logged_hash and "hash" in record:
        return Transaction(TxHash(bytes.fromhex(record["hash"])), *fields)
    return _make_transaction(chain_id, *fields)


def _receipt_to_record(outcome: _Outcome) -> list[Any]:
    """The block-log form of what a transaction produced beyond its result: contract, revert, logs."""
    return [
        outcome.contract_address,
        outcome.revert_reason,
        [[address, [t.hex() for t in topics], data.hex()] for address, topics, data in outcome.logs],
    ]


def _receipt_from_record(result: list[Any], receipt: list[Any]) -> _Outcome:
    """A transaction's outcome read back from the block log (its result and receipt records)."""
    success, gas_used = result
    contract, revert_reason, logs = receipt
    return _Outcome(
        bool(success),
        int(gas_used),
        tuple(
            (Address(address), tuple(bytes.fromhex(t) for t in topics), bytes.fromhex(data))
            for address, topics, data in logs
        ),
        None if contract is None else Address(contract),
        revert_reason,
    )


def _hex_bytes(text: str) -> bytes:
    """Bytes from 0x-prefixed hex."""
    return bytes.fromhex(text.removeprefix("0x"))


def _revert_reason(text: str) -> str:
    """The revert message in a pyrevm error: the decoded Error(string) if there is one, else the text."""
    match = _REVERT_OUTPUT.search(text)
    if match:
        output = bytes.fromhex(match.group(1))
        if output.startswith(_ERROR_SELECTOR):
            try:
                (reason,) = decode(["string"], output[4:])
                return str(reason)
            except Exception:  # why broad: eth_abi raises several types for malformed data
                pass
        return f"reverted (output 0x{output.hex()})"
    return text
