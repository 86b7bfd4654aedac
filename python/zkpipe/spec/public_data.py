"""Compact public data: the per-operation encoding meant for L1, with packed amounts and fees.

Not posted yet: batches still carry the full encodings of `encoding` (see docs/l1.md), but the
sequencer already refuses what has no compact encoding (`is_publishable`). What a
batch must carry is what rebuilds the state from L1 alone and nothing the proof establishes, so a
nonce is implied (the sender's next one) and a signature goes only while the circuit does not
verify it (`SIGNATURES_POSTED`). Integers are little-endian, as in `encoding`:

    Deposit   96 B: its L1 queue record, exactly as `encode_tx` (L1 checks it against its queue)
    Transfer  16 B: tag | sender u32 | recipient u32 | amount packed 5 B | fee packed 2 B
    Withdraw  35 B: tag | sender u32 | l1_address 20 B | amount u64 | fee packed 2 B
    (+ the 80-byte signature after a transfer or withdrawal while SIGNATURES_POSTED)

A withdrawal's amount is exact, so an account can always withdraw its whole balance.

Packed values are m·10^e, stored as the little-endian integer m + 2^M·e with an M-bit mantissa m
and a 5-bit exponent e: amounts M = 35 (5 bytes), fees M = 11 (2 bytes). The representable values
are exactly {m·10^e : m < 2^M, e < 32, m·10^e < 2^64}: every value below 2^M, and larger ones with
enough trailing decimal zeros. Each has one canonical packing, the one with the smallest exponent
(so e = 0 or 10·m ≥ 2^M); decoders refuse any other.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from zkpipe.errors import DecodeError, InvalidInput
from zkpipe.spec.encoding import TX_ENCODING_BYTES, decode_tx_prefix, encode_tx, get_tx_type, is_well_formed
from zkpipe.spec.types import (
    L1_ADDRESS_BYTES,
    MAX_AMOUNT,
    SIGNATURE_BYTES,
    AccountIndex,
    Amount,
    Fee,
    L1Address,
    Nonce,
    Signature,
    Transaction,
    Transfer,
    TxType,
    Withdraw,
)

SIGNATURES_POSTED = True
"""Whether user transactions carry their signatures: until the circuit verifies them (issue 10)."""
EXPONENT_BITS = 5
AMOUNT_MANTISSA_BITS = 35
"""An amount packs into 5 bytes: every amount below 2^35 exactly."""
FEE_MANTISSA_BITS = 11
"""A fee packs into 2 bytes: every fee below 2^11 exactly."""
PACKED_AMOUNT_BYTES = (AMOUNT_MANTISSA_BITS + EXPONENT_BITS) // 8
PACKED_FEE_BYTES = (FEE_MANTISSA_BITS + EXPONENT_BITS) // 8

_TRANSFER = struct.Struct(f"<BII{PACKED_AMOUNT_BYTES}s{PACKED_FEE_BYTES}s")
_WITHDRAW = struct.Struct(f"<BI{L1_ADDRESS_BYTES}sQ{PACKED_FEE_BYTES}s")
PUBLIC_DATA_BYTES: dict[TxType, int] = {
    TxType.DEPOSIT: TX_ENCODING_BYTES[TxType.DEPOSIT],
    TxType.TRANSFER: 16,
    TxType.WITHDRAW: 35,
}
"""Compact size of each operation without its signature."""


# ---------------------------------------------------------------------------
# Packed values
# ---------------------------------------------------------------------------


def compute_packing(value: int, mantissa_bits: int) -> tuple[int, int] | None:
    """The canonical (mantissa, exponent) of `value`, or None if it is not representable."""
    if not 0 <= value <= MAX_AMOUNT:
        return None
    mantissa, exponent = value, 0
    while mantissa >= 1 << mantissa_bits:
        if mantissa % 10 or exponent == (1 << EXPONENT_BITS) - 1:
            return None
        mantissa, exponent = mantissa // 10, exponent + 1
    return mantissa, exponent


def is_packable(value: int, mantissa_bits: int) -> bool:
    """Whether `value` has a packing with an M-bit mantissa."""
    return compute_packing(value, mantissa_bits) is not None


def encode_packed(value: int, mantissa_bits: int) -> bytes:
    """The canonical packing of `value`; InvalidInput if it is not representable."""
    packing = compute_packing(value, mantissa_bits)
    if packing is None:
        raise InvalidInput(f"{value} is not m·10^e with m < 2^{mantissa_bits}")
    mantissa, exponent = packing
    return (mantissa | exponent << mantissa_bits).to_bytes((mantissa_bits + EXPONENT_BITS) // 8, "little")


def decode_packed(data: bytes, mantissa_bits: int) -> int:
    """The value of a packing; DecodeError if it is not canonical or exceeds u64."""
    raw = int.from_bytes(data, "little")
    mantissa, exponent = raw & ((1 << mantissa_bits) - 1), raw >> mantissa_bits
    value: int = mantissa * 10**exponent
    if value > MAX_AMOUNT:
        raise DecodeError(f"packed value {mantissa}·10^{exponent} exceeds 2**64 - 1")
    if exponent > 0 and 10 * mantissa < 1 << mantissa_bits:
        raise DecodeError(f"packed value {mantissa}·10^{exponent} is not in its canonical form")
    return value


# ---------------------------------------------------------------------------
# Operations
# ---------------------------------------------------------------------------


def is_publishable(tx: Transaction) -> bool:
    """Whether `tx` has a compact encoding: a transfer's amount and every fee are packable."""
    if isinstance(tx, Transfer) and not is_packable(tx.amount, AMOUNT_MANTISSA_BITS):
        return False
    return not isinstance(tx, Transfer | Withdraw) or is_packable(tx.fee, FEE_MANTISSA_BITS)


