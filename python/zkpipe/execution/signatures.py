"""Signatures verified ahead of execution, in parallel, and the spec-equivalent check that uses them.

`apply_tx` checks each user transaction's signature. Verifying them one by one on the executing
thread caps a sequencer at one core's verification rate, so the sequencer verifies each chunk it
takes from the mempool with `native.batch_verify` (native, GIL released, every core) first, and the
executor's check consults the result: a signature that verified under the sender's key passes; any
other case (no result, another key, a failed verification) is checked again the spec's own way.
The rule is unchanged; only where the work happens moves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from zkpipe.native import batch_verify
from zkpipe.spec import (
    CHAIN_ID,
    AccountIndex,
    ChainId,
    PublicKey,
    UserTransaction,
    compute_signing_digest,
    is_valid_signature,
)

MAX_ENTRIES = 100_000
"""Results kept at most; an evicted one is simply verified again at execution."""


class VerifiedSignatures:
    """Transactions whose signatures verified on one chain, with the key each verified under."""

    def __init__(self, chain_id: ChainId = CHAIN_ID) -> None:
        self.chain_id = chain_id
        self._verified: dict[UserTransaction, PublicKey] = {}

    def __len__(self) -> int:
        return len(self._verified)

    def verify_ahead(
        self,
        txs: Sequence[UserTransaction],
        key_of: Callable[[AccountIndex], PublicKey | None],
        *,
        threads: int = 0,
    ) -> int:
        """Verifies `txs` in parallel against their senders' current keys; returns how many verified."""
        batch: list[tuple[bytes, tuple[int, int, int, int], bytes]] = []
        keyed: list[tuple[UserTransaction, PublicKey]] = []
        for tx in txs:
            key = key_of(tx.sender)
            if key is None:  # the sender does not exist yet: it is checked at execution
                continue
            try:
                batch.append((key, compute_signing_digest(tx, self.chain_id), tx.signature))
            except Exception:  # a malformed transaction: left to the spec's own checks
                continue
            keyed.append((tx, key))
        if not batch:
            return 0
        if len(self._verified) + len(batch) > MAX_ENTRIES:
            self._verified.clear()
        verified = 0
        for (tx, key), ok in zip(keyed, batch_verify(batch, threads=threads), strict=True):
            if ok:
                self._verified[tx] = key
                verified += 1
        return verified

    def check(self, key: PublicKey, tx: UserTransaction, chain_id: ChainId) -> bool:
        """The spec's signature rule, answered from the ahead-of-time results when they apply."""
        if self._verified.pop(tx, None) == key and chain_id == self.chain_id:
            return True
        return is_valid_signature(key, tx, chain_id)
