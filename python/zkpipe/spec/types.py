"""Custom types, constants and containers of the zkpipe state-transition function."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import NewType, TypeAlias

from zkpipe.native import Digest

# ---------------------------------------------------------------------------
# Custom types
# ---------------------------------------------------------------------------

AccountIndex = NewType("AccountIndex", int)
"""Position of an account in the state tree (u32, below 2**depth)."""
Amount = NewType("Amount", int)
"""A token amount or balance (u64)."""
Fee = NewType("Fee", int)
"""A fee, or a sum of fees (u64)."""
Nonce = NewType("Nonce", int)
"""Number of user transactions an account has sent (u32)."""
DepositIndex = NewType("DepositIndex", int)
"""Position of a deposit in the L1 deposit queue (u64)."""
ChainId = NewType("ChainId", int)
"""Identifies one rollup deployment (u32): in the statement of every proof of it."""
BatchNumber = NewType("BatchNumber", int)
"""Sequence number of a batch; genesis is batch 0 (u64)."""
Timestamp = NewType("Timestamp", int)
"""Seconds since the Unix epoch (u64)."""
PublicKey = NewType("PublicKey", bytes)
"""A 40-byte ECgFp5 public key: five little-endian u64 limbs."""
Signature = NewType("Signature", bytes)
"""An 80-byte Schnorr signature."""
L1Address = NewType("L1Address", bytes)
"""A 20-byte L1 (Ethereum) address."""

StateRoot: TypeAlias = Digest
"""Root of the account tree."""
Commitment: TypeAlias = Digest
"""Head of a Poseidon hash chain."""

# ---------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------

ACCOUNT_TREE_DEPTH = 32
"""Depth of the account tree: 2**32 account slots."""
MAX_ACCOUNT_INDEX = 2**32 - 1
MAX_AMOUNT = Amount(2**64 - 1)
"""Largest balance, amount or fee (u64)."""
MAX_NONCE = Nonce(2**32 - 1)
"""Largest nonce (u32); an account whose nonce reaches it can no longer send."""
MAX_DEPOSIT_INDEX = DepositIndex(2**64 - 1)
MAX_CHAIN_ID = ChainId(2**32 - 1)
FEE_ACCOUNT_INDEX = AccountIndex(0)
"""The operator's fee account, created at genesis."""
PUBLIC_KEY_BYTES = 40
SIGNATURE_BYTES = 80
L1_ADDRESS_BYTES = 20
SEGMENT_SIZES = (8, 16, 32, 64, 128)
"""Allowed numbers of transactions per segment (the proving knob k)."""
TX_ELEMENT_COUNT = 43
"""Length of a transaction's field-element form (`compute_tx_elements`), the same for every type."""
FIELD_PACKING_BYTES = 7
"""Bytes packed into one field element: 2**56 < p, so every chunk is canonical."""

# Domain tags: short ASCII strings read as little-endian integers (< 2**56 < p).
DOMAIN_TX_SIGNATURE = int.from_bytes(b"zkp/sig", "little")
DOMAIN_TX_HASH = int.from_bytes(b"zkp/txh", "little")
DOMAIN_DATA = int.from_bytes(b"zkp/dat", "little")
DOMAIN_WITHDRAWALS = int.from_bytes(b"zkp/wdr", "little")
DOMAIN_DEPOSITS = int.from_bytes(b"zkp/dep", "little")
DOMAIN_INPUT = int.from_bytes(b"zkp/inp", "little")

# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------

CHAIN_ID = ChainId(0x7A6B70)
"""The default chain id (tests, the demo): identifies the rollup in every signing digest and statement."""


class TxType(IntEnum):
    """Transaction type tag: the first byte of every encoding and an element of every digest."""

    DEPOSIT = 1
    TRANSFER = 2
    WITHDRAW = 3


# ---------------------------------------------------------------------------
# Containers
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Account:
    """One slot of the state tree; its index is its position."""

    public_key: PublicKey
    balance: Amount
    nonce: Nonce


@dataclass(frozen=True, slots=True)
class Deposit:
    """Credits `amount` to `recipient` (creating it with `public_key` if empty); from the L1 queue."""

    queue_index: DepositIndex
    recipient: AccountIndex
    public_key: PublicKey
    amount: Amount
    l1_sender: L1Address
    """Who deposited on L1: a deposit that cannot be credited is refunded to this address."""


@dataclass(frozen=True, slots=True)
class Transfer:
    """Moves `amount` from `sender` to `recipient`, paying `fee`; signed by the sender."""

    sender: AccountIndex
    recipient: AccountIndex
    amount: Amount
    fee: Fee
    nonce: Nonce
    signature: Signature


@dataclass(frozen=True, slots=True)
class Withdraw:
    """Burns `amount` from `sender` and lets `l1_address` claim it on L1, paying `fee`; signed."""

    sender: AccountIndex
    l1_address: L1Address
    amount: Amount
    fee: Fee
    nonce: Nonce
    signature: Signature


Transaction: TypeAlias = Deposit | Transfer | Withdraw
UserTransaction: TypeAlias = Transfer | Withdraw


@dataclass(frozen=True, slots=True)
class WithdrawalRecord:
    """One claim L1 pays out: a withdrawal (kind WITHDRAW) or a refunded deposit (kind DEPOSIT)."""

    kind: TxType
    account: AccountIndex
    """The withdrawing account, or the recipient index of the refunded deposit."""
    l1_address: L1Address
    amount: Amount


@dataclass(frozen=True, slots=True)
class BatchHeader:
    """What a batch is sequenced with on L1, beside its transactions."""

    number: BatchNumber
    timestamp: Timestamp
    deposit_start: DepositIndex
    """First deposit-queue index the batch consumes."""
    deposit_end: DepositIndex
    """One past the last deposit-queue index the batch consumes."""
    previous_accumulated_input_hash: Commitment


@dataclass(frozen=True, slots=True)
class Batch:
    """A header and an ordered list of transactions."""

    header: BatchHeader
    transactions: tuple[Transaction, ...]
