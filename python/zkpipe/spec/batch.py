"""Batches on L1: the data encoding posted for availability and the hash chains that commit to it.

Each chain has one step function (`compute_*_chain_step`) that the executor, the circuits, the
aggregator and the L1 code all reuse. The chains start at ZERO_DIGEST at genesis and run on across
batches, so the proofs of consecutive batches join end to end and an aggregate's (in, out) heads
commit to every batch it covers. The data chain absorbs the posted bytes themselves, 16 bytes per
step (`compute_data_chain`), so the data-commitment proof can compute it from what L1 hashed; the
other steps hash a domain tag, the previous head and the item as canonical field elements:
transactions in their `compute_tx_elements` form, L1 addresses packed 7 bytes per element, u64
values as two 32-bit limbs.

Batch data (what is posted to L1, enough to rebuild the state and re-check every signature):

    number u64 | timestamp u64 | deposit_start u64 | deposit_end u64 |
    previous_accumulated_input_hash 4 x u64 | tx_count u32 | tx_count canonical tx encodings

all little-endian; each transaction's length follows from its tag.

L1 chains each batch into its accumulated input hash (`compute_batch_input_hash`): SHA-256, the hash
the data-commitment proof computes in circuit, over the previous head, the SHA-256 of the posted
data and the header fields the proof's statement names (chain id, number, timestamp, queue range).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable

from zkpipe.errors import DecodeError, InvalidInput
from zkpipe.native import GOLDILOCKS_P, ZERO_DIGEST, poseidon_hash
from zkpipe.spec.encoding import (
    compute_packed_elements,
    compute_tx_elements,
    compute_u64_limbs,
    decode_tx_prefix,
    encode_tx,
)
from zkpipe.spec.types import (
    DOMAIN_DEPOSITS,
    DOMAIN_INPUT,
    DOMAIN_WITHDRAWALS,
    MAX_ACCOUNT_INDEX,
    Batch,
    BatchHeader,
    BatchNumber,
    ChainId,
    Commitment,
    Deposit,
    DepositIndex,
    Timestamp,
    Transaction,
    WithdrawalRecord,
)
from zkpipe.spec.witness import Commitments

INITIAL_COMMITMENTS = Commitments(data=ZERO_DIGEST, withdrawals=ZERO_DIGEST, deposits=ZERO_DIGEST)
"""The chain heads at genesis."""

_HEADER = struct.Struct("<QQQQQQQQI")
BATCH_HEADER_BYTES = _HEADER.size
"""Bytes of a posted batch's header (number, timestamp, queue range, pre-state root, tx count)."""
DATA_CHUNK_BYTES = 16
"""Bytes the data chain absorbs per step."""

# ---------------------------------------------------------------------------
# Chain steps
# ---------------------------------------------------------------------------


def compute_data_chain(head: Commitment, data: bytes) -> Commitment:
    """The data chain from `head` over posted transaction bytes, a whole number of 16-byte chunks.

    Each chunk is absorbed as its four little-endian u32 words: `Poseidon(head ‖ w0 ‖ w1 ‖ w2 ‖ w3)`,
    one permutation (ADR 27). Every encoding is whole chunks, so the chain over a batch's posted
    transactions is the chain over each transaction in turn, whoever cuts the bytes.
    """
    if len(data) % DATA_CHUNK_BYTES:
        raise InvalidInput(f"{len(data)} bytes are not whole {DATA_CHUNK_BYTES}-byte chunks")
    for start in range(0, len(data), DATA_CHUNK_BYTES):
        chunk = data[start : start + DATA_CHUNK_BYTES]
        head = poseidon_hash([*head, *struct.unpack("<4I", chunk)])
    return head


def compute_data_chain_step(head: Commitment, tx: Transaction) -> Commitment:
    """Appends a transaction (its posted encoding, as chunks) to the data chain."""
    return compute_data_chain(head, encode_tx(tx))


def compute_withdrawals_chain_step(head: Commitment, record: WithdrawalRecord) -> Commitment:
    """Appends a withdrawal record (kind, account, L1 address, amount) to the withdrawals chain."""
    return poseidon_hash(
        [
            DOMAIN_WITHDRAWALS,
            *head,
            int(record.kind),
            record.account,
            *compute_packed_elements(record.l1_address),
            *compute_u64_limbs(record.amount),
        ]
    )


