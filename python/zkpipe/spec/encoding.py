"""Canonical forms of transactions: binary encoding, JSON form, field elements and hash.

The binary encoding is the one form that is signed over (through its field elements), posted to L1,
committed to and fed to circuits. It is fixed-size per type, the type tag first (a u32), integers
little-endian:

    Deposit   96 B: tag u32 | queue_index u64 | recipient u32 | public_key 40 B | amount u64 |
                    l1_sender 20 B | 12 zero bytes
    Transfer 112 B: tag u32 | sender u32 | recipient u32 | amount u64 | fee u64 | nonce u32 | signature 80 B
    Withdraw 128 B: tag u32 | sender u32 | l1_address 20 B | amount u64 | fee u64 | nonce u32 | signature 80 B

Why the u32 tag and the deposit's padding (ADR 27): every encoding is a whole number of 16-byte
chunks, each four little-endian u32 words that are the transaction's field elements themselves, so
the segment circuit chains the posted chunks without splitting bytes.

The JSON form is an object with a "type" ("deposit", "transfer", "withdraw") and one key per field:
u32 fields as JSON numbers, u64 fields as decimal strings (JSON numbers lose precision above 2**53
in most clients), byte fields as "0x" + lowercase hex. Decoders accept exactly these forms and raise
`DecodeError` on anything else.
"""

from __future__ import annotations

import re
import struct
from typing import Any

from zkpipe.errors import DecodeError, InvalidInput
from zkpipe.native import Digest, poseidon_hash
from zkpipe.spec.types import (
    DOMAIN_TX_HASH,
    FIELD_PACKING_BYTES,
    L1_ADDRESS_BYTES,
    MAX_ACCOUNT_INDEX,
    MAX_AMOUNT,
    MAX_DEPOSIT_INDEX,
    MAX_NONCE,
    PUBLIC_KEY_BYTES,
    SIGNATURE_BYTES,
    TX_ELEMENT_COUNT,
    AccountIndex,
    Amount,
    Deposit,
    DepositIndex,
    Fee,
    L1Address,
    Nonce,
    PublicKey,
    Signature,
    Transaction,
    Transfer,
    TxType,
    Withdraw,
)

TAG_BYTES = 4
"""Bytes of the type tag (a little-endian u32) that starts every encoding."""
DEPOSIT_PADDING_BYTES = 12
"""Zero bytes that end a deposit's encoding (84 bytes of fields, rounded up to 96)."""

_LAYOUTS: dict[TxType, struct.Struct] = {
    TxType.DEPOSIT: struct.Struct(f"<IQI{PUBLIC_KEY_BYTES}sQ{L1_ADDRESS_BYTES}s{DEPOSIT_PADDING_BYTES}x"),
    TxType.TRANSFER: struct.Struct(f"<IIIQQI{SIGNATURE_BYTES}s"),
    TxType.WITHDRAW: struct.Struct(f"<II{L1_ADDRESS_BYTES}sQQI{SIGNATURE_BYTES}s"),
}

TX_ENCODING_BYTES: dict[TxType, int] = {kind: layout.size for kind, layout in _LAYOUTS.items()}
"""Length of the binary encoding of each transaction type."""

# ---------------------------------------------------------------------------
# Field elements
# ---------------------------------------------------------------------------


def compute_u64_limbs(value: int) -> tuple[int, int]:
    """A u64 as (low 32 bits, high 32 bits): two canonical field elements (a u64 may exceed p)."""
    return value & 0xFFFFFFFF, value >> 32


def compute_packed_elements(data: bytes) -> list[int]:
    """Bytes as field elements, 7 little-endian bytes each, the last chunk zero-padded.

    Each chunk is < 2**56 < p, so every element is canonical; packing is injective for a known length
    (every encoding's length is fixed by its type tag).
    """
    return [
        int.from_bytes(data[i : i + FIELD_PACKING_BYTES], "little")
        for i in range(0, len(data), FIELD_PACKING_BYTES)
    ]


def compute_public_key_elements(public_key: PublicKey) -> list[int]:
    """A public key as its five little-endian u64 limbs (canonical for every valid key)."""
    return [int.from_bytes(public_key[i : i + 8], "little") for i in range(0, PUBLIC_KEY_BYTES, 8)]


