"""Authorization of user transactions: the signing digest, signature checks and signing helpers."""

from __future__ import annotations

import dataclasses

from zkpipe.errors import ZkpipeError
from zkpipe.native import Digest, poseidon_hash, sign, verify
from zkpipe.spec.encoding import compute_packed_elements, compute_u64_limbs, get_tx_type
from zkpipe.spec.types import (
    CHAIN_ID,
    DOMAIN_TX_SIGNATURE,
    SIGNATURE_BYTES,
    AccountIndex,
    Amount,
    ChainId,
    Fee,
    L1Address,
    Nonce,
    PublicKey,
    Signature,
    Transfer,
    UserTransaction,
    Withdraw,
)


def compute_signing_digest(tx: UserTransaction, chain_id: ChainId = CHAIN_ID) -> Digest:
    """The message a user signs: Poseidon of (domain, chain id, type, every field but the signature).

    The chain id is the deployment's (`State.chain_id`, the rollup contract's `chainId`), so a
    transaction signed for one deployment does not verify on another. Fields become canonical
    field elements: indices and nonces as they are (u32 < p), u64 amounts and fees as two 32-bit
    limbs, the L1 address as three 7-byte chunks.
    """
    return poseidon_hash(compute_signing_elements(tx, chain_id))


def compute_signing_elements(tx: UserTransaction, chain_id: ChainId = CHAIN_ID) -> list[int]:
    """The field elements `compute_signing_digest` hashes (so a chunk's digests can be one native call)."""
    head = [DOMAIN_TX_SIGNATURE, chain_id, int(get_tx_type(tx)), tx.sender]
    target: list[int] = [tx.recipient] if isinstance(tx, Transfer) else compute_packed_elements(tx.l1_address)
    return [*head, *target, *compute_u64_limbs(tx.amount), *compute_u64_limbs(tx.fee), tx.nonce]


def is_valid_signature(public_key: PublicKey, tx: UserTransaction, chain_id: ChainId = CHAIN_ID) -> bool:
    """Whether `tx.signature` signs the transaction's signing digest on `chain_id` under `public_key`.

    A malformed signature (or key) is simply not valid: it gets the same rejection as a wrong one.
    """
    try:
        return verify(public_key, compute_signing_digest(tx, chain_id), tx.signature)
    except ZkpipeError:
        return False


def sign_transfer(
    secret_key: bytes,
    sender: AccountIndex,
    recipient: AccountIndex,
    amount: Amount,
    fee: Fee,
    nonce: Nonce,
    *,
    chain_id: ChainId = CHAIN_ID,
) -> Transfer:
    """A transfer signed with `secret_key` for the deployment `chain_id`."""
    unsigned = Transfer(sender, recipient, amount, fee, nonce, Signature(bytes(SIGNATURE_BYTES)))
    return dataclasses.replace(
        unsigned, signature=Signature(sign(secret_key, compute_signing_digest(unsigned, chain_id)))
    )


def sign_withdraw(
    secret_key: bytes,
    sender: AccountIndex,
    l1_address: L1Address,
    amount: Amount,
    fee: Fee,
    nonce: Nonce,
    *,
    chain_id: ChainId = CHAIN_ID,
) -> Withdraw:
    """A withdrawal signed with `secret_key` for the deployment `chain_id`."""
    unsigned = Withdraw(sender, l1_address, amount, fee, nonce, Signature(bytes(SIGNATURE_BYTES)))
    return dataclasses.replace(
        unsigned, signature=Signature(sign(secret_key, compute_signing_digest(unsigned, chain_id)))
    )