def compute_deposits_chain_step(head: Commitment, deposit: Deposit) -> Commitment:
    """Appends a consumed deposit (in its field-element form) to the deposits chain."""
    return poseidon_hash([DOMAIN_DEPOSITS, *head, *compute_tx_elements(deposit)])


def compute_accumulated_input_hash(
    previous: Commitment, header: BatchHeader, data_commitment: Commitment
) -> Commitment:
    """The accumulated input hash after a batch: binds all earlier batches, its header and its data."""
    return poseidon_hash(
        [
            DOMAIN_INPUT,
            *previous,
            *compute_u64_limbs(header.number),
            *compute_u64_limbs(header.timestamp),
            *compute_u64_limbs(header.deposit_start),
            *compute_u64_limbs(header.deposit_end),
            *data_commitment,
        ]
    )


def compute_batch_input_hash(previous: bytes, data: bytes, chain_id: ChainId) -> bytes:
    """L1's accumulated input hash after the batch whose posted data is `data` (the rollup contract's).

    sha256(previous 32 B | sha256(data) 32 B | chain id u32 | number u64 | timestamp u64 |
    queue start u64 | queue end u64), integers big-endian; the header fields are the data's own.
    """
    if len(previous) != 32 or len(data) < _HEADER.size:
        raise DecodeError("a batch input hash needs a 32-byte head and at least a batch header")
    number, timestamp, start, end = struct.unpack_from("<QQQQ", data)
    header = struct.pack(">IQQQQ", chain_id, number, timestamp, start, end)
    return hashlib.sha256(previous + hashlib.sha256(data).digest() + header).digest()


def compute_data_commitment(txs: Iterable[Transaction], start: Commitment = ZERO_DIGEST) -> Commitment:
    """The data chain over `txs` from `start` (genesis: ZERO_DIGEST)."""
    head = start
    for tx in txs:
        head = compute_data_chain_step(head, tx)
    return head


def compute_withdrawals_commitment(
    records: Iterable[WithdrawalRecord], start: Commitment = ZERO_DIGEST
) -> Commitment:
    """The withdrawals chain over `records` from `start` (genesis: ZERO_DIGEST)."""
    head = start
    for record in records:
        head = compute_withdrawals_chain_step(head, record)
    return head


def compute_deposits_commitment(deposits: Iterable[Deposit], start: Commitment = ZERO_DIGEST) -> Commitment:
    """The deposits chain over `deposits` from `start` (genesis: ZERO_DIGEST)."""
    head = start
    for deposit in deposits:
        head = compute_deposits_chain_step(head, deposit)
    return head


# ---------------------------------------------------------------------------
# Data encoding
# ---------------------------------------------------------------------------


def encode_batch(batch: Batch) -> bytes:
    """The batch data posted to L1; InvalidInput if a header field is out of range."""
    header = batch.header
    if len(batch.transactions) > MAX_ACCOUNT_INDEX or any(
        not 0 <= element < GOLDILOCKS_P for element in header.previous_accumulated_input_hash
    ):
        raise InvalidInput("batch header out of range")
    try:
        head = _HEADER.pack(
            header.number,
            header.timestamp,
            header.deposit_start,
            header.deposit_end,
            *header.previous_accumulated_input_hash,
            len(batch.transactions),
        )
    except struct.error as err:
        raise InvalidInput(f"batch header out of range: {err}") from None
    return head + b"".join(encode_tx(tx) for tx in batch.transactions)


def decode_batch(data: bytes) -> Batch:
    """Reads batch data; DecodeError on a short header, a bad transaction, non-canonical or extra bytes."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < _HEADER.size:
        raise DecodeError(f"batch data needs at least {_HEADER.size} bytes, got {len(data)}")
    number, timestamp, start, end, h0, h1, h2, h3, count = _HEADER.unpack_from(data)
    previous = (h0, h1, h2, h3)
    if any(element >= GOLDILOCKS_P for element in previous):
        raise DecodeError("previous accumulated input hash is not canonical")
    offset = _HEADER.size
    txs: list[Transaction] = []
    for _ in range(count):
        tx, offset = decode_tx_prefix(data, offset)
        txs.append(tx)
    if offset != len(data):
        raise DecodeError(f"{len(data) - offset} trailing bytes after the batch")
    header = BatchHeader(
        BatchNumber(number), Timestamp(timestamp), DepositIndex(start), DepositIndex(end), previous
    )
    return Batch(header, tuple(txs))