def compute_u32_limbs(data: bytes) -> list[int]:
    """Bytes (a multiple of 4 long) as little-endian u32 limbs: canonical whatever the bytes are."""
    return [int.from_bytes(data[i : i + 4], "little") for i in range(0, len(data), 4)]


def compute_tx_elements(tx: Transaction) -> list[int]:
    """A transaction as TX_ELEMENT_COUNT canonical field elements, one layout for every type.

    This is the form the data and deposit chains absorb and the segment circuit reads: a circuit
    slot can hold any type without repacking bytes. Unused fields are zero. It is a bijection with
    the binary encoding (given the tag), so committing to it commits to the posted bytes.

        0 type | 1 a | 2 b | 3-4 amount | 5-6 fee | 7 nonce | 8-9 queue index |
        10-19 public key (u32 limbs) | 20-22 L1 address (7-byte chunks) | 23-42 signature (u32 limbs)

    where (a, b) is (sender, recipient) for a transfer, (sender, 0) for a withdrawal and
    (recipient, 0) for a deposit; the L1 address is a withdrawal's target or a deposit's sender.
    """
    if not is_well_formed(tx):
        raise InvalidInput(f"transaction has a field out of range: {tx!r}")
    key, l1, signature = bytes(PUBLIC_KEY_BYTES), bytes(L1_ADDRESS_BYTES), bytes(SIGNATURE_BYTES)
    fee, nonce, queue, b = 0, 0, 0, 0
    if isinstance(tx, Deposit):
        a, amount, queue, key, l1 = tx.recipient, tx.amount, tx.queue_index, tx.public_key, tx.l1_sender
    else:
        a, amount, fee, nonce, signature = tx.sender, tx.amount, tx.fee, tx.nonce, tx.signature
        if isinstance(tx, Transfer):
            b = tx.recipient
        else:
            l1 = tx.l1_address
    elements = [
        int(get_tx_type(tx)),
        a,
        b,
        *compute_u64_limbs(amount),
        *compute_u64_limbs(fee),
        nonce,
        *compute_u64_limbs(queue),
        *compute_u32_limbs(key),
        *compute_packed_elements(l1),
        *compute_u32_limbs(signature),
    ]
    assert len(elements) == TX_ELEMENT_COUNT
    return elements


def get_tx_type(tx: Transaction) -> TxType:
    """The type tag of a transaction."""
    if isinstance(tx, Deposit):
        return TxType.DEPOSIT
    if isinstance(tx, Transfer):
        return TxType.TRANSFER
    return TxType.WITHDRAW


# ---------------------------------------------------------------------------
# Well-formedness
# ---------------------------------------------------------------------------


