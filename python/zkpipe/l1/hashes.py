"""Keccak and the rollup contract's hash chains, recomputed in Python (see docs/l1.md)."""

from __future__ import annotations

from Crypto.Hash import keccak

from zkpipe.errors import InvalidInput

ZERO_HASH = bytes(32)
"""The head of an empty hash chain (accumulated input hash of batch 0, empty deposit queue)."""
PUBLIC_KEY_BYTES = 40
WEI_PER_GWEI = 10**9


def keccak256(data: bytes) -> bytes:
    """The Keccak-256 digest of `data` (Ethereum's hash, not SHA3-256)."""
    return keccak.new(data=data, digest_bits=256).digest()


def function_selector(signature: str) -> bytes:
    """The 4-byte selector of a canonical function signature such as `deposit(uint32,bytes)`."""
    return keccak256(signature.encode())[:4]


def compute_deposit_queue_hash(
    previous: bytes,
    deposit_index: int,
    account_index: int,
    public_key: bytes,
    amount_gwei: int,
    sender: bytes,
) -> bytes:
    """The queue head after one deposit: keccak(prev‖u64 index‖u32 account‖key‖u64 gwei‖sender)."""
    if len(public_key) != PUBLIC_KEY_BYTES or len(sender) != 20:
        raise InvalidInput("a deposit has a 40-byte public key and a 20-byte sender")
    return keccak256(
        previous
        + deposit_index.to_bytes(8, "big")
        + account_index.to_bytes(4, "big")
        + public_key
        + amount_gwei.to_bytes(8, "big")
        + sender
    )
