"""An L1Chain over any Ethereum JSON-RPC node (web3.py): local keys, a durable nonce journal, confirmations.

Rules:
- Transactions are signed here with configured keys (EIP-1559, gas from `eth_estimateGas` plus a
  margin). Each signed transaction is written to the journal (SQLite, synchronous) *before* it is
  broadcast, so a crash between signing and inclusion loses nothing and reuses no nonce.
- Nonces: the next nonce of a sender is the larger of the node's pending count and the journal's
  highest live nonce + 1. A journaled transaction that the node no longer knows (dropped from its
  mempool, lost in a restart) is broadcast again, byte for byte — same hash, same nonce, so there
  is never a gap and never a second transaction doing the same thing. Only when its nonce was taken
  by another transaction is it given up (`transaction_by_hash` then returns None).
- On start the chain re-broadcasts what the journal holds in flight and waits until it is mined, so
  a caller that lost track of a send (killed before recording it) sees its effect before acting again.
- Confirmations: the chain is seen `confirmations` blocks behind the node's head — receipts, logs
  and `latest_block` only show blocks with that many blocks on top. Re-orgs shallower than that are
  invisible; a deeper one (a block already shown changed its hash) raises `L1Reorg` (reset).
- Connection errors are retried with exponential backoff for `retry_for_s`, then `L1Unavailable`
  (temporary) is raised; errors the node returns are typed (L1Reverted, L1Error).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import requests
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError

from zkpipe.errors import L1Error, L1Reorg, L1Reverted, L1Unavailable
from zkpipe.l1.chain import DEFAULT_GAS, Address, Block, Log, Transaction, TxHash, TxReceipt, to_address

logger = logging.getLogger("zkpipe.l1.jsonrpc")

T = TypeVar("T")

DEFAULT_CONFIRMATIONS = 1
GAS_MARGIN = 1.25
"""Gas limit = estimate × this: state may change between the estimate and inclusion."""
REQUEST_TIMEOUT_S = 10.0
RETRY_FOR_S = 30.0
REPAIR_INTERVAL_S = 0.5
"""Least interval between two looks for journaled transactions the node has lost."""
SETTLE_TIMEOUT_S = 120.0
KNOWN_BLOCKS = 256
"""Block hashes remembered to detect a re-org below the confirmation depth."""
_CONNECTION_ERRORS = (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError)
_JOURNAL_SCHEMA = """
CREATE TABLE IF NOT EXISTS l1_txs (
    hash TEXT PRIMARY KEY,
    sender TEXT NOT NULL,
    nonce INTEGER NOT NULL,
    recipient TEXT,
    data BLOB NOT NULL,
    value TEXT NOT NULL,
    gas INTEGER NOT NULL,
    raw BLOB,
    status TEXT NOT NULL  -- pending | mined | replaced | rejected
);
CREATE INDEX IF NOT EXISTS l1_txs_pending ON l1_txs (status, sender, nonce);
"""


class JsonRpcChain:
    """An L1Chain reached over HTTP JSON-RPC; see the module docstring for its rules."""

    def __init__(
        self,
        url: str,
        keys: Sequence[bytes],
        *,
        journal_path: Path | None = None,
        confirmations: int = DEFAULT_CONFIRMATIONS,
        request_timeout_s: float = REQUEST_TIMEOUT_S,
        retry_for_s: float = RETRY_FOR_S,
        settle_timeout_s: float = SETTLE_TIMEOUT_S,
    ) -> None:
        """Connect to `url` with signing `keys`; re-broadcast and settle what the journal holds in flight."""
        if confirmations < 0:
            raise L1Error("confirmations must be >= 0")
        self.url = url
        self.confirmations = confirmations
        self.retry_for_s = retry_for_s
        self._w3 = Web3(
            Web3.HTTPProvider(
                url,
                request_kwargs={"timeout": request_timeout_s},
                exception_retry_configuration=None,  # why: retries are ours, typed and bounded
            )
        )
        self._signers: dict[Address, LocalAccount] = {}
        for key in keys:
            signer: LocalAccount = Account.from_key(key)
            self._signers[to_address(signer.address)] = signer
        self.accounts: tuple[Address, ...] = tuple(self._signers)
        """The addresses this chain can send from, in the order of `keys`."""
        self._lock = threading.RLock()
        self._known: OrderedDict[int, bytes] = OrderedDict()
        self._repaired_at = -float("inf")
        self._db = sqlite3.connect(
            str(journal_path) if journal_path is not None else ":memory:",
            check_same_thread=False,
            isolation_level=None,
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_JOURNAL_SCHEMA)
        self.chain_id = int(self._rpc(lambda: self._w3.eth.chain_id))
        self.settle(timeout_s=settle_timeout_s)

    @staticmethod
    def address_of(key: bytes) -> Address:
        """The address a signing key sends from."""
        return to_address(Account.from_key(key).address)

    # -- L1Chain --------------------------------------------------------------------------------

    def send_transaction(
        self, *, sender: Address, to: Address | None, data: bytes, value: int = 0, gas: int = DEFAULT_GAS
    ) -> TxHash:
        """Sign, journal and broadcast a transaction; gas limit: the estimate plus a margin, at most `gas`."""
        sender = to_address(sender)
        signer = self._signers.get(sender)
        if signer is None:
            raise L1Error(f"no signing key for {sender}")
        call: dict[str, Any] = {"from": _checksum(sender), "data": bytes(data), "value": value}
        if to is not None:
            call["to"] = _checksum(to_address(to))
        estimate = self._estimate(call)
        if estimate > gas:
            raise L1Error(f"the transaction needs {estimate} gas, above its limit {gas}")
        limit = min(gas, int(estimate * GAS_MARGIN))
        with self._lock:
            self.repair(force=True)
            nonce = self._next_nonce(sender)
            base_fee = int(self._rpc(lambda: self._w3.eth.get_block("latest"))["baseFeePerGas"])
            tip = int(self._rpc(lambda: self._w3.eth.max_priority_fee))
            fields = {
                **call,
                "to": call.get("to", ""),
                "gas": limit,
                "nonce": nonce,
                "chainId": self.chain_id,
                "maxPriorityFeePerGas": tip,
                "maxFeePerGas": 2 * base_fee + tip,  # why 2×: survives six full blocks of base-fee rises
                "type": 2,
            }
            signed = signer.sign_transaction(fields)
            tx_hash = TxHash(bytes(signed.hash))
            self._db.execute(
                "INSERT INTO l1_txs VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
                (
                    _hex(tx_hash),
                    sender,
                    nonce,
                    to,
                    bytes(data),
                    str(value),
                    limit,
                    bytes(signed.raw_transaction),
                ),
            )
            try:
                self._broadcast(bytes(signed.raw_transaction))
            except L1Unavailable:
                # Why not raise: the transaction is journaled and will be broadcast once the node is back.
                logger.warning("event=broadcast_deferred l1_tx=%s", _hex(tx_hash))
            except L1Error:
                self._set_status(tx_hash, "rejected")
                raise
            logger.info(
                "event=l1_tx_sent l1_tx=%s sender=%s nonce=%d gas=%d", _hex(tx_hash), sender, nonce, limit
            )
            return tx_hash

    def receipt_by_hash(self, tx_hash: TxHash) -> TxReceipt | None:
        """The receipt once its block has `confirmations` blocks on top, else None."""
        self.repair()
        try:
            raw = self._rpc(lambda: self._w3.eth.get_transaction_receipt(HexBytes(tx_hash)))
        except TransactionNotFound:
            return None
        if raw is None or raw.get("blockNumber") is None:
            return None
        number = int(raw["blockNumber"])
        if number > self._confirmed_head():
            return None
        receipt = _receipt(raw, self._revert_reason(raw) if int(raw["status"]) != 1 else None)
        self._set_status(tx_hash, "mined")
        return receipt

    def transaction_by_hash(self, tx_hash: TxHash) -> Transaction | None:
        """A transaction the node knows or the journal still holds in flight, else None."""
        try:
            raw = self._rpc(lambda: self._w3.eth.get_transaction(HexBytes(tx_hash)))
        except TransactionNotFound:
            raw = None
        if raw is not None:
            return Transaction(
                TxHash(bytes(raw["hash"])),
                to_address(raw["from"]),
                to_address(raw["to"]) if raw.get("to") else None,
                bytes(raw["input"]),
                int(raw["value"]),
                int(raw["gas"]),
                int(raw["nonce"]),
            )
        self.repair(force=True)
        row = self._db.execute(
            "SELECT sender, nonce, recipient, data, value, gas FROM l1_txs "
            "WHERE hash = ? AND status = 'pending'",
            (_hex(tx_hash),),
        ).fetchone()
        if row is None:
            return None
        sender, nonce, recipient, data, value, gas = row
        return Transaction(tx_hash, Address(sender), recipient, bytes(data), int(value), int(gas), int(nonce))

    def logs_by_range(self, from_block: int, to_block: int, *, address: Address | None = None) -> list[Log]:
        """Logs of confirmed blocks `from_block..to_block` (inclusive), optionally from one address."""
        last = min(to_block, self._confirmed_head())
        if last < max(from_block, 0):
            return []
        query: dict[str, Any] = {"fromBlock": max(from_block, 0), "toBlock": last}
        if address is not None:
            query["address"] = _checksum(to_address(address))
        raw_logs = self._rpc(lambda: self._w3.eth.get_logs(query))  # type: ignore[arg-type]
        return [
            Log(
                to_address(log["address"]),
                tuple(bytes(t) for t in log["topics"]),
                bytes(log["data"]),
                int(log["blockNumber"]),
                TxHash(bytes(log["transactionHash"])),
                int(log["logIndex"]),
            )
            for log in raw_logs
        ]

    def latest_block(self) -> Block:
        """The newest confirmed block (genesis while the chain is shorter than the depth).

        Raises L1Reorg if a block shown before was replaced."""
        return self._block(max(0, self._confirmed_head()))

    def block_by_number(self, number: int) -> Block | None:
        """A confirmed block, or None if there is none at that height yet."""
        if number < 0 or number > max(0, self._confirmed_head()):
            return None
        return self._block(number)

    def call(self, *, to: Address, data: bytes, sender: Address | None = None) -> bytes:
        """Execute a call on the newest state; raises L1Reverted."""
        call: dict[str, Any] = {"to": _checksum(to_address(to)), "data": bytes(data)}
        if sender is not None:
            call["from"] = _checksum(to_address(sender))
        try:
            return bytes(self._rpc(lambda: self._w3.eth.call(call)))  # type: ignore[arg-type]
        except ContractLogicError as exc:
            raise L1Reverted(_reason(exc)) from exc

    def balance_by_address(self, address: Address) -> int:
        """An account's balance in wei at the newest block."""
        return int(self._rpc(lambda: self._w3.eth.get_balance(_checksum(to_address(address)))))

    # -- the journal --------------------------------------------------------------------------

    def in_flight(self) -> list[TxHash]:
        """Journaled transactions not yet seen mined, oldest nonce first."""
        rows = self._db.execute(
            "SELECT hash FROM l1_txs WHERE status = 'pending' ORDER BY sender, nonce"
        ).fetchall()
        return [TxHash(bytes.fromhex(h[2:])) for (h,) in rows]

    def settle(self, *, timeout_s: float = SETTLE_TIMEOUT_S) -> None:
        """Re-broadcast what is in flight and wait until each is mined or given up; L1Error on timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            pending = self.in_flight()
            if not pending:
                return
            self.repair(force=True)
            for tx_hash in pending:
                try:
                    raw = self._rpc(lambda h=tx_hash: self._w3.eth.get_transaction_receipt(h))  # type: ignore[misc]
                except TransactionNotFound:
                    continue
                if raw is not None and raw.get("blockNumber") is not None:
                    self._set_status(tx_hash, "mined")
            if time.monotonic() > deadline:
                raise L1Error(f"{len(pending)} journaled L1 transactions not mined within {timeout_s} s")
            time.sleep(0.1)

    def repair(self, *, force: bool = False) -> None:
        """Broadcast again each journaled pending transaction the node lost; give up replaced ones."""
        with self._lock:
            now = time.monotonic()
            if not force and now - self._repaired_at < REPAIR_INTERVAL_S:
                return
            self._repaired_at = now
            rows = self._db.execute(
                "SELECT hash, sender, nonce, raw FROM l1_txs WHERE status = 'pending' ORDER BY sender, nonce"
            ).fetchall()
            counts: dict[str, int] = {}
            for text, sender, nonce, raw in rows:
                tx_hash = TxHash(bytes.fromhex(text[2:]))
                if sender not in counts:
                    counts[sender] = int(
                        self._rpc(lambda s=sender: self._w3.eth.get_transaction_count(_checksum(s), "latest"))  # type: ignore[misc]
                    )
                if self._knows(tx_hash):
                    continue
                if nonce < counts[sender]:
                    # The nonce is used and not by this transaction: it can never be mined.
                    logger.warning("event=l1_tx_replaced l1_tx=%s nonce=%d", text, nonce)
                    self._set_status(tx_hash, "replaced")
                    continue
                logger.warning("event=l1_tx_rebroadcast l1_tx=%s nonce=%d", text, nonce)
                try:
                    self._broadcast(bytes(raw))
                except L1Unavailable:
                    return
                except L1Error as err:
                    logger.error("event=l1_tx_rebroadcast_failed l1_tx=%s message=%s", text, err.message)

    def close(self) -> None:
        """Close the journal."""
        with self._lock:
            self._db.close()

    # -- plumbing -----------------------------------------------------------------------------

    def _rpc(self, request: Callable[[], T]) -> T:
        """`request()` retried with exponential backoff on connection errors; raises L1Unavailable after."""
        try:
            for attempt in Retrying(
                retry=retry_if_exception_type(_CONNECTION_ERRORS),
                wait=wait_exponential(multiplier=0.05, max=2.0),
                stop=stop_after_delay(self.retry_for_s),
                reraise=True,
            ):
                with attempt:
                    return request()
        except _CONNECTION_ERRORS as exc:
            raise L1Unavailable(f"L1 node {self.url} unreachable for {self.retry_for_s} s: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover - Retrying either returns or raises

    def _estimate(self, call: dict[str, Any]) -> int:
        """The node's gas estimate; raises L1Reverted if the transaction would revert."""
        try:
            # Why "pending": its block context is the next block's (timestamp now), where the
            # transaction will run; "latest" would reject a batch stamped after the last block.
            return int(self._rpc(lambda: self._w3.eth.estimate_gas(call, "pending")))  # type: ignore[arg-type]
        except ContractLogicError as exc:
            raise L1Reverted(_reason(exc)) from exc
        except Web3RPCError as exc:
            raise L1Error(f"gas estimation failed: {exc}") from exc

    def _broadcast(self, raw: bytes) -> None:
        """eth_sendRawTransaction; a transaction the node already has counts as sent."""
        try:
            self._rpc(lambda: self._w3.eth.send_raw_transaction(raw))
        except Web3RPCError as exc:
            text = str(exc).lower()
            if "already known" in text or "already imported" in text or "already exists" in text:
                return
            raise L1Error(f"the L1 node refused the transaction: {exc}") from exc

    def _knows(self, tx_hash: TxHash) -> bool:
        """Whether the node has the transaction (pending or mined)."""
        try:
            return self._rpc(lambda: self._w3.eth.get_transaction(HexBytes(tx_hash))) is not None
        except TransactionNotFound:
            return False

    def _next_nonce(self, sender: Address) -> int:
        """The larger of the node's pending count and the journal's highest live nonce + 1."""
        pending = int(self._rpc(lambda: self._w3.eth.get_transaction_count(_checksum(sender), "pending")))
        (journaled,) = self._db.execute(
            "SELECT MAX(nonce) FROM l1_txs WHERE sender = ? AND status IN ('pending', 'mined')", (sender,)
        ).fetchone()
        return max(pending, -1 if journaled is None else int(journaled) + 1)

    def _set_status(self, tx_hash: TxHash, status: str) -> None:
        """Record a journaled transaction's fate (the raw bytes are no longer needed once it is settled)."""
        with self._lock:
            self._db.execute(
                "UPDATE l1_txs SET status = ?, raw = CASE WHEN ? = 'pending' THEN raw ELSE NULL END "
                "WHERE hash = ? AND status = 'pending'",
                (status, status, _hex(tx_hash)),
            )

    def _confirmed_head(self) -> int:
        """The newest block with `confirmations` blocks on top (-1 if none yet)."""
        return int(self._rpc(lambda: self._w3.eth.block_number)) - self.confirmations

    def _block(self, number: int) -> Block:
        """Block `number` from the node, checked against the hashes seen before."""
        raw = self._rpc(lambda: self._w3.eth.get_block(number))
        if raw is None:
            raise L1Error(f"the L1 node has no block {number}")
        block = Block(
            int(raw["number"]),
            int(raw["timestamp"]),
            bytes(raw["hash"]),
            bytes(raw["parentHash"]),
            tuple(TxHash(bytes(h)) for h in raw["transactions"]),  # type: ignore[arg-type]
        )
        self._check_canonical(block)
        return block

    def _check_canonical(self, block: Block) -> None:
        """Remember a confirmed block's hash; raise L1Reorg if a remembered block at that height differs."""
        with self._lock:
            known = self._known.get(block.number)
            if known is not None and known != block.hash:
                raise L1Reorg(
                    f"L1 block {block.number} changed from 0x{known.hex()} to 0x{block.hash.hex()}: "
                    f"a re-org deeper than {self.confirmations} confirmations"
                )
            parent = self._known.get(block.number - 1)
            if parent is not None and parent != block.parent_hash:
                raise L1Reorg(
                    f"L1 block {block.number - 1} was replaced (re-org deeper than the confirmations)"
                )
            self._known[block.number] = block.hash
            self._known.move_to_end(block.number)
            while len(self._known) > KNOWN_BLOCKS:
                self._known.popitem(last=False)

    def _revert_reason(self, raw: Any) -> str:
        """Why a mined transaction failed: its call replayed on its block's parent state."""
        try:
            tx = self._rpc(lambda: self._w3.eth.get_transaction(raw["transactionHash"]))
            call = {
                "from": tx["from"],
                "to": tx["to"],
                "data": tx["input"],
                "value": tx["value"],
                "gas": tx["gas"],
            }
            self._rpc(lambda: self._w3.eth.call(call, int(raw["blockNumber"]) - 1))  # type: ignore[arg-type]
        except ContractLogicError as exc:
            return _reason(exc)
        except (Web3RPCError, TransactionNotFound, L1Error) as exc:
            return f"reverted ({exc})"
        return "reverted (the replay succeeded: the state it depended on changed within its block)"


def _receipt(raw: Any, revert_reason: str | None) -> TxReceipt:
    """A receipt from the node's JSON."""
    tx_hash = TxHash(bytes(raw["transactionHash"]))
    logs = tuple(
        Log(
            to_address(log["address"]),
            tuple(bytes(t) for t in log["topics"]),
            bytes(log["data"]),
            int(log["blockNumber"]),
            tx_hash,
            int(log["logIndex"]),
        )
        for log in raw["logs"]
    )
    contract = raw.get("contractAddress")
    return TxReceipt(
        tx_hash,
        int(raw["blockNumber"]),
        int(raw["status"]) == 1,
        int(raw["gasUsed"]),
        logs,
        to_address(contract) if contract else None,
        revert_reason,
    )


def _reason(exc: ContractLogicError) -> str:
    """The revert message of a failed call or estimate."""
    text = str(exc.message if exc.message else exc)
    return text.removeprefix("execution reverted: ").removeprefix("execution reverted") or "reverted"


def _checksum(address: str) -> Any:
    """The EIP-55 form web3 insists on."""
    return Web3.to_checksum_address(address)


def _hex(data: bytes) -> str:
    return "0x" + data.hex()