def _is_uint(value: object, maximum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum


def _is_bytes(value: object, length: int) -> bool:
    return isinstance(value, bytes) and len(value) == length


def is_well_formed(tx: Transaction) -> bool:
    """Whether every field of `tx` has its type's range and length (so `tx` has an encoding)."""
    if isinstance(tx, Deposit):
        return (
            _is_uint(tx.queue_index, MAX_DEPOSIT_INDEX)
            and _is_uint(tx.recipient, MAX_ACCOUNT_INDEX)
            and _is_bytes(tx.public_key, PUBLIC_KEY_BYTES)
            and _is_uint(tx.amount, MAX_AMOUNT)
            and _is_bytes(tx.l1_sender, L1_ADDRESS_BYTES)
        )
    if isinstance(tx, Transfer):
        return (
            _is_uint(tx.sender, MAX_ACCOUNT_INDEX)
            and _is_uint(tx.recipient, MAX_ACCOUNT_INDEX)
            and (_is_user_tx_well_formed(tx))
        )
    if isinstance(tx, Withdraw):
        return (
            _is_uint(tx.sender, MAX_ACCOUNT_INDEX)
            and _is_bytes(tx.l1_address, L1_ADDRESS_BYTES)
            and _is_user_tx_well_formed(tx)
        )
    return False


def _is_user_tx_well_formed(tx: Transfer | Withdraw) -> bool:
    return (
        _is_uint(tx.amount, MAX_AMOUNT)
        and _is_uint(tx.fee, MAX_AMOUNT)
        and _is_uint(tx.nonce, MAX_NONCE)
        and _is_bytes(tx.signature, SIGNATURE_BYTES)
    )


# ---------------------------------------------------------------------------
# Binary encoding
# ---------------------------------------------------------------------------


def encode_tx(tx: Transaction) -> bytes:
    """The canonical binary encoding of a transaction; InvalidInput if a field is out of range."""
    if not is_well_formed(tx):
        raise InvalidInput(f"transaction has a field out of range: {tx!r}")
    kind = get_tx_type(tx)
    layout = _LAYOUTS[kind]
    if isinstance(tx, Deposit):
        return layout.pack(kind, tx.queue_index, tx.recipient, tx.public_key, tx.amount, tx.l1_sender)
    if isinstance(tx, Transfer):
        return layout.pack(kind, tx.sender, tx.recipient, tx.amount, tx.fee, tx.nonce, tx.signature)
    return layout.pack(kind, tx.sender, tx.l1_address, tx.amount, tx.fee, tx.nonce, tx.signature)


def get_tx_type_at(data: bytes, offset: int) -> TxType:
    """The type tag of the encoding starting at `offset`; DecodeError at the end or on an unknown tag."""
    if offset + TAG_BYTES > len(data):
        raise DecodeError("expected a transaction, found the end of the data")
    tag = int.from_bytes(data[offset : offset + TAG_BYTES], "little")
    try:
        return TxType(tag)
    except ValueError:
        raise DecodeError(f"unknown transaction type tag {tag}") from None


def decode_tx_prefix(data: bytes, offset: int = 0) -> tuple[Transaction, int]:
    """Decodes the transaction starting at `offset`; returns it and the offset just past it."""
    kind = get_tx_type_at(data, offset)
    layout = _LAYOUTS[kind]
    end = offset + layout.size
    if end > len(data):
        raise DecodeError(f"{kind.name.lower()} needs {layout.size} bytes, {len(data) - offset} left")
    fields = layout.unpack_from(data, offset)[1:]
    tx: Transaction
    if kind is TxType.DEPOSIT and any(data[end - DEPOSIT_PADDING_BYTES : end]):
        raise DecodeError("a deposit's padding bytes must be zero")
    if kind is TxType.DEPOSIT:
        queue_index, recipient, key, amount, l1_sender = fields
        tx = Deposit(
            DepositIndex(queue_index),
            AccountIndex(recipient),
            PublicKey(key),
            Amount(amount),
            L1Address(l1_sender),
        )
    elif kind is TxType.TRANSFER:
        sender, recipient, amount, fee, nonce, signature = fields
        tx = Transfer(
            AccountIndex(sender),
            AccountIndex(recipient),
            Amount(amount),
            Fee(fee),
            Nonce(nonce),
            Signature(signature),
        )
    else:
        sender, l1_address, amount, fee, nonce, signature = fields
        tx = Withdraw(
            AccountIndex(sender),
            L1Address(l1_address),
            Amount(amount),
            Fee(fee),
            Nonce(nonce),
            Signature(signature),
        )
    return tx, end


def decode_tx(data: bytes) -> Transaction:
    """Decodes one canonical binary encoding; DecodeError on unknown tag, wrong length, trailing bytes."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    tx, end = decode_tx_prefix(data)
    if end != len(data):
        raise DecodeError(f"{len(data) - end} trailing bytes after the transaction")
    return tx


def compute_tx_hash(tx: Transaction) -> Digest:
    """The transaction's identifier: Poseidon of its packed binary encoding."""
    return poseidon_hash([DOMAIN_TX_HASH, *compute_packed_elements(encode_tx(tx))])


# ---------------------------------------------------------------------------
# JSON form
# ---------------------------------------------------------------------------

_TYPE_NAMES = {TxType.DEPOSIT: "deposit", TxType.TRANSFER: "transfer", TxType.WITHDRAW: "withdraw"}
_TYPES_BY_NAME = {name: kind for kind, name in _TYPE_NAMES.items()}
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")
_HEX = re.compile(r"0x(?:[0-9a-f]{2})*")


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def tx_to_json(tx: Transaction) -> dict[str, Any]:
    """The canonical JSON form of a transaction (a JSON-ready dict)."""
    if not is_well_formed(tx):
        raise InvalidInput(f"transaction has a field out of range: {tx!r}")
    kind = _TYPE_NAMES[get_tx_type(tx)]
    if isinstance(tx, Deposit):
        return {
            "type": kind,
            "queue_index": str(tx.queue_index),
            "recipient": tx.recipient,
            "public_key": _hex(tx.public_key),
            "amount": str(tx.amount),
            "l1_sender": _hex(tx.l1_sender),
        }
    if isinstance(tx, Transfer):
        return {
            "type": kind,
            "sender": tx.sender,
            "recipient": tx.recipient,
            "amount": str(tx.amount),
            "fee": str(tx.fee),
            "nonce": tx.nonce,
            "signature": _hex(tx.signature),
        }
    return {
        "type": kind,
        "sender": tx.sender,
        "l1_address": _hex(tx.l1_address),
        "amount": str(tx.amount),
        "fee": str(tx.fee),
        "nonce": tx.nonce,
        "signature": _hex(tx.signature),
    }


def _json_u32(obj: dict[str, Any], key: str) -> int:
    value = obj[key]
    if not _is_uint(value, MAX_ACCOUNT_INDEX):
        raise DecodeError(f"{key!r} must be an integer in [0, 2**32)")
    return int(value)


def _json_u64(obj: dict[str, Any], key: str) -> int:
    value = obj[key]
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value) or int(value) > MAX_AMOUNT:
        raise DecodeError(f"{key!r} must be a canonical decimal string in [0, 2**64)")
    return int(value)


