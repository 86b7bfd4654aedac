"""The L1 chain interface the node uses, and the records it returns."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NewType, Protocol

from zkpipe.errors import L1Error, L1Reverted

Address = NewType("Address", str)
"""A 20-byte L1 address as lowercase 0x-prefixed hex."""
TxHash = NewType("TxHash", bytes)
"""A 32-byte L1 transaction hash."""

DEFAULT_GAS = 10_000_000
"""Gas limit of a transaction that names none."""


def to_address(value: str | bytes) -> Address:
    """The canonical form of an address given as hex text or 20 raw bytes."""
    raw = value if isinstance(value, bytes) else bytes.fromhex(value.removeprefix("0x"))
    if len(raw) != 20:
        raise L1Error(f"an address is 20 bytes, got {len(raw)}")
    return Address("0x" + raw.hex())


@dataclass(frozen=True, slots=True)
class Transaction:
    """A transaction as submitted: `to` is None for a contract creation."""

    hash: TxHash
    sender: Address
    to: Address | None
    data: bytes
    value: int
    gas: int
    nonce: int


@dataclass(frozen=True, slots=True)
class Log:
    """One event emitted by a mined transaction."""

    address: Address
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    tx_hash: TxHash
    log_index: int
    """Position of the log within its block."""


@dataclass(frozen=True, slots=True)
class TxReceipt:
    """The outcome of a mined transaction."""

    tx_hash: TxHash
    block_number: int
    success: bool
    gas_used: int
    logs: tuple[Log, ...]
    contract_address: Address | None = None
    """The created contract, for a successful creation."""
    revert_reason: str | None = None
    """Why a failed transaction failed (the decoded revert message when there is one)."""


@dataclass(frozen=True, slots=True)
class Block:
    """A mined block's header."""

    number: int
    timestamp: int
    hash: bytes
    parent_hash: bytes
    tx_hashes: tuple[TxHash, ...]


class L1Chain(Protocol):
    """What the node needs from an L1: send, look up receipts and logs, read state."""

    def send_transaction(
        self, *, sender: Address, to: Address | None, data: bytes, value: int = 0, gas: int = DEFAULT_GAS
    ) -> TxHash:
        """Submit a transaction from `sender` for inclusion in a later block."""
        ...

    def receipt_by_hash(self, tx_hash: TxHash) -> TxReceipt | None:
        """The receipt of a mined transaction, or None while it is pending or unknown."""
        ...

    def transaction_by_hash(self, tx_hash: TxHash) -> Transaction | None:
        """A submitted transaction (its calldata carries the batch data), or None if unknown."""
        ...

    def logs_by_range(self, from_block: int, to_block: int, *, address: Address | None = None) -> list[Log]:
        """Logs of blocks `from_block..to_block` (inclusive), optionally from one address only."""
        ...

    def latest_block(self) -> Block:
        """The newest mined block (its number and timestamp)."""
        ...

    def block_by_number(self, number: int) -> Block | None:
        """A mined block, or None if there is no such block yet."""
        ...

    def call(self, *, to: Address, data: bytes, sender: Address | None = None) -> bytes:
        """Execute a call on the latest state without changing it; raises L1Reverted."""
        ...

    def balance_by_address(self, address: Address) -> int:
        """An account's balance in wei at the latest block."""
        ...


def wait_for_receipt(
    chain: L1Chain, tx_hash: TxHash, *, timeout: float = 60.0, poll_interval: float = 0.05
) -> TxReceipt:
    """The receipt of `tx_hash` once mined; raises L1Error after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        receipt = chain.receipt_by_hash(tx_hash)
        if receipt is not None:
            return receipt
        if time.monotonic() >= deadline:
            raise L1Error(f"transaction 0x{tx_hash.hex()} not mined within {timeout} s")
        time.sleep(poll_interval)


def require_success(receipt: TxReceipt) -> TxReceipt:
    """The receipt itself if the transaction succeeded; raises L1Reverted with its reason otherwise."""
    if not receipt.success:
        raise L1Reverted(receipt.revert_reason or "unknown reason", gas_used=receipt.gas_used)
    return receipt