def encode_public_data(tx: Transaction, *, signatures: bool = SIGNATURES_POSTED) -> bytes:
    """The compact encoding of `tx` (nonce implied); InvalidInput if it has none."""
    if not is_well_formed(tx) or not is_publishable(tx):
        raise InvalidInput(f"transaction has no compact encoding: {tx!r}")
    kind = get_tx_type(tx)
    if isinstance(tx, Transfer):
        amount = encode_packed(tx.amount, AMOUNT_MANTISSA_BITS)
        fee = encode_packed(tx.fee, FEE_MANTISSA_BITS)
        head = _TRANSFER.pack(kind, tx.sender, tx.recipient, amount, fee)
    elif isinstance(tx, Withdraw):
        fee = encode_packed(tx.fee, FEE_MANTISSA_BITS)
        head = _WITHDRAW.pack(kind, tx.sender, tx.l1_address, tx.amount, fee)
    else:
        return encode_tx(tx)
    return head + tx.signature if signatures else head


def decode_packed_amount(data: bytes) -> Amount:
    """A transfer's packed amount."""
    return Amount(decode_packed(data, AMOUNT_MANTISSA_BITS))


def decode_packed_fee(data: bytes) -> Fee:
    """A packed fee."""
    return Fee(decode_packed(data, FEE_MANTISSA_BITS))


def decode_public_data_prefix(
    data: bytes,
    offset: int,
    nonce_of: Callable[[AccountIndex], Nonce],
    *,
    signatures: bool = SIGNATURES_POSTED,
) -> tuple[Transaction, int]:
    """Decodes the operation at `offset` (its nonce from `nonce_of`, its signature zero when not
    posted); returns it and the offset just past it. DecodeError on a bad tag, length or packing."""
    # The first byte is the tag (a deposit's u32 tag starts with it too).
    if offset >= len(data):
        raise DecodeError("expected an operation, found the end of the data")
    try:
        kind = TxType(data[offset])
    except ValueError:
        raise DecodeError(f"unknown transaction type tag {data[offset]}") from None
    if kind is TxType.DEPOSIT:
        return decode_tx_prefix(data, offset)
    size = PUBLIC_DATA_BYTES[kind] + (SIGNATURE_BYTES if signatures else 0)
    end = offset + size
    if end > len(data):
        raise DecodeError(f"{kind.name.lower()} needs {size} bytes, {len(data) - offset} left")
    signature = Signature(data[end - SIGNATURE_BYTES : end] if signatures else bytes(SIGNATURE_BYTES))
    tx: Transaction
    if kind is TxType.TRANSFER:
        _, sender, recipient, amount, fee = _TRANSFER.unpack_from(data, offset)
        tx = Transfer(
            AccountIndex(sender),
            AccountIndex(recipient),
            decode_packed_amount(amount),
            decode_packed_fee(fee),
            nonce_of(AccountIndex(sender)),
            signature,
        )
    else:
        _, sender, l1_address, amount, fee = _WITHDRAW.unpack_from(data, offset)
        tx = Withdraw(
            AccountIndex(sender),
            L1Address(l1_address),
            Amount(amount),
            decode_packed_fee(fee),
            nonce_of(AccountIndex(sender)),
            signature,
        )
    return tx, end