def _json_bytes(obj: dict[str, Any], key: str, length: int) -> bytes:
    value = obj[key]
    if not isinstance(value, str) or len(value) != 2 + 2 * length or not _HEX.fullmatch(value):
        raise DecodeError(f"{key!r} must be '0x' and {2 * length} lowercase hex digits")
    return bytes.fromhex(value[2:])


_JSON_KEYS = {
    TxType.DEPOSIT: {"type", "queue_index", "recipient", "public_key", "amount", "l1_sender"},
    TxType.TRANSFER: {"type", "sender", "recipient", "amount", "fee", "nonce", "signature"},
    TxType.WITHDRAW: {"type", "sender", "l1_address", "amount", "fee", "nonce", "signature"},
}


def tx_from_json(obj: object) -> Transaction:
    """Reads the canonical JSON form; DecodeError on a missing, extra or non-canonical field."""
    if not isinstance(obj, dict):
        raise DecodeError("a transaction must be a JSON object")
    name = obj.get("type")
    if not isinstance(name, str) or name not in _TYPES_BY_NAME:
        raise DecodeError(f"unknown transaction type {name!r}")
    kind = _TYPES_BY_NAME[name]
    if set(obj) != _JSON_KEYS[kind]:
        raise DecodeError(f"{name} needs exactly the keys {sorted(_JSON_KEYS[kind])}")
    if kind is TxType.DEPOSIT:
        return Deposit(
            queue_index=DepositIndex(_json_u64(obj, "queue_index")),
            recipient=AccountIndex(_json_u32(obj, "recipient")),
            public_key=PublicKey(_json_bytes(obj, "public_key", PUBLIC_KEY_BYTES)),
            amount=Amount(_json_u64(obj, "amount")),
            l1_sender=L1Address(_json_bytes(obj, "l1_sender", L1_ADDRESS_BYTES)),
        )
    amount, fee = Amount(_json_u64(obj, "amount")), Fee(_json_u64(obj, "fee"))
    nonce = Nonce(_json_u32(obj, "nonce"))
    signature = Signature(_json_bytes(obj, "signature", SIGNATURE_BYTES))
    sender = AccountIndex(_json_u32(obj, "sender"))
    if kind is TxType.TRANSFER:
        return Transfer(sender, AccountIndex(_json_u32(obj, "recipient")), amount, fee, nonce, signature)
    return Withdraw(
        sender, L1Address(_json_bytes(obj, "l1_address", L1_ADDRESS_BYTES)), amount, fee, nonce, signature
    )
